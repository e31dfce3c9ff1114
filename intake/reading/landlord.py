"""Fields of a landlord confirmation (Wohnungsgeberbestätigung, § 19 BMG).

The extraction reads text, not pixels: it anchors on the wording that every such
confirmation must contain (who the landlord is, when who moved into which flat)
and validates what it finds with patterns for dates, postal codes, streets with
house numbers and personal names. The same code reads boxed forms, free-text
letters, born-digital PDFs and fillable PDFs (whose values are placed into the
page text where their widgets sit, so printed labels name them whatever the
fields are called; meaningful field names are used as well).

Every value carries a confidence that multiplies how sure the anchor is (an exact
label, a fuzzy one, a phrase in a letter, a bare pattern) with the OCR confidence
of the weakest word read and with penalties for anything implausible. Values that
were repaired (``IIse`` → ``Ilse``) or that two places on the page contradict are
returned with a confidence below the level at which a decision may rely on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from PIL import Image

from intake.applications.documents import Box, FieldValue, PageText, TextSource, Word
from intake.reading import layout
from intake.reading.classify import allowed_errors, fold, fuzzy_find

FIELDS = (
    "landlord_name",
    "move_in_date",
    "street",
    "house_number",
    "postal_code",
    "city",
    "residents",
)

# Anchor certainty: how sure we are that a value sits where the wording says it does.
EXACT_LABEL = 1.0
FUZZY_LABEL = 0.9
LETTER_PHRASE = 0.97
WEAK_ANCHOR = 0.8  # a pattern found without a label that names it
REPAIRED = 0.85  # ceiling for a value whose characters were corrected
CONTRADICTED = 0.45  # ceiling when two labelled places disagree

# ------------------------------------------------------------------ text model


@dataclass(slots=True)
class Line:
    page: int
    source: TextSource
    words: list[Word]
    text: str = ""
    offsets: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        position = 0
        for word in self.words:
            self.offsets.append(position)
            position += len(word.text) + 1
        self.text = " ".join(w.text for w in self.words)

    def words_between(self, start: int, end: int) -> list[Word]:
        """Words that overlap the character range [start, end) of ``text``."""
        return [
            w
            for w, offset in zip(self.words, self.offsets, strict=True)
            if offset < end and offset + len(w.text) > start
        ]


@dataclass(slots=True)
class Snippet:
    """A piece of text with the words it was read from."""

    text: str
    words: list[Word]
    page: int
    source: TextSource

    @property
    def ocr_confidence(self) -> float:
        return min((w.confidence for w in self.words), default=0.0)


class Document:
    """All lines of all pages, and the same text as one string for phrase search."""

    def __init__(self, pages: list[PageText]) -> None:
        self.lines: list[Line] = []
        for page in pages:
            self.lines.extend(_page_lines(page))
        self.flow = "\n".join(line.text for line in self.lines)
        self.starts: list[int] = []
        position = 0
        for line in self.lines:
            self.starts.append(position)
            position += len(line.text) + 1

    def snippet(self, start: int, end: int) -> Snippet:
        """The flow text in [start, end) with the words it covers (single page)."""
        words: list[Word] = []
        page, source = 0, TextSource.OCR
        for line, line_start in zip(self.lines, self.starts, strict=True):
            line_end = line_start + len(line.text)
            if line_end <= start or line_start >= end:
                continue
            if not words:
                page, source = line.page, line.source
            words += line.words_between(start - line_start, end - line_start)
        return Snippet(" ".join(self.flow[start:end].split()), words, page, source)

    def line_snippet(self, index: int, start: int = 0, end: int | None = None) -> Snippet:
        line = self.lines[index]
        end = len(line.text) if end is None else end
        return Snippet(
            line.text[start:end].strip(), line.words_between(start, end), line.page, line.source
        )


def _page_lines(page: PageText) -> list[Line]:
    grouped: dict[int, list[Word]] = {}
    for word in page.words:
        grouped.setdefault(word.line, []).append(word)
    if grouped:
        lines = [grouped[k] for k in sorted(grouped)]
        if any(w.box[2] > w.box[0] for w in page.words):
            lines = layout.page_lines(lines, is_label_line)
        return [Line(page.index, page.source, words) for words in lines]
    # A page without word geometry: one pseudo-word per token, full confidence.
    lines_ = []
    for text_line in page.text.splitlines():
        words = [Word(token, 1.0, (0, 0, 0, 0)) for token in text_line.split()]
        if words:
            lines_.append(Line(page.index, page.source, words))
    return lines_


# ------------------------------------------------------------------ folding with positions


@dataclass(slots=True)
class Folded:
    """Lower-case, accent-free, punctuation-as-space text with a map to the original."""

    text: str
    origin: list[int]

    @classmethod
    def of(cls, original: str) -> Folded:
        text, origin = _fold_with_origin(original)
        return cls(text, list(origin))

    def original_end(self, end: int) -> int:
        """Index in the original text just after folded position ``end - 1``."""
        return self.origin[end - 1] + 1 if end > 0 else 0


@lru_cache(maxsize=4096)
def _fold_with_origin(original: str) -> tuple[str, tuple[int, ...]]:
    """The folding of :meth:`Folded.of`, cached: every line is tried with many labels."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(original):
        for out in _fold_char(char):
            if out == " " and (not chars or chars[-1] == " "):
                continue
            chars.append(out)
            origin.append(index)
    return "".join(chars), tuple(origin)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character folded, or a space for anything that is not a letter or digit."""
    piece = fold(char)
    return piece if piece and piece.isalnum() else " "


@dataclass(frozen=True, slots=True)
class Label:
    phrase: str  # folded words, e.g. "datum des einzugs"
    start_only: bool = False  # must begin the line (short generic labels)
    exclude: tuple[str, ...] = ()  # folded words that make the line something else
    fuzzy: bool = False  # also match with OCR errors (long, distinctive labels only)
    anchor: float = EXACT_LABEL  # lower for loose wordings that usually, not always, fit


def match_label(line_text: str, label: Label) -> tuple[int, float] | None:
    """End of the label in ``line_text`` and the anchor certainty, or None."""
    folded = Folded.of(line_text)
    padded = f" {folded.text} "
    if any(f" {word} " in padded for word in label.exclude):
        return None
    found = _exact_label(folded.text, label)
    if found is not None:
        return folded.original_end(found), label.anchor
    errors = allowed_errors(label.phrase.replace(" ", ""))
    if not label.fuzzy or label.start_only or errors == 0:
        return None
    fuzzy = fuzzy_find(label.phrase, folded.text, errors)
    if fuzzy is None:
        return None
    end = fuzzy[1]
    while end < len(folded.text) and folded.text[end] != " ":
        end += 1  # finish the word the fuzzy match ended in
    return folded.original_end(end), min(label.anchor, FUZZY_LABEL)


def _exact_label(folded: str, label: Label) -> int | None:
    for match in re.finditer(re.escape(label.phrase), folded):
        start, end = match.span()
        if start > 0 and folded[start - 1] != " ":
            continue
        if end < len(folded) and folded[end] != " ":
            continue
        if label.start_only and start > 0:
            continue
        return end
    return None


# ------------------------------------------------------------------ value patterns

_MONTHS = {
    "januar": 1, "jan": 1, "jaenner": 1, "februar": 2, "feb": 2, "maerz": 3, "marz": 3,
    "mrz": 3, "mar": 3, "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7,
    "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10,
    "okt": 10, "november": 11, "nov": 11, "dezember": 12, "dez": 12,
}  # fmt: skip

_NUMERIC_DATE = re.compile(r"(?<![\d.])(\d{1,2})\s?[./]\s?(\d{1,2})\s?[./]\s?(\d{4}|\d{2})(?![\d])")
_NAMED_DATE = re.compile(r"(?<!\d)(\d{1,2})\.?\s*([A-Za-zÄÖÜäöü]{3,9})\.?\s+(\d{4})(?!\d)")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_POSTAL_CITY = re.compile(
    r"(?<![\d\w])(?P<plz>\d{5})\s+(?P<city>[A-ZÄÖÜ][\w\-.]*(?:[ \t]+(?:(?:am|an|der|an der|im|ob|"
    r"a\.|i\.|bei|vor|in)[ \t]+)?[A-ZÄÖÜ(][\w\-.()]*)*)"
)
_HOUSE_NUMBER = (
    r"\d{1,4}(?:[ \t]?[a-zA-Z](?!\w))?(?:[ \t]?[-/–][ \t]?\d{1,4}(?:[ \t]?[a-zA-Z](?!\w))?)?"
)
_STREET_WORD = (
    r"(?:[A-ZÄÖÜ][\w.'’\-]*|an|am|auf|der|den|dem|des|im|in|zum|zur|bei|vor|von|und|unter|"
    r"über|\d{1,2}\.)"
)
_STREET_NUMBER = re.compile(
    rf"(?P<street>[A-ZÄÖÜ][\w.'’\-]*(?:[ \t]+{_STREET_WORD}){{0,5}}?)[ \t]+"
    rf"(?P<number>{_HOUSE_NUMBER})(?=$|[\s,;()])"
)
# OCR sometimes loses the capital of the first letter ("wilhelm-Busch-Straße").
_STREET_NUMBER_ANY_CASE = re.compile(
    rf"(?P<street>(?<![\w\-])[A-ZÄÖÜa-zäöü][\w.'’\-]*(?:[ \t]+{_STREET_WORD}){{0,5}}?)[ \t]+"
    rf"(?P<number>{_HOUSE_NUMBER})(?=$|[\s,;()])"
)
_STREET_WORDS = (
    "strasse", "str", "weg", "platz", "allee", "damm", "ring", "gasse", "chaussee", "ufer",
    "markt", "meile", "berg", "berge", "hof", "garten", "wall", "steg", "pfad", "stieg",
    "kamp", "feld", "graben", "brink", "tor", "twete", "bruecke", "park", "wiese",
    "anger", "hang", "hoehe", "kirchweg", "koppel", "kai", "promenade", "zeile", "busch",
)  # fmt: skip
_NAME_WORD = r"(?:[A-ZÄÖÜ][\w'’\-]*[\w]|[A-ZÄÖÜ]\.?)"
_NAME_PARTICLE = r"(?:von|van|de|der|den|du|da|di|del|della|dos|zu|zum|ten|ter|al|el|bin|ibn|le|la)"
_PERSON_NAME = re.compile(
    rf"{_NAME_WORD}(?:,?[ \t]+(?:{_NAME_PARTICLE}[ \t]+)*{_NAME_WORD}){{0,6}}"
)
_COMPANY_WORDS = (
    "gmbh", "mbh", "ag", "kg", "eg", "ev", "e v", "se", "ug", "ohg", "gbr", "weg", "immobilien",
    "verwaltung", "hausverwaltung", "wohnen", "wohnungsbau", "genossenschaft", "bauverein",
    "stiftung", "gesellschaft", "wohnungsunternehmen", "service",
)  # fmt: skip
_TITLES = re.compile(r"^(?:(?:Frau|Herrn?|Familie|Eheleute)\s+)+")


def parse_date(text: str) -> tuple[str, re.Match[str]] | None:
    """The first date in ``text`` as ISO string with its match (German or ISO forms)."""
    candidates: list[tuple[int, str, re.Match[str]]] = []
    for match in _NUMERIC_DATE.finditer(text):
        day, month, year = int(match[1]), int(match[2]), _full_year(match[3])
        iso = _valid_date(year, month, day)
        if iso:
            candidates.append((match.start(), iso, match))
    for match in _NAMED_DATE.finditer(text):
        month_number = _MONTHS.get(fold(match[2]).rstrip("."))
        iso = _valid_date(int(match[3]), month_number, int(match[1])) if month_number else None
        if iso:
            candidates.append((match.start(), iso, match))
    for match in _ISO_DATE.finditer(text):
        iso = _valid_date(int(match[1]), int(match[2]), int(match[3]))
        if iso:
            candidates.append((match.start(), iso, match))
    if not candidates:
        return None
    _, iso, match = min(candidates, key=lambda c: c[0])
    return iso, match


def _full_year(text: str) -> int:
    # Two-digit years on a move-in confirmation are this century.
    return int(text) + 2000 if len(text) == 2 else int(text)


def _valid_date(year: int, month: int, day: int) -> str | None:
    if not 1990 <= year <= 2100:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


@dataclass(slots=True)
class Address:
    street: str | None = None
    number: str | None = None
    postal_code: str | None = None
    city: str | None = None
    street_span: tuple[int, int] | None = None  # in the parsed text
    number_span: tuple[int, int] | None = None
    postal_span: tuple[int, int] | None = None
    city_span: tuple[int, int] | None = None


def parse_address(text: str, *, strict: bool = True) -> Address:
    """Street with house number and postal code with city, wherever they are in ``text``.

    ``strict`` accepts only street names with a telling part (-straße, -weg, Am ...);
    where a label or phrase already says that an address follows, any capitalised
    name before a house number is taken.
    """
    address = Address()
    postal = _POSTAL_CITY.search(text)
    if postal:
        city = _clean_city(postal["city"])
        address.postal_code, address.city = postal["plz"], city
        address.postal_span = postal.span("plz")
        address.city_span = (postal.start("city"), postal.start("city") + len(city))
    pattern = _STREET_NUMBER if strict else _STREET_NUMBER_ANY_CASE
    for street in pattern.finditer(text):
        if postal and street.start("number") == postal.start("plz"):
            continue
        name = _clean_street(street["street"])
        if not name or not _looks_like_street(name, strict=strict):
            continue
        address.street = name
        address.number = re.sub(r"\s+", "", street["number"])
        offset = street.end("street") - len(name)
        address.street_span = (offset, street.end("street"))
        address.number_span = street.span("number")
        break
    return address


_NOT_STREET_START = (
    "in", "die", "der", "im", "zur", "wohnung", "anschrift", "haus", "hause", "gebaeude",
    "objekt", "mietobjekt", "adresse",
)  # fmt: skip


def _clean_street(raw: str) -> str:
    words = raw.strip(" ,;:-").split()
    # Leading words that belong to the sentence, not to the street ("Wohnung", "in", ...).
    while words and fold(words[0]) in _NOT_STREET_START:
        words.pop(0)
    return " ".join(words)


def _looks_like_street(name: str, *, strict: bool) -> bool:
    folded = fold(name)
    if any(folded.endswith(word) or f"{word} " in folded + " " for word in _STREET_WORDS):
        return True
    # Streets without a telling suffix ("Am Lindener Berge", "An der Lutherkirche",
    # "Lister Meile") start with a preposition or consist of capitalised words.
    if re.match(r"^(am|an|auf|im|in|zum|zur|hinter|vor|unter|ueber|bei)\b", folded):
        return True
    if strict:
        return False
    return bool(re.fullmatch(r"(?:[A-ZÄÖÜ][\w.\-]+ ?){1,4}", name)) and len(name) >= 4


def _clean_city(raw: str) -> str:
    words = raw.split()
    kept: list[str] = []
    for word in words:
        if kept and not word[0].isupper() and word not in ("am", "an", "der", "im", "a.", "i."):
            break
        kept.append(word)
    while kept and kept[-1] in ("am", "an", "der", "im", "a.", "i."):
        kept.pop()
    return " ".join(kept).strip(" ,.;:")


# ------------------------------------------------------------------ plausibility and repair

_INNER_CAPITAL_I = re.compile(r"(?<=[A-Za-zÄÖÜäöüß])I(?=[a-zäöüß])|^I(?=I[a-zäöüß])")


def repair_name(text: str) -> tuple[str, bool]:
    """Undo the commonest OCR slip in names: a capital I read for a lower-case l."""
    words = []
    changed = False
    for word in text.split(" "):
        fixed = word
        if re.fullmatch(r"[A-ZÄÖÜ]I[a-zäöüß]+", word):
            fixed = word[0] + "l" + word[2:]
        elif re.fullmatch(r"[A-ZÄÖÜ][a-zäöüß]+I[a-zäöüß]+", word):
            fixed = _INNER_CAPITAL_I.sub("l", word)
        changed |= fixed != word
        words.append(fixed)
    return " ".join(words), changed


def name_penalty(text: str, *, company: bool) -> float:
    """1.0 for a plausible name, lower for OCR-looking debris inside it."""
    penalty = 1.0
    for word in re.split(r"[\s\-]+", text):
        letters = re.sub(r"[^\w]", "", word)
        if not letters:
            continue
        if any(c.isdigit() for c in letters):
            penalty *= 0.5
        elif not company and re.search(r"[a-zäöüß][A-ZÄÖÜ]", letters) and not _mc(letters):
            penalty *= 0.6  # "wWilkens"
        elif not company and letters[0].islower() and fold(letters) not in _particles():
            penalty *= 0.9  # "wilkens": right letters, wrong case
    return penalty


def _mc(word: str) -> bool:
    return bool(re.match(r"^(Mc|Mac|O'|D')", word))


def _particles() -> set[str]:
    return set(_NAME_PARTICLE.strip("(?:)").split("|")) | {"und"}


def is_company(text: str) -> bool:
    folded = f" {fold(text)} "
    return any(f" {word} " in folded or folded.strip().endswith(word) for word in _COMPANY_WORDS)


# ------------------------------------------------------------------ candidates


def ocr_factor(confidence: float) -> float:
    """Trust in a value given the OCR confidence of its weakest word.

    Tesseract's word confidence is no probability: cleanly printed words read
    correctly score 0.90-0.96, while words with misread characters typically score
    below 0.85. Above 0.9 the OCR is not what limits trust; below, trust falls
    quadratically (0.85 → 0.89, 0.79 → 0.77, 0.68 → 0.57).
    """
    return min(1.0, confidence / 0.9) ** 2


@dataclass(slots=True)
class Candidate:
    value: str | list[str]
    snippets: list[Snippet]
    anchor: float
    penalty: float = 1.0
    origin: str = ""  # short description of where it came from (for debugging)
    support: float = 0.0  # confidence of an independent second reading that agrees

    @property
    def base(self) -> float:
        ocr = min((s.ocr_confidence for s in self.snippets), default=0.0)
        return self.anchor * ocr_factor(ocr) * self.penalty

    @property
    def confidence(self) -> float:
        base = self.base
        # A second, independent place that says the same makes a misread of both
        # unlikely; half of its confidence closes part of the remaining gap.
        combined = base + (1.0 - base) * 0.5 * self.support
        ceiling = 0.99 if all(s.source is not TextSource.OCR for s in self.snippets) else 0.97
        return max(0.0, min(ceiling, combined))

    def to_field(self) -> FieldValue:
        first = self.snippets[0] if self.snippets else None
        boxes = [w.box for s in self.snippets if first and s.page == first.page for w in s.words]
        return FieldValue(
            value=self.value,
            confidence=round(self.confidence, 3),
            source=first.source if first else TextSource.OCR,
            page=first.page if first else None,
            box=_union(boxes),
        )


def _union(boxes: list[Box]) -> Box | None:
    real = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
    if not real:
        return None
    return (
        min(b[0] for b in real),
        min(b[1] for b in real),
        max(b[2] for b in real),
        max(b[3] for b in real),
    )


# ------------------------------------------------------------------ labels of forms

_NOT_A_VALUE = ("unterschrift", "stempel")
_NOT_LANDLORD_NAME = _NOT_A_VALUE + (
    "anschrift", "adresse", "bestaetigung", "ist", "telefon", "tel", "email", "mail",
    "strasse", "gemaess", "nach", "einzugsbestaetigung", "wohnungsgeberbestaetigung",
)  # fmt: skip
_LANDLORD_WORDS = ("wohnungsgebers", "wohnungsgeberin", "vermieters", "vermieterin", "eigentuemers")

LANDLORD_LABELS = (
    Label("name und anschrift des wohnungsgebers", fuzzy=True),
    Label("name und anschrift der wohnungsgeberin"),
    Label("name und anschrift des vermieters"),
    Label("name des wohnungsgebers", fuzzy=True),
    Label("name der wohnungsgeberin"),
    Label("name des vermieters"),
    Label("name der vermieterin"),
    Label("wohnungsgeber in", start_only=True, exclude=_NOT_A_VALUE + ("ist",)),
    Label("wohnungsgeber", start_only=True, exclude=_NOT_A_VALUE + ("ist", "anschrift")),
    Label("wohnungsgeberin", start_only=True, exclude=_NOT_A_VALUE + ("ist", "anschrift")),
    Label("vermieter in", start_only=True, exclude=_NOT_A_VALUE + ("ist",)),
    Label("vermieter", start_only=True, exclude=_NOT_A_VALUE + ("ist", "anschrift")),
    Label("vermieterin", start_only=True, exclude=_NOT_A_VALUE + ("ist", "anschrift")),
    # "Name/Firma des Wohnungsgebers", "Wohnungsgeber/Vermieter": looser wordings.
    Label("des wohnungsgebers", exclude=_NOT_LANDLORD_NAME, anchor=FUZZY_LABEL),
    Label("der wohnungsgeberin", exclude=_NOT_LANDLORD_NAME, anchor=FUZZY_LABEL),
    Label("des vermieters", exclude=_NOT_LANDLORD_NAME, anchor=FUZZY_LABEL),
    Label("wohnungsgeber vermieter", exclude=_NOT_LANDLORD_NAME, anchor=FUZZY_LABEL),
    Label("eigentuemer vermieter", start_only=True, exclude=_NOT_LANDLORD_NAME),
    Label("vermieter eigentuemer", start_only=True, exclude=_NOT_LANDLORD_NAME),
    Label("eigentuemer in", start_only=True, exclude=_NOT_LANDLORD_NAME),
    Label("eigentuemer", start_only=True, exclude=_NOT_LANDLORD_NAME),
)
MOVE_IN_LABELS = (
    Label("datum des einzugs", fuzzy=True),
    Label("tag des einzugs"),
    Label("einzugsdatum"),
    Label("einzugstag"),
    Label("einzug am"),
    Label("einzug zum"),
    Label("eingezogen am"),
    Label("eingezogen zum"),
    Label("bezogen am"),
    Label("bezogen seit"),
    Label("einzug", start_only=True),
    Label("art der meldung"),
)
FLAT_LABELS = (
    Label("anschrift der wohnung", exclude=_LANDLORD_WORDS, fuzzy=True),
    Label("anschrift der neuen wohnung"),
    Label("anschrift der bezogenen wohnung"),
    Label("adresse der bezogenen wohnung"),
    Label("adresse der neuen wohnung"),
    Label("lage der wohnung"),
    Label("adresse der wohnung"),
    Label("bezogene wohnung"),
    Label("wohnungsanschrift"),
    Label("neue anschrift", start_only=True),
    Label("neue wohnanschrift", start_only=True),
    Label("anschrift des mietobjekts"),
    Label("mietobjekt", start_only=True),
    Label("wohnobjekt", start_only=True),
)
# Generic address labels: they name the flat only outside the landlord's section.
STREET_LABELS = (
    Label("strasse hausnummer", fuzzy=True),
    Label("strasse und hausnummer"),
    Label("strasse hausnr"),
    Label("strasse nr"),
    Label("anschrift", start_only=True, exclude=("wohnungsgebers", "vermieters")),
    Label("strasse", start_only=True),
)
POSTAL_CITY_LABELS = (
    Label("postleitzahl ort", fuzzy=True),
    Label("postleitzahl und ort"),
    Label("plz ort"),
    Label("plz und ort"),
    Label("plz wohnort"),
    Label("postleitzahl", start_only=True),
    Label("plz", start_only=True),
)
CITY_LABELS = (
    Label("ort", start_only=True, exclude=("datum",)),
    Label("wohnort", start_only=True, exclude=("datum",)),
    Label("gemeinde", start_only=True),
    Label("stadt", start_only=True, exclude=("datum",)),
)
RESIDENT_LABELS = (
    Label("name der meldepflichtigen person", fuzzy=True),
    Label("namen der meldepflichtigen personen"),
    Label("meldepflichtige person", fuzzy=True),
    Label("meldepflichtigen personen"),
    Label("folgende person", fuzzy=True),
    Label("folgende personen"),
    Label("eingezogene person"),
    Label("eingezogene personen"),
    Label("einziehende person"),
    Label("einziehende personen"),
    Label("mieter in", start_only=True, exclude=_NOT_A_VALUE),
    Label("mieter", start_only=True, exclude=_NOT_A_VALUE),
    Label("mieterin", start_only=True, exclude=_NOT_A_VALUE),
    Label("bewohner in", start_only=True),
    Label("bewohner", start_only=True),
    Label("person", start_only=True, exclude=_NOT_A_VALUE + ("meldepflichtige",)),
    Label("familienname vorname", fuzzy=True),
    Label("in die oben genannte wohnung ist sind", fuzzy=True),
    Label("ist sind folgende", fuzzy=True),
)
# Labels of what no field is read from (the landlord's own address, ownership): they
# end the value of the label before them.
OTHER_LABELS = (
    Label("anschrift des wohnungsgebers"),
    Label("anschrift der wohnungsgeberin"),
    Label("anschrift des vermieters"),
    Label("anschrift der vermieterin"),
    Label("sitz anschrift", start_only=True),
    Label("wohnungsgeber ist eigentuemer"),
    Label("eigentuemer der wohnung"),
)
_ALL_LABELS = (
    OTHER_LABELS
    + LANDLORD_LABELS
    + MOVE_IN_LABELS
    + FLAT_LABELS
    + STREET_LABELS
    + POSTAL_CITY_LABELS
    + CITY_LABELS
    + RESIDENT_LABELS
)

_SECTION_WORDS = {
    "landlord": ("wohnungsgeber", "wohnungsgebers", "wohnungsgeberin", "vermieter", "vermieters",
                 "vermieterin", "eigentuemer", "eigentuemerin", "verwalter", "hausverwaltung"),
    "flat": ("wohnung", "einzug", "einzugs", "mietobjekt", "wohnobjekt", "objekt", "lage"),
    "persons": ("person", "personen", "meldepflichtige", "meldepflichtigen", "mieter", "mieterin",
                "bewohner", "familienname", "eingezogen"),
}  # fmt: skip


def first_label(line_text: str, labels: tuple[Label, ...]) -> tuple[int, float, Label] | None:
    for label in labels:
        found = match_label(line_text, label)
        if found is not None:
            return found[0], found[1], label
    return None


def is_label_line(line_text: str) -> bool:
    return first_label(line_text, _ALL_LABELS) is not None


def section_of(line_text: str) -> str | None:
    """Which part of a form a heading or label line opens, if any."""
    words = set(Folded.of(line_text).text.split())
    if words & {"unterschrift", "datum"} and not words & {"einzugs", "einzug"}:
        return None
    for section in ("landlord", "flat", "persons"):
        if words & set(_SECTION_WORDS[section]):
            return section
    return None


# ------------------------------------------------------------------ form extraction

_LEADING_NOISE = re.compile(r"^[\s:;.,)\]|_>-]*(?:\([^)]*\)?[\s:;.,|_-]*)*")
_ENUMERATION = re.compile(r"^\s*(?:\d{1,2}\s*[.)]|[-•*])\s+")


@dataclass(slots=True)
class LabelHit:
    line: int  # index into Document.lines
    end: int  # end of the label in the line text
    anchor: float
    label: Label


def _value_after(doc: Document, hit: LabelHit, accept: Callable[[str], bool]) -> Snippet | None:
    """The value that a label introduces: rest of its line, else the next value line."""
    text = doc.lines[hit.line].text
    rest = _LEADING_NOISE.sub("", text[hit.end :])
    if rest and accept(rest):
        start = len(text) - len(rest)
        return doc.line_snippet(hit.line, start)
    for index in range(hit.line + 1, min(hit.line + 3, len(doc.lines))):
        candidate = doc.lines[index].text
        if is_label_line(candidate):
            return None
        if candidate.strip() and (accept(candidate) or accept(_ENUMERATION.sub("", candidate))):
            return doc.line_snippet(index)
    return None


_GENERIC_LABELS = STREET_LABELS + POSTAL_CITY_LABELS + CITY_LABELS


def _label_hits(
    doc: Document, labels: tuple[Label, ...], sections: set[str | None]
) -> list[LabelHit]:
    """Lines carrying one of ``labels``; generic address labels only in ``sections``."""
    hits: list[LabelHit] = []
    section: str | None = None
    for index, line in enumerate(doc.lines):
        found = first_label(line.text, labels)
        if found is not None:
            generic = found[2] in _GENERIC_LABELS
            if not generic or section is None or section in sections:
                hits.append(LabelHit(index, found[0], found[1], found[2]))
        opened = section_of(line.text)
        if opened is not None:
            section = opened
    return hits


def form_landlord(doc: Document) -> list[Candidate]:
    found = []
    for hit in _label_hits(doc, LANDLORD_LABELS, {"landlord"}):
        snippet = _value_after(doc, hit, _plausible_landlord)
        if snippet is None:
            continue
        name = _name_before_address(snippet.text)
        if name and name == snippet.text.strip(" ,;:-–·|"):
            snippet = _with_legal_form(doc, snippet)
            name = snippet.text
        if name:
            found.append(_landlord_candidate(name, snippet, hit.anchor, "form label"))
    return found


_LEGAL_FORM = re.compile(
    r"(?:GmbH|mbH|eG|AG|KG|SE|e\.\s?V\.|GbR|OHG|UG)(?:\s*(?:&|und)\s*Co\.?\s*KG)?", re.IGNORECASE
)


def _with_legal_form(doc: Document, snippet: Snippet) -> Snippet:
    """A company name whose legal form a narrow column wrapped onto the next line."""
    last = snippet.words[-1] if snippet.words else None
    for index, line in enumerate(doc.lines[:-1]):
        if last is not None and any(w is last for w in line.words):
            following = doc.lines[index + 1]
            if _LEGAL_FORM.fullmatch(following.text.strip(" ,.")) or _LEGAL_FORM.fullmatch(
                following.text.strip(" ,")
            ):
                text = f"{snippet.text} {following.text.strip(' ,')}"
                return Snippet(text, snippet.words + following.words, snippet.page, snippet.source)
            break
    return snippet


_NOT_NAMES = {"ja", "nein", "yes", "no", "x", "off", "on", "einzug", "auszug"}


def _plausible_landlord(text: str) -> bool:
    name = _name_before_address(text)
    letters = re.sub(r"[^A-Za-zÄÖÜäöüß]", "", name)
    return len(letters) >= 3 and fold(name) not in _NOT_NAMES and not parse_date(name)


def _name_before_address(text: str) -> str:
    """The name part of "Name, Street 1, 12345 City" (or the whole text)."""
    address = parse_address(text, strict=False)
    cut = len(text)
    for span in (address.street_span, address.postal_span):
        if span is not None:
            cut = min(cut, span[0])
    # A street whose house number was misread still ends the name.
    street_word = re.search(
        r"[,;·|]\s*[A-ZÄÖÜ][\w.\-]*(?i:stra(?:ß|ss)e|str\.|weg|allee|damm|platz)\b", text
    )
    if street_word:
        cut = min(cut, street_word.start())
    return text[:cut].strip(" ,;:-–·|")


def _landlord_candidate(name: str, snippet: Snippet, anchor: float, origin: str) -> Candidate:
    repaired, changed = repair_name(name)
    words = [w for w in snippet.words if w.text.strip(",;") in name.split() or w.text in name]
    part = Snippet(name, words or snippet.words, snippet.page, snippet.source)
    penalty = name_penalty(repaired, company=is_company(repaired))
    candidate = Candidate(repaired, [part], anchor, penalty, origin)
    if changed:
        candidate.penalty = min(candidate.penalty, REPAIRED / max(anchor, 1e-6))
    return candidate


def form_move_in(doc: Document) -> list[Candidate]:
    found = []
    for hit in _label_hits(doc, MOVE_IN_LABELS, {None, "flat", "persons", "landlord"}):
        snippet = _value_after(doc, hit, lambda t: parse_date(t) is not None)
        if snippet is None:
            continue
        parsed = parse_date(snippet.text)
        assert parsed is not None
        iso, match = parsed
        words = _words_for(snippet, match.group(0))
        found.append(Candidate(iso, [words], hit.anchor, 1.0, "form label"))
    return found


def _words_for(snippet: Snippet, part: str) -> Snippet:
    """The sub-snippet of words that spell ``part`` (by token overlap)."""
    tokens = set(part.replace(",", " ").split())
    words = [w for w in snippet.words if w.text.strip(",;:()") in tokens or w.text in part]
    return Snippet(part, words or snippet.words, snippet.page, snippet.source)


def form_address(doc: Document) -> dict[str, list[Candidate]]:
    found: dict[str, list[Candidate]] = {
        "street": [],
        "house_number": [],
        "postal_code": [],
        "city": [],
    }
    flat_sections: set[str | None] = {"flat", "persons"}
    for labels, accept in (
        (FLAT_LABELS, _has_address_part),
        (STREET_LABELS, _has_street),
        (POSTAL_CITY_LABELS, _has_postal),
        (CITY_LABELS, _has_city),
    ):
        for hit in _label_hits(doc, labels, flat_sections):
            snippet = _value_after(doc, hit, accept)
            if snippet is None:
                continue
            _address_candidates(snippet, hit.anchor, labels is CITY_LABELS, found)
            following = _continuation(doc, snippet) if labels is FLAT_LABELS else None
            if labels is FLAT_LABELS and not _has_postal(snippet.text) and following:
                _address_candidates(following, hit.anchor, False, found)
    return found


def _continuation(doc: Document, snippet: Snippet) -> Snippet | None:
    """The postal code line among the two lines after ``snippet``'s, before any label.

    A flat's address may run over two or three lines ("Lister Meile 45, 2. OG" /
    "links" / "30161 Hannover").
    """
    if not snippet.words:
        return None
    last = snippet.words[-1]
    for index, line in enumerate(doc.lines):
        if any(w is last for w in line.words):
            for following in range(index + 1, min(index + 3, len(doc.lines))):
                text = doc.lines[following].text
                if is_label_line(text):
                    return None
                if _has_postal(text):
                    return doc.line_snippet(following)
            return None
    return None


def _has_address_part(text: str) -> bool:
    return _has_street(text) or _has_postal(text)


def _has_street(text: str) -> bool:
    return parse_address(_EMBEDDED_LABEL.sub("", text), strict=False).street is not None


def _has_postal(text: str) -> bool:
    text = _EMBEDDED_LABEL.sub("", text)
    return re.match(r"^\s*\d{5}\b", text) is not None or _POSTAL_CITY.search(text) is not None


def _has_city(text: str) -> bool:
    return bool(_city_only(text)) or _POSTAL_CITY.search(text) is not None


def _city_only(text: str) -> str:
    match = re.match(r"^\s*([A-ZÄÖÜ][\w\-.]*(?:[ \t]+[A-ZÄÖÜ(][\w\-.()]*)*)", text)
    if not match:
        return ""
    city = _clean_city(match[1])
    return "" if fold(city) in ("ort", "stadt", "gemeinde", "datum") else city


_EMBEDDED_LABEL = re.compile(
    r"\b(?:Hausnummer|Hausnr\.?|Haus-Nr\.?|Nr\.|PLZ|Postleitzahl|Ort|Wohnort|Stadt)\s*:\s*"
)


def _address_candidates(
    snippet: Snippet, anchor: float, city_label: bool, found: dict[str, list[Candidate]]
) -> None:
    # "Straße: Lister Meile  Hausnummer: 45  PLZ: 30161  Ort: Hannover" on one line
    text = _EMBEDDED_LABEL.sub("", snippet.text)
    address = parse_address(text, strict=False)
    parts: list[tuple[str, str | None, tuple[int, int] | None]] = [
        ("street", address.street, address.street_span),
        ("house_number", address.number, address.number_span),
        ("postal_code", address.postal_code, address.postal_span),
        ("city", address.city, address.city_span),
    ]
    bare_postal = re.match(r"^\s*(\d{5})\b", text)
    if address.postal_code is None and bare_postal:
        parts[2] = ("postal_code", bare_postal[1], bare_postal.span(1))
    if city_label and address.city is None and _city_only(text):
        city = _city_only(text)
        parts[3] = ("city", city, (text.find(city), text.find(city) + len(city)))
    for name, value, span in parts:
        if value and span:
            words = _words_for(snippet, text[span[0] : span[1]])
            found[name].append(Candidate(value, [words], anchor, 1.0, "form label"))


def form_residents(doc: Document) -> list[Candidate]:
    found = []
    for hit in _label_hits(doc, RESIDENT_LABELS, {None, "persons", "flat", "landlord"}):
        surname_first = _surname_first(doc.lines[hit.line].text)
        names, snippets, garbled = _name_lines(doc, hit, surname_first)
        if names:
            penalty = min(name_penalty(n, company=False) for n in names)
            if garbled:
                penalty = min(penalty, 0.4)
            found.append(Candidate(names, snippets, hit.anchor, penalty, "form label"))
    return _merge_numbered(found)


def _surname_first(label_line: str) -> bool | None:
    """True for "(Familienname, Vorname)", False for "(Vorname Name)", None if not said."""
    folded = Folded.of(label_line).text
    name_pos = min(
        (folded.find(w) for w in ("familienname", "nachname", "name") if w in folded), default=-1
    )
    given_pos = folded.find("vorname")
    if given_pos < 0 or name_pos < 0:
        return None
    if folded.find("familienname") >= 0 or folded.find("nachname") >= 0:
        name_pos = max(folded.find("familienname"), folded.find("nachname"))
    return name_pos < given_pos


def _name_lines(
    doc: Document, hit: LabelHit, surname_first: bool | None
) -> tuple[list[str], list[Snippet], list[str]]:
    """Names listed after a residents label: rest of the line and following lines.

    Header rows of a table ("Familienname, Vorname | Geburtsdatum") before the
    first name are skipped (and tell the name order); after the first name, any
    line that is not a name ends the list. Other columns (birth dates) are cut off.
    """
    names: list[str] = []
    snippets: list[Snippet] = []
    garbled: list[str] = []
    text = doc.lines[hit.line].text
    rest = _LEADING_NOISE.sub("", text[hit.end :])
    rest = re.sub(r"^(?:ist\s*/?\s*sind\s+)?(?:eingezogen|ausgezogen)\b[\s:]*", "", rest)
    rest = _LEADING_NOISE.sub("", rest)
    pieces: list[Snippet] = []
    if rest:
        pieces.append(doc.line_snippet(hit.line, len(text) - len(rest)))
    pieces += [doc.line_snippet(i) for i in range(hit.line + 1, min(hit.line + 10, len(doc.lines)))]
    header: list[str] | None = None
    for piece in pieces:
        if _NUMBERED_PERSON.fullmatch(piece.text):
            continue  # "Person 1 | Person 2" over a grid of names
        if is_label_line(piece.text) or _has_label_word(piece.text):
            if names:
                break
            if surname_first is None:
                surname_first = _surname_first(piece.text)
            header = _table_header(piece.text) or header
            continue
        cells = _without_other_columns(piece.text)
        parsed = _table_row(cells, header) if header else []
        parsed = parsed or _names_in(cells, surname_first)
        if not parsed and _garbled_name_row(cells):
            # A row that should be a name but does not read as one: keep it, so the
            # list is complete, and let its confidence say that it is doubtful.
            parsed = [_given_first(cells, surname_first)]
            garbled.append(parsed[0])
        if not parsed:
            if names:
                break
            continue
        names += parsed
        snippets.append(_words_for(piece, cells))
    return names, snippets, garbled


_SEPARATED = re.compile(r"\s*\|\s*")
_NUMBERED_PERSON = re.compile(
    r"(?:\s*\|?\s*(?:Person|Mieter(?:in)?|Bewohner(?:in)?)\s*\d{1,2}\s*[.:]?)+\s*", re.IGNORECASE
)
_HEADER_ROLES = (
    ("given", ("vorname", "vornamen", "rufname")),
    ("surname", ("familienname", "nachname", "name", "zuname")),
    ("birth", ("geburtsdatum", "geboren", "geburtstag", "geb")),
    ("number", ("nr", "lfd", "nummer")),
)


def _table_header(text: str) -> list[str] | None:
    """Roles of a table's header cells ("Nr. | Name | Vorname | Geburtsdatum"), if it is one."""
    if layout.SEPARATOR not in text:
        return None
    roles = []
    for cell in _SEPARATED.split(text):
        words = Folded.of(cell).text.split()
        role = next((r for r, names in _HEADER_ROLES if any(w in names for w in words)), "")
        roles.append(role)
    return roles if "given" in roles and "surname" in roles else None


