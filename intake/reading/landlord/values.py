"""Values and candidates: patterns for dates, postal codes, streets with house numbers
and personal names, plausibility and repair (``IIse`` → ``Ilse``), the candidate a
place on the page offers for a field, and how sure its anchor is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from intake.applications.documents import Box, FieldValue, TextSource
from intake.reading.classify import fold
from intake.reading.landlord.text import Snippet

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
# Capitals a name may start with: Latin-1 and Latin Extended-A ("Çelik", "Łukasz", "Šimić").
_CAPITAL = "A-ZÀ-ÖØ-Þ" + "".join(chr(c) for c in range(0x100, 0x180) if chr(c).isupper())
_NAME_WORD = rf"(?:[{_CAPITAL}][\w'’\-]*[\w]|[{_CAPITAL}]\.?)"
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


# Letters whose capital is the small letter enlarged: OCR often gets their case wrong.
_SAME_SHAPE = "cosuvwxz"


def capital_initials(text: str) -> str:
    """ "wolff, Ilse" → "Wolff, Ilse": a name word OCR read with a small initial of the
    same shape as its capital (c, o, s, u, v, w, x, z), particles ("von", "zu") kept;
    not "wWilkens", whose capital inside shows another misreading."""
    words = []
    for word in text.split(" "):
        head = word.split("-")[0]
        if (
            head[:1]
            and head[:1] in _SAME_SHAPE
            and head[1:].islower()
            and fold(word) not in _particles()
        ):
            word = word[0].upper() + word[1:]
        words.append(word)
    return " ".join(words)


def name_penalty(text: str, *, company: bool) -> float:
    """1.0 for a plausible name, lower for OCR-looking debris inside it."""
    penalty = 1.0
    for word in re.split(r"[\s\-]+", text):
        letters = re.sub(r"[^\w]", "", word)
        if not letters:
            continue
        if any(c.isdigit() for c in letters):
            penalty *= 0.5
        elif len(letters) == 1 and not word.endswith("."):
            penalty *= 0.6  # "Kleefeld-Buchholz e": a fragment, not an initial ("B.")
        elif not company and _ROMANCE_WITH_UMLAUT.search(letters):
            penalty *= 0.8  # "Löpez": OCR gives an umlaut for an acute accent (López)
        elif not company and re.search(r"[a-zäöüß][A-ZÄÖÜ]", letters) and not _mc(letters):
            penalty *= 0.6  # "wWilkens"
        elif not company and letters[0].islower() and fold(letters) not in _particles():
            penalty *= 0.9  # "wilkens": right letters, wrong case
    return penalty


# A name of Spanish, Portuguese, Italian or French shape ("-ez", "-os", "-o", "-ôme")
# read with an umlaut: German OCR models read á, ó, ô, ú as ä, ö, ü at high word
# confidence, and the umlaut spells another name (Ö is OE in a comparison, Ó is O).
_ROMANCE_WITH_UMLAUT = re.compile(r"[äöü]\w*(?:ez|es|os|as|o|a)$|[äöü][mnl]e$")


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
