"""The text model of a landlord confirmation: lines with their words and boxes, snippets
of them, text folded for matching with positions back into the original, labels and
the label sets of the forms' fields and sections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from intake.applications.documents import LANDLORD_FIELDS, PageText, TextSource, Word
from intake.reading import layout
from intake.reading.classify import allowed_errors, fold, fuzzy_find

FIELDS = LANDLORD_FIELDS

# Anchor certainty: how sure we are that a value sits where the wording says it does.
EXACT_LABEL = 1.0
FUZZY_LABEL = 0.9
LETTER_PHRASE = 0.97
WEAK_ANCHOR = 0.8  # a pattern found without a label that names it
REPAIRED = 0.85  # ceiling for a value whose characters were corrected
CONTRADICTED = 0.45  # ceiling when two labelled places disagree
DOUBTFUL = 0.6  # ceiling for a value whose extent is uncertain (where it ends)

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
        self.extents = [layout.Extent.of(line.words) for line in self.lines]
        self._pages = [line.page for line in self.lines]

    def following(self, index: int, count: int) -> list[int]:
        """Up to ``count`` lines after line ``index`` down its column: each the line
        directly under the one before (by the boxes), or the next lines of the text
        where there are no boxes. A column's value never runs on into the next column,
        however the page's lines were ordered."""
        found: list[int] = []
        current = index
        while len(found) < count:
            if self.extents[current] is None:
                following = current + 1 if current + 1 < len(self.lines) else None
            else:
                following = layout.below(self.extents, self._pages, current)
            if following is None or following in found or following == index:
                break
            found.append(following)
            current = following
        return found

    def continues(self, index: int, following: int, words: list[Word] | None = None) -> bool:
        """Whether line ``following`` may continue a value (``words``, by default all of
        line ``index``) that wrapped: it starts where the value starts, at line pitch."""
        here = layout.Extent.of(words) if words else self.extents[index]
        there = self.extents[following]
        if here is None or there is None or abs(there.x0 - here.x0) > 0.8 * here.height:
            return False
        if there.y0 - here.y1 > layout.WRAP_PITCH * here.height:
            return False
        return any(w.box[2] > w.box[0] for w in self.lines[following].words)

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


_ENUMERATED = re.compile(r"\d{1,2} ")


def _exact_label(folded: str, label: Label) -> int | None:
    for match in re.finditer(re.escape(label.phrase), folded):
        start, end = match.span()
        if start > 0 and folded[start - 1] != " ":
            continue
        if end < len(folded) and folded[end] != " ":
            continue
        if label.start_only and start > 0 and not _ENUMERATED.fullmatch(folded[:start]):
            continue  # "3. Bewohner der Wohnung": a numbered label starts its line too
        return end
    return None


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