def _table_row(text: str, header: list[str]) -> list[str]:
    """The name in a table row whose cells line up with the header's (given, surname)."""
    cells = _SEPARATED.split(text)
    if len(cells) > len(header) or len(cells) < 2:
        return []
    if (
        len(cells) < len(header)
        and header[0] == "number"
        and not re.fullmatch(r"\d{1,2}\.?", cells[0])
    ):
        header = header[1:]  # the running number was not read
    roles = dict(zip(header, cells, strict=False))
    given, surname = roles.get("given", "").strip(" ,"), roles.get("surname", "").strip(" ,")
    name = f"{given} {surname}"
    if not given or not surname or not _PERSON_NAME.fullmatch(name) or _has_label_word(name):
        return []
    return [name]


def _garbled_name_row(text: str) -> bool:
    """A short row of mostly letters shaped like "Surname, Given" or "Given Surname"."""
    words = text.replace(",", " ").split()
    letters = sum(c.isalpha() for c in text)
    if not 2 <= len(words) <= 6 or letters < 0.7 * len(text.replace(" ", "")):
        return False
    if _has_label_word(text) or any(w[:1].islower() and len(w) > 3 for w in words):
        return False  # a label or a sentence, not a name
    return "," in text or sum(w[:1].isupper() for w in words) >= 2


