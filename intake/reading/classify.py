"""Document type from content: identity card, passport, landlord confirmation or other.

The decision rests on evidence that survives OCR noise: machine-readable-zone
lines (long runs of ``[A-Z0-9<]`` with filler characters) and key phrases matched
with a small edit distance. A document only counts as a landlord confirmation if it
names the legal concept (Wohnungsgeber, § 19 BMG) or says that someone moved into a
flat in a landlord's name; a letter from an energy supplier that mentions an
"Einzug" of a direct debit is not one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from intake.applications.documents import DocType, PageText

# ---------------------------------------------------------------- text helpers


def fold(text: str) -> str:
    """Lower case, umlauts spelled out, other accents dropped (for matching only)."""
    text = text.casefold().replace("ß", "ss")
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        text = text.replace(umlaut, spelled)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def squeeze(text: str) -> str:
    """Folded text with everything but letters and digits removed."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


def fuzzy_find(pattern: str, text: str, max_errors: int) -> tuple[int, int] | None:
    """Best approximate occurrence of ``pattern`` in ``text`` (Sellers' algorithm).

    Returns (errors, end index) of the best match with at most ``max_errors``
    insertions, deletions or substitutions, or None.
    """
    if not pattern or not _may_occur(pattern, text, max_errors):
        return None
    # Myers' bit-parallel form of the same dynamic programme: bit i of the
    # vectors holds the vertical delta (+1 / -1) between rows i and i + 1 of the
    # current column, so a whole column is updated with a few integer operations.
    mask = (1 << len(pattern)) - 1
    last = 1 << (len(pattern) - 1)
    peq: dict[str, int] = {}
    for i, p_char in enumerate(pattern):
        peq[p_char] = peq.get(p_char, 0) | (1 << i)
    plus, minus, errors = mask, 0, len(pattern)
    best: tuple[int, int] | None = None
    for end, char in enumerate(text, start=1):
        eq = peq.get(char, 0)
        vertical = eq | minus
        horizontal = (((eq & plus) + plus) ^ plus) | eq
        h_plus = (minus | ~(horizontal | plus)) & mask
        h_minus = plus & horizontal
        if h_plus & last:
            errors += 1
        elif h_minus & last:
            errors -= 1
        h_plus = (h_plus << 1) & mask  # row 0 stays 0: a match may start anywhere
        h_minus = (h_minus << 1) & mask
        plus = (h_minus | ~(vertical | h_plus)) & mask
        minus = h_plus & vertical
        if errors <= max_errors and (best is None or errors < best[0]):
            best = (errors, end)
            if errors == 0:
                return best
    return best


def _may_occur(pattern: str, text: str, max_errors: int) -> bool:
    """Whether ``text`` holds enough of ``pattern``'s letter pairs for a match to be possible.

    Each edit spoils at most two of the pattern's len - 1 overlapping pairs, so a
    substring within ``max_errors`` edits keeps at least len - 1 - 2 * max_errors of
    them. Checking that costs a fraction of the full scan, which most searches
    (a label looked for in every line) would not pass anyway.
    """
    needed = len(pattern) - 1 - 2 * max_errors
    if needed <= 0:
        return True
    pairs = {text[i : i + 2] for i in range(len(text) - 1)}
    present = sum(1 for i in range(len(pattern) - 1) if pattern[i : i + 2] in pairs)
    return present >= needed


def allowed_errors(pattern: str) -> int:
    """Edit distance tolerated for a squeezed key phrase: none for short ones."""
    if len(pattern) >= 16:
        return 2
    if len(pattern) >= 9:
        return 1
    return 0


def contains_phrase(squeezed_text: str, phrase: str) -> bool:
    pattern = squeeze(phrase)
    if pattern in squeezed_text:
        return True
    errors = allowed_errors(pattern)
    return errors > 0 and fuzzy_find(pattern, squeezed_text, errors) is not None


# ---------------------------------------------------------------- evidence

_MRZ_CHARS = re.compile(r"^[A-Z0-9<]+$")

_ID_CARD_PHRASES = (
    "Personalausweis",
    "Identity Card",
    "Carte d'identité",
    "Bundesrepublik Deutschland",
)
_PASSPORT_PHRASES = ("Reisepass", "Passport", "Passeport", "Pasaporte", "Passaporto")
# The English labels of an identity document's visual zone (ICAO 9303 asks for English
# beside the national language). Several of them together are an identity document even
# when its title is too small to read and it has no machine-readable zone (a card's front).
_IDENTITY_LABELS = ("Surname", "Given names", "Date of birth", "Place of birth", "Nationality",
                    "Date of expiry", "Date of issue", "Colour of eyes", "Authority")  # fmt: skip
_MIN_IDENTITY_LABELS = 3

