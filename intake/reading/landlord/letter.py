"""Free-text letters: the phrases that name the residents, the move-in date and the
flat, the letterhead and the signature as the landlord.
"""

from __future__ import annotations

import re

from intake.reading.classify import fold, fuzzy_find
from intake.reading.landlord.form import _landlord_candidate, _plausible_landlord
from intake.reading.landlord.text import LETTER_PHRASE, Document, Folded, Snippet, is_label_line
from intake.reading.landlord.values import (
    _PERSON_NAME,
    _TITLES,
    Candidate,
    name_penalty,
    parse_address,
    parse_date,
)

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
# What is left of a letter's own date line ("Hannover, den 12.10.2026") without its date.
_PLACE_DATE_LINE = re.compile(
    r"^\s*(?:[A-ZÄÖÜ][\w\-.]*(?:\s+[\w\-.]+){0,2}\s*,\s*)?(?:den\s*)?[\s.,]*$"
)
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
        anchor = LETTER_PHRASE if re.search(r"\b(?:am|zum|ab|seit|vom|dem)\s*$", before) else 0.85
        snippet = doc.snippet(match.start(), match.end())
        found.append(Candidate(parsed[0], [snippet], anchor, 1.0, f"letter date {distance}"))
    found.sort(key=lambda c: int(c.origin.rsplit(" ", 1)[1]))
    return found[:1]


def _on_place_date_line(doc: Document, position: int) -> bool:
    """A letter's own date ("Hannover, 12.10.2026") or a form's "Ort, Datum" line."""
    line_start = doc.flow.rfind("\n", 0, position) + 1
    line_end = doc.flow.find("\n", position)
    line = doc.flow[line_start : line_end if line_end >= 0 else len(doc.flow)]
    without_date = _DATE_ANY.sub("", line)
    return bool(_PLACE_DATE_LINE.match(without_date)) or "datum" in fold(line)


def letter_address(doc: Document) -> dict[str, list[Candidate]]:
    found: dict[str, list[Candidate]] = {
        k: [] for k in ("street", "house_number", "postal_code", "city")
    }
    for phrase in _FLAT_PHRASE.finditer(doc.flow):
        start = phrase.end()
        window = doc.flow[start : start + 160].replace("\n", " ")  # a street over two lines
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