def _without_other_columns(text: str) -> str:
    """A name row without what follows the name (birth date, "geb. ...")."""
    cut = len(text)
    date = parse_date(text)
    if date is not None:
        cut = date[1].start()
    born = re.search(r"\b(?:geb\.|geboren)", text)
    if born:
        cut = min(cut, born.start())
    return text[:cut].strip(" ,;:")


def _names_in(text: str, surname_first: bool | None) -> list[str]:
    """Personal names in one value line ("1. Lange, Lea; 2. Lange, Tom")."""
    names = []
    for part in re.split(r"\s*[;|]\s*|\s+(?:und|sowie|&)\s+|\s+(?=\d{1,2}[.)]\s)", text):
        part = _TITLES.sub("", _ENUMERATION.sub("", part).strip(" .,:"))
        if not part or re.fullmatch(r"\d{1,2}", part):
            continue  # an empty cell, or the running number of a list
        if not _PERSON_NAME.fullmatch(part) or parse_date(part) or _has_label_word(part):
            return []
        if len(part.replace(",", " ").split()) < 2:
            return []  # a given name and a surname at least
        names.append(_given_first(part, surname_first))
    return names


_LABEL_WORDS = {
    "ort", "datum", "name", "vorname", "vornamen", "familienname", "nachname", "unterschrift",
    "strasse", "hausnummer", "postleitzahl", "plz", "anschrift", "wohnung", "person", "personen",
    "wohnungsgeber", "wohnungsgebers", "vermieter", "einzug", "auszug", "zusatzangaben",
    "geburtsdatum", "geburtstag", "geboren", "staatsangehoerigkeit", "geschlecht",
}  # fmt: skip