# The legal concept: a landlord confirmation names the Wohnungsgeber or § 19 BMG
# (or calls itself a landlord's certificate of moving in). Without one of these,
# no amount of moving vocabulary makes a document one (a registration
# certificate cites the Bundesmeldegesetz and an "Einzugsdatum" too).
_LANDLORD_CORE = (
    ("Wohnungsgeberbestätigung", 3.0),
    ("Bestätigung des Wohnungsgebers", 3.0),
    ("Vermieterbescheinigung", 3.0),
    ("Vermieterbestätigung", 3.0),
    ("Einzugsbestätigung", 2.0),
    ("Bestätigung über den Einzug", 2.0),  # a housing company's letter
    ("zur Vorlage bei der Meldebehörde", 1.5),
    ("Wohnungsgeber", 2.0),
    ("19 BMG", 1.5),
    ("19 des Bundesmeldegesetzes", 1.5),
)
# Supporting vocabulary, counted only together with a core phrase.
_LANDLORD_SUPPORT = (
    ("Bundesmeldegesetz", 0.5),
    ("Meldebehörde", 0.5),
    ("meldepflichtige Person", 1.0),
    ("eingezogen", 1.0),
    ("Einzug", 0.5),
    ("Vermieter", 0.5),
    ("Anschrift der Wohnung", 1.0),
    ("in die Wohnung", 1.0),
)
_LANDLORD_THRESHOLD = 3.0
_MAX_SEARCHED_CHARS = 12_000


@dataclass(slots=True)
class Evidence:
    mrz_lines: int = 0
    mrz_id_card: int = 0
    mrz_passport: int = 0
    id_card_words: int = 0
    passport_words: int = 0
    identity_labels: int = 0
    landlord_score: float = 0.0
    readable_words: int = 0


def mrz_kind(line: str) -> str | None:
    """'id_card', 'passport' or 'unknown' for an MRZ-looking line, else None."""
    compact = line.upper().replace(" ", "").replace("«", "<").replace("‹", "<")
    if len(compact) < 25 or compact.count("<") < 3 or not _MRZ_CHARS.match(compact):
        return None
    if compact.startswith("P") and len(compact) >= 40:
        return "passport"
    if compact[0] in "IAC" and 28 <= len(compact) <= 32:
        return "id_card"
    if compact.startswith("P"):
        return "passport"
    if compact.startswith(("I", "ID")):
        return "id_card"
    return "unknown"


def gather_evidence(pages: list[PageText], acroform: dict[str, str]) -> Evidence:
    evidence = Evidence()
    text = "\n".join(page.text for page in pages)
    form_text = "\n".join(f"{name} {value}" for name, value in acroform.items())
    for line in text.splitlines():
        kind = mrz_kind(line)
        if kind is not None:
            evidence.mrz_lines += 1
            evidence.mrz_id_card += kind == "id_card"
            evidence.mrz_passport += kind == "passport"
    # What a document is shows on its first pages; fuzzy search costs time per character.
    squeezed = squeeze(form_text + "\n" + text)[:_MAX_SEARCHED_CHARS]
    evidence.id_card_words = sum(contains_phrase(squeezed, p) for p in _ID_CARD_PHRASES)
    evidence.passport_words = sum(contains_phrase(squeezed, p) for p in _PASSPORT_PHRASES)
    evidence.identity_labels = sum(contains_phrase(squeezed, p) for p in _IDENTITY_LABELS)
    core = sum(w for p, w in _LANDLORD_CORE if contains_phrase(squeezed, p))
    if core > 0:
        support = sum(w for p, w in _LANDLORD_SUPPORT if contains_phrase(squeezed, p))
        evidence.landlord_score = core + support
    evidence.readable_words = sum(
        1 for page in pages for w in page.words if w.confidence >= 0.6 and len(w.text) >= 3
    )
    if not any(page.words for page in pages):
        evidence.readable_words = len(re.findall(r"\w{3,}", text))
    return evidence


# ---------------------------------------------------------------- decision


def classify(pages: list[PageText], acroform: dict[str, str]) -> tuple[DocType, float]:
    """The document's type and how sure that is (0..1)."""
    return decide(gather_evidence(pages, acroform))


def decide(ev: Evidence) -> tuple[DocType, float]:
    identity = _identity_type(ev)
    if identity is not None and ev.landlord_score < _LANDLORD_THRESHOLD:
        return identity
    if ev.landlord_score >= _LANDLORD_THRESHOLD:
        if identity is not None and identity[1] >= 0.9:
            # An identity document that mentions a move (a stamped address change):
            # the MRZ is the stronger evidence.
            return identity
        return DocType.LANDLORD_CONFIRMATION, min(0.99, 0.6 + 0.06 * ev.landlord_score)
    if ev.readable_words < 15:
        # Too little legible text to say what this is: do not claim "other".
        return DocType.OTHER, 0.2
    return DocType.OTHER, 0.9 if ev.landlord_score == 0 else 0.75


def _identity_type(ev: Evidence) -> tuple[DocType, float] | None:
    passport_votes = 2 * ev.mrz_passport + ev.passport_words
    id_votes = 2 * ev.mrz_id_card + ev.id_card_words
    # A visual zone whose title and MRZ were not read (a card photographed poorly): an
    # identity document, an ID card unless it says passport, at what labels are worth.
    by_labels = None
    if ev.identity_labels >= _MIN_IDENTITY_LABELS:
        by_labels = DocType.ID_CARD, min(0.85, 0.6 + 0.05 * ev.identity_labels)
    if ev.mrz_lines == 0 and passport_votes == 0 and ev.id_card_words < 2:
        # "Bundesrepublik Deutschland" alone is printed on many official letters.
        return by_labels
    if passport_votes == 0 and id_votes == 0:
        return by_labels
    kind = DocType.PASSPORT if passport_votes > id_votes else DocType.ID_CARD
    strength = max(passport_votes, id_votes) + ev.mrz_lines
    confidence = min(0.99, 0.55 + 0.1 * strength)
    return kind, confidence