def _has_label_word(text: str) -> bool:
    return bool(set(Folded.of(text).text.split()) & _LABEL_WORDS)


def _given_first(name: str, surname_first: bool | None) -> str:
    """ "Lange, Lea" → "Lea Lange"; without a comma, the order the form announced."""
    if "," not in name:
        words = name.split()
        if surname_first and len(words) >= 2:
            return " ".join(words[1:] + words[:1])
        return " ".join(words)
    first, _, second = name.partition(",")
    if surname_first is False:
        return " ".join(f"{first} {second}".split())
    return " ".join(f"{second} {first}".split())


def _merge_numbered(found: list[Candidate]) -> list[Candidate]:
    """ "Person 1", "Person 2" labels list one household: join them into one candidate."""
    if len(found) < 2:
        return found
    names: list[str] = []
    snippets: list[Snippet] = []
    for candidate in found:
        for name in candidate.value:
            if name not in names:
                names.append(name)
        snippets += candidate.snippets
    anchor = min(c.anchor for c in found)
    penalty = min(c.penalty for c in found)
    return [Candidate(names, snippets, anchor, penalty, "form labels")]


# ------------------------------------------------------------------ letters

_DASS_NAMES = re.compile(
    r"\bdass\s+(?P<names>[^.;:]{3,200}?)\s+(?:am|zum|ab|seit|bereits|mit\s+Wirkung|in\s+die|"
    r"in\s+unser|die\s+Wohnung|ist|sind|eingezogen|bezogen)\b"
)
_SENTENCE_PREFIX = re.compile(
    r"^(?:(?:die|der|unsere?|unseren)\s+)?(?:(?:neuen?|künftigen?)\s+)?"
    r"(?:Mieterin(?:nen)?|Mieter|Eheleute|Familie|Bewohner(?:in)?|Person(?:en)?)?\s*"
)
_MOVE_WORDS = re.compile(
    r"eingezogen|bezogen|Einzug|einziehen|Mietbeginn|Mietverhältnis|Übergabe|bewohn(?:t|en)\b",
    re.IGNORECASE,
)
_DATE_ANY = re.compile(
    r"\d{1,2}\s?[./]\s?\d{1,2}\s?[./]\s?(?:\d{4}|\d{2})(?!\d)|\d{1,2}\.?\s*[A-Za-zÄÖÜäöü]{3,9}\.?"
    r"\s+\d{4}|\d{4}-\d{2}-\d{2}"
)
_PLACE_DATE_LINE = re.compile(r"^\s*(?:[A-ZÄÖÜ][\w\-. ]*,\s*)?(?:den\s+)?[\d./\sA-Za-zäöü]*$")
_FLAT_PHRASE = re.compile(
    r"\b(?:in\s+die\s+Wohnung|in\s+der\s+Wohnung|die\s+Wohnung|Wohnung\s+in\s+der|Wohnung\s+im|"
    r"Wohnung\s+in|in\s+das\s+(?:Haus|Objekt)|in\s+unser(?:em|e)?\s+(?:Haus|Objekt|Wohnung)|"
    r"eingezogen\s+in)\b",
    re.IGNORECASE,
)
_CLOSING = ("mit freundlichen gruessen", "mit freundlichem gruss", "hochachtungsvoll")
_I_AS_LANDLORD = re.compile(
    r"\b(?:ich|wir)\s*,\s*(?P<name>[^,\n]{3,60})\s*,\s*(?:als|in\s+meiner\s+Eigenschaft\s+als)\s+"
    r"(?:Wohnungsgeber|Vermieter|Eigentümer)"
)


def letter_residents(doc: Document) -> list[Candidate]:
    found = []
    for match in _DASS_NAMES.finditer(doc.flow):
        raw = " ".join(match["names"].split())
        raw = _SENTENCE_PREFIX.sub("", raw)
        names = _names_in_sentence(raw)
        if names:
            snippet = doc.snippet(match.start("names"), match.end("names"))
            penalty = min(name_penalty(n, company=False) for n in names)
            found.append(Candidate(names, [snippet], LETTER_PHRASE, penalty, "letter phrase"))
    return found


def _names_in_sentence(text: str) -> list[str]:
    names = []
    for part in re.split(r"\s*,\s*|\s+(?:und|sowie)\s+", text):
        part = _TITLES.sub("", part.strip())
        if not part or not _PERSON_NAME.fullmatch(part) or len(part.split()) < 2:
            return []
        names.append(part)
    return names


def letter_move_in(doc: Document) -> list[Candidate]:
    moves = [m.start() for m in _MOVE_WORDS.finditer(doc.flow)]
    if not moves:
        return []
    found = []
    for match in _DATE_ANY.finditer(doc.flow):
        if _on_place_date_line(doc, match.start()):
            continue
        parsed = parse_date(match.group(0))
        if parsed is None:
            continue
        distance = min(abs(match.start() - m) for m in moves)
        if distance > 120:
            continue
        before = doc.flow[max(0, match.start() - 12) : match.start()]
        anchor = LETTER_PHRASE if re.search(r"\b(?:am|zum|ab|seit|vom)\s*$", before) else 0.85
        snippet = doc.snippet(match.start(), match.end())
        found.append(Candidate(parsed[0], [snippet], anchor, 1.0, f"letter date {distance}"))
    found.sort(key=lambda c: int(c.origin.rsplit(" ", 1)[1]))
    return found[:1]


def _on_place_date_line(doc: Document, position: int) -> bool:
    """A letter's own date ("Hannover, 12.10.2026") or a form's "Ort, Datum" line."""
    line_start = doc.flow.rfind("\n", 0, position) + 1
    line_end = doc.flow.find("\n", position)
    line = doc.flow[line_start : line_end if line_end >= 0 else len(doc.flow)]
    return bool(_PLACE_DATE_LINE.match(line)) or "datum" in fold(line)


def letter_address(doc: Document) -> dict[str, list[Candidate]]:
    found: dict[str, list[Candidate]] = {
        k: [] for k in ("street", "house_number", "postal_code", "city")
    }
    for phrase in _FLAT_PHRASE.finditer(doc.flow):
        start = phrase.end()
        window = doc.flow[start : start + 160]
        address = parse_address(window, strict=False)
        if address.street_span is None or address.street_span[0] > 25:
            continue
        if address.postal_span is not None and address.postal_span[0] > 100:
            address.postal_code = address.city = None
        for name, value, span in (
            ("street", address.street, address.street_span),
            ("house_number", address.number, address.number_span),
            ("postal_code", address.postal_code, address.postal_span),
            ("city", address.city, address.city_span),
        ):
            if value and span:
                snippet = doc.snippet(start + span[0], start + span[1])
                found[name].append(Candidate(value, [snippet], LETTER_PHRASE, 1.0, "letter phrase"))
        break
    return found


def letter_landlord(doc: Document) -> list[Candidate]:
    found = []
    for match in _I_AS_LANDLORD.finditer(doc.flow):
        snippet = doc.snippet(match.start("name"), match.end("name"))
        found.append(_landlord_candidate(snippet.text, snippet, LETTER_PHRASE, "letter phrase"))
    head = _letterhead(doc)
    closing = _closing_names(doc)
    if head is not None:
        agreed = any(fold(head.text) == fold(name.text) for name in closing)
        anchor = LETTER_PHRASE if agreed else 0.88
        found.append(_landlord_candidate(head.text, head, anchor, "letterhead"))
    return found


def _letterhead(doc: Document) -> Snippet | None:
    """The sender's name: the line above (or the part before) the first address at the top."""
    for index, line in enumerate(doc.lines[:8]):
        if line.page != doc.lines[0].page:
            break
        address = parse_address(line.text, strict=False)
        spans = [s for s in (address.street_span, address.postal_span) if s is not None]
        if is_label_line(line.text):
            return None  # a form: its landlord is labelled, not a letterhead
        if not spans or _FLAT_PHRASE.search(line.text):
            continue
        cut = min(s[0] for s in spans)
        before = line.text[:cut].strip(" ,;:-–·|")
        if before and _plausible_landlord(before):
            return doc.line_snippet(index, 0, line.text.find(before) + len(before))
        if index > 0 and _plausible_landlord(doc.lines[index - 1].text):
            previous = doc.lines[index - 1].text
            if parse_date(previous) is None and not is_label_line(previous):
                return doc.line_snippet(index - 1)
        return None
    return None


def _closing_names(doc: Document) -> list[Snippet]:
    """Printed names after the complimentary close of a letter."""
    for index, line in enumerate(doc.lines):
        folded = Folded.of(line.text).text
        if any(fuzzy_find(c, folded, 2) is not None for c in _CLOSING):
            tail = range(index + 1, min(index + 6, len(doc.lines)))
            return [
                doc.line_snippet(i)
                for i in tail
                if parse_date(doc.lines[i].text) is None and _plausible_landlord(doc.lines[i].text)
            ]
    return []


# ------------------------------------------------------------------ fillable PDFs by field name


def acroform_candidates(acroform: dict[str, str]) -> dict[str, list[Candidate]]:
    """Values of meaningfully named form fields (``datum_einzug``, ``PLZ``, ``Mieter1``...)."""
    found: dict[str, list[Candidate]] = {name: [] for name in FIELDS}
    residents: list[str] = []
    for name, value in acroform.items():
        value = " ".join(value.split())
        if not value:
            continue
        target = _field_for_name(name)
        if target is None:
            continue
        snippet = Snippet(value, [Word(value, 1.0, (0, 0, 0, 0))], 0, TextSource.ACROFORM)
        anchor = 0.97
        if target == "landlord_name":
            landlord = _name_before_address(value)
            if _plausible_landlord(landlord):
                found[target].append(_landlord_candidate(landlord, snippet, anchor, "form field"))
        elif target == "move_in_date":
            parsed = parse_date(value)
            if parsed:
                found[target].append(Candidate(parsed[0], [snippet], anchor, 1.0, "form field"))
        elif target == "address":
            _address_candidates(snippet, anchor, False, found)
        elif target == "city":
            city = _city_only(value)
            if city:
                found["city"].append(Candidate(city, [snippet], anchor, 1.0, "form field"))
        elif target == "postal_code":
            _address_candidates(snippet, anchor, True, found)
        elif target == "residents":
            residents += _names_in(value, None)
    if residents:
        snippet = Snippet(
            "; ".join(residents), [Word("", 1.0, (0, 0, 0, 0))], 0, TextSource.ACROFORM
        )
        penalty = min(name_penalty(n, company=False) for n in residents)
        found["residents"].append(Candidate(residents, [snippet], 0.97, penalty, "form field"))
    return found


def _field_for_name(name: str) -> str | None:
    words = set(Folded.of(re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ")).text.split())
    joined = "".join(sorted(words))
    landlord = bool(words & {"wohnungsgeber", "vermieter", "landlord"}) or (
        "name" in words and bool(words & {"eigentuemer", "eigentuemerin"})
    )
    if any(w.startswith("einzug") for w in words) or words & {"movein", "bezug"}:
        return "move_in_date"
    if words & {"unterschrift", "datum", "signature"} or "ortdatum" in joined:
        return None
    if landlord:
        return (
            None if words & {"anschrift", "adresse", "strasse", "plz", "ort"} else "landlord_name"
        )
    if words & {"strasse", "anschrift", "adresse", "street", "str"}:
        return "address"
    if words & {"plz", "postleitzahl", "zip", "postal"}:
        return "postal_code"
    if words & {"ort", "stadt", "gemeinde", "city", "wohnort"}:
        return "city"
    if any(w.startswith(("person", "mieter", "bewohner", "meldepflichtig")) for w in words):
        return "residents"
    return None


# ------------------------------------------------------------------ choosing


def _key(value: str | list[str]) -> str:
    if isinstance(value, list):
        return "|".join(sorted(" ".join(fold(v).split()) for v in value))
    return " ".join(fold(value).replace("strasse", "str").replace("str.", "str").split())


def choose(candidates: list[Candidate]) -> Candidate | None:
    """The best-anchored value; capped when another well-anchored value contradicts it."""
    if not candidates:
        return None
    groups: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(_key(candidate.value), []).append(candidate)

    def strength(group: list[Candidate]) -> tuple[float, int]:
        return max(c.anchor * c.penalty for c in group), len(group)

    ranked = sorted(groups.values(), key=strength, reverse=True)
    best_group = ranked[0]
    best = max(best_group, key=lambda c: (c.anchor * c.penalty, _has_box(c), c.base))
    others = [c for c in best_group if c is not best and not _same_place(c, best)]
    if others and best.penalty >= 0.9:
        best.support = max(c.base for c in others)
    for other in ranked[1:]:
        if max(c.anchor for c in other) >= FUZZY_LABEL:
            best.anchor = min(best.anchor, CONTRADICTED)
            best.support = 0.0
            best.origin = "contradicted"
            break
    return best


def _has_box(candidate: Candidate) -> bool:
    return any(w.box[2] > w.box[0] for s in candidate.snippets for w in s.words)


def _same_place(a: Candidate, b: Candidate) -> bool:
    """Two candidates read from the same words are one reading, not two."""
    boxes_a = {(s.page, w.box) for s in a.snippets for w in s.words if w.box[2] > w.box[0]}
    boxes_b = {(s.page, w.box) for s in b.snippets for w in s.words if w.box[2] > w.box[0]}
    if not boxes_a or not boxes_b:
        return a.snippets[0].source is b.snippets[0].source
    return bool(boxes_a & boxes_b)


def landlord_elsewhere(doc: Document, found: list[Candidate]) -> list[Candidate]:
    """The landlord's name printed a second time (signature line, letter closing).

    The second place is searched with a small edit distance, so that a misread in
    one of the two places shows up as a competing reading instead of going unseen.
    """
    extra = []
    for candidate in found:
        name = str(candidate.value)
        folded = Folded.of(name).text
        if len(folded.replace(" ", "")) < 6:
            continue
        own = {w.box for s in candidate.snippets for w in s.words}
        for line in doc.lines:
            if own & {w.box for w in line.words}:
                continue
            words = _fuzzy_words(line, folded)
            if words:
                text = " ".join(w.text for w in words).strip(" ,;:")
                snippet = Snippet(text, words, line.page, line.source)
                extra.append(Candidate(text, [snippet], WEAK_ANCHOR, 1.0, "repeated"))
    return extra


def _fuzzy_words(line: Line, folded_name: str) -> list[Word]:
    """The words of ``line`` that spell ``folded_name`` with at most a few OCR errors."""
    folded_line = Folded.of(line.text)
    errors = max(1, allowed_errors(folded_name.replace(" ", "")))
    found = fuzzy_find(folded_name, folded_line.text, errors)
    if found is None:
        return []
    end = folded_line.original_end(found[1])
    start = folded_line.origin[max(0, found[1] - len(folded_name))]
    words = line.words_between(start, end)
    if Folded.of(" ".join(w.text for w in words)).text.count(" ") != folded_name.count(" "):
        return []  # the match straddles more or fewer words than the name has
    return words


def extract_landlord(pages: list[PageText], acroform: dict[str, str]) -> dict[str, FieldValue]:
    """Landlord, move-in date, the flat's address and the residents of a confirmation."""
    doc = Document(pages)
    found: dict[str, list[Candidate]] = {name: [] for name in FIELDS}
    found["landlord_name"] += form_landlord(doc) + letter_landlord(doc)
    found["landlord_name"] += landlord_elsewhere(doc, found["landlord_name"])
    found["move_in_date"] += form_move_in(doc)
    if not found["move_in_date"]:
        found["move_in_date"] += letter_move_in(doc)
    found["residents"] += form_residents(doc) + letter_residents(doc)
    for part, values in form_address(doc).items():
        found[part] += values
    if not found["street"]:
        for part, values in letter_address(doc).items():
            found[part] += values
    for name, values in acroform_candidates(acroform).items():
        found[name] += values
    result = {}
    for name in FIELDS:
        best = choose(found[name])
        if best is not None:
            result[name] = best.to_field()
    if "move_in_date" in result and move_direction_in_text(pages) == "out":
        cap_move_in(result)
    return result


def cap_move_in(fields: dict[str, FieldValue]) -> None:
    """A confirmation of moving out: its date is no move-in date to rely on."""
    if "move_in_date" in fields:
        date_field = fields["move_in_date"]
        date_field.confidence = min(date_field.confidence, MOVE_OUT_CEILING)


# ------------------------------------------------------------------ move in or move out?

MOVE_OUT_CEILING = 0.3  # a move-out confirmation proves no move-in date


def move_direction_in_text(pages: list[PageText]) -> str | None:
    """ "in" or "out" where the text itself says which move is confirmed.

    Born-digital and filled-in forms write the kind of move ("Art der Meldung:
    Auszug"); letters say "eingezogen" or "ausgezogen".
    """
    doc = Document(pages)
    for index, line in enumerate(doc.lines):
        found = match_label(line.text, Label("art der meldung"))
        if found is None:
            continue
        value = line.text[found[0] :]
        if not value.strip() and index + 1 < len(doc.lines):
            value = doc.lines[index + 1].text
        words = set(Folded.of(value).text.split())
        if words & {"auszug", "wegzug"} and not words & {"einzug", "zuzug"}:
            return "out"
        if words & {"einzug", "zuzug"} and not words & {"auszug", "wegzug"}:
            return "in"
    flow = Folded.of(doc.flow).text
    if "ausgezogen" in flow and "eingezogen" not in flow:
        return "out"
    return None


def ticked_move(page: PageText, image: Image.Image) -> str | None:
    """ "in" or "out" from the tick boxes in front of "Einzug" and "Auszug" on a scan.

    OCR cannot tell a ticked box from an empty one, but the pixels can: the box
    left of each word is measured, and the clearly darker one is the ticked one.
    """
    lines: dict[int, dict[str, Word]] = {}
    for word in page.words:
        folded = fold(word.text).strip(" :,.;")
        for kind, stem in (("in", "einzug"), ("out", "auszug")):
            if folded == stem:
                lines.setdefault(word.line, {})[kind] = word
    gray = image.convert("L")
    for pair in lines.values():
        if len(pair) < 2:
            continue
        ink_in, ink_out = _box_ink(gray, pair["in"].box), _box_ink(gray, pair["out"].box)
        if abs(ink_in - ink_out) < 0.04:
            return None  # both or neither ticked, or no boxes at all
        return "in" if ink_in > ink_out else "out"
    return None


def _box_ink(gray: Image.Image, box: Box) -> float:
    """Share of dark pixels in the square just left of a word (where a tick box sits)."""
    x0, y0, _, y1 = box
    height = max(8, y1 - y0)
    region = (
        max(0, x0 - round(2.0 * height)),
        max(0, y0 - height // 4),
        max(1, x0 - height // 8),
        min(gray.height, y1 + height // 4),
    )
    if region[2] <= region[0] or region[3] <= region[1]:
        return 0.0
    histogram = gray.crop(region).histogram()
    dark = sum(histogram[:128])
    return dark / max(1, sum(histogram))
