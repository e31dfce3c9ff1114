"""Boxed forms and fillable PDFs: a value after its label (or below it), addresses over
several lines, the residents' table, field names of an AcroForm.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from intake.applications.documents import TextSource, Word
from intake.reading import layout
from intake.reading.classify import fold, fuzzy_find
from intake.reading.landlord.text import (
    CITY_LABELS,
    DOUBTFUL,
    FIELDS,
    FLAT_LABELS,
    LANDLORD_LABELS,
    MOVE_IN_LABELS,
    OTHER_LABELS,
    POSTAL_CITY_LABELS,
    REPAIRED,
    RESIDENT_LABELS,
    STREET_LABELS,
    Document,
    Folded,
    Label,
    Snippet,
    first_label,
    is_label_line,
    section_of,
)
from intake.reading.landlord.values import (
    _NAME_WORD,
    _PERSON_NAME,
    _POSTAL_CITY,
    _TITLES,
    Candidate,
    _clean_city,
    capital_initials,
    is_company,
    name_penalty,
    parse_address,
    parse_date,
    repair_name,
)

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
    for index in doc.following(hit.line, 2):
        candidate = doc.lines[index].text
        if is_label_line(candidate):
            return None
        if candidate.strip() and (accept(candidate) or accept(_ENUMERATION.sub("", candidate))):
            return doc.line_snippet(index)
    return None


_GENERIC_LABELS = STREET_LABELS + POSTAL_CITY_LABELS + CITY_LABELS
_LANDLORD_ADDRESS_LABELS = tuple(
    label for label in OTHER_LABELS if label.phrase.startswith(("anschrift", "sitz"))
)


def _label_hits(
    doc: Document, labels: tuple[Label, ...], sections: set[str | None]
) -> list[LabelHit]:
    """Lines carrying one of ``labels``; generic address labels only in ``sections``.

    Where the landlord's own address has a label of its own ("Anschrift des Vermieters"),
    a generic address label ("Straße, Hausnummer") names the flat wherever it stands:
    tables and label columns list the flat's fields right after the landlord's name.
    """
    hits: list[LabelHit] = []
    section: str | None = None
    own_address = any(first_label(line.text, _LANDLORD_ADDRESS_LABELS) for line in doc.lines)
    for index, line in enumerate(doc.lines):
        found = first_label(line.text, labels)
        if found is not None:
            generic = found[2] in _GENERIC_LABELS
            if not generic or section is None or section in sections or own_address:
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
        snippet, doubtful = _first_cell(doc, snippet)
        name = _name_before_address(snippet.text)
        if name and name == snippet.text.strip(" ,;:-–·|"):
            snippet = _with_wrapped(doc, snippet)
            name = snippet.text
        if name:
            candidate = _landlord_candidate(name, snippet, hit.anchor, "form label")
            if doubtful:
                candidate.penalty = min(candidate.penalty, DOUBTFUL)
            found.append(candidate)
    return found


_TITLE_CELL = re.compile(r"(?:(?:Dr|Prof|Dipl|Ing|med|jur|rer|nat)[.:\-\s]*)+", re.IGNORECASE)


def _first_cell(doc: Document, snippet: Snippet) -> tuple[Snippet, bool]:
    """The landlord's value is the first cell after the label ("Dr." and the name after
    a wide space are one cell); doubtful when a further cell beside it could be part
    of it (a name whose words OCR spaced apart) rather than another column."""
    if layout.SEPARATOR not in snippet.text:
        return snippet, False
    cells = [c for c in _SEPARATED.split(snippet.text.strip(" |")) if c]
    while len(cells) > 1 and _TITLE_CELL.fullmatch(cells[0]):
        cells[:2] = [f"{cells[0]} {cells[1]}"]
    first = cells[0]
    words = [w for w in snippet.words if w.text != layout.SEPARATOR][: len(first.split())]
    beside = cells[1] if len(cells) > 1 else ""
    doubtful = bool(_PERSON_NAME.fullmatch(beside)) and not is_label_line(beside)
    return Snippet(first, words, snippet.page, snippet.source), doubtful


_LEGAL_FORM = re.compile(
    r"(?:GmbH|mbH|eG|AG|KG|SE|e\.\s?V\.|GbR|OHG|UG)(?:\s*(?:&|und)\s*Co\.?\s*KG)?", re.IGNORECASE
)


def _with_wrapped(doc: Document, snippet: Snippet) -> Snippet:
    """A name that a narrow column wrapped onto the line below ("Lindener" /
    "Baugenossenschaft eG").

    The line under the value continues it when it starts where the value starts, at
    line pitch (by the boxes), and is a short line that is neither a label, nor part
    of an address, nor a date; without boxes, when it is a legal form alone.
    """
    index = _line_of(doc, snippet)
    following = doc.following(index, 1) if index is not None else []
    if index is None or not following:
        return snippet
    line = doc.lines[following[0]]
    text = line.text.strip(" ,.")
    if not text or is_label_line(line.text) or _has_address_part(line.text):
        return snippet
    aligned = doc.continues(index, following[0], snippet.words)
    short = len(text.split()) <= 4 and parse_date(text) is None and layout.SEPARATOR not in text
    if (aligned and short) or _LEGAL_FORM.fullmatch(text):
        joined = f"{snippet.text} {line.text.strip(' ,')}"
        return Snippet(joined, snippet.words + line.words, snippet.page, snippet.source)
    return snippet


def _line_of(doc: Document, snippet: Snippet) -> int | None:
    last = snippet.words[-1] if snippet.words else None
    for index, line in enumerate(doc.lines):
        if last is not None and any(w is last for w in line.words):
            return index
    return None


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
    repaired, changed = repair_name(name if is_company(name) else capital_initials(name))
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
            if snippet is None and labels in (FLAT_LABELS, STREET_LABELS):
                snippet = _wrapped_street(doc, hit)
            if snippet is None:
                continue
            _address_candidates(snippet, hit.anchor, labels is CITY_LABELS, found)
            following = _continuation(doc, snippet) if labels is FLAT_LABELS else None
            if labels is FLAT_LABELS and not _has_postal(snippet.text) and following:
                _address_candidates(following, hit.anchor, False, found)
    return found


def _wrapped_street(doc: Document, hit: LabelHit) -> Snippet | None:
    """A street that a narrow column wrapped before its house number
    ("Wilhelm-Busch-Straße" / "105b, 2. OG links"): the two lines under the label,
    the second starting where the first starts, at line pitch."""
    below = doc.following(hit.line, 2)
    if len(below) < 2 or any(is_label_line(doc.lines[i].text) for i in below):
        return None
    if not doc.continues(below[0], below[1]):
        return None
    first, second = (doc.line_snippet(i) for i in below)
    snippet = Snippet(
        f"{first.text} {second.text}", first.words + second.words, first.page, first.source
    )
    return snippet if _has_street(snippet.text) else None


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
            for following in doc.following(index, 2):
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
    folded = fold(city)
    if folded in ("ort", "stadt", "gemeinde", "datum"):
        return ""
    if len(folded) in (4, 5, 6) and fuzzy_find("datum", folded, 1) is not None:
        return ""  # the signature line's "Ort, Datum" misread ("Ort, Datu m"), not a city
    return city


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
            # A street read with a small initial lost its capital ("wilhelm-Busch-Straße",
            # restored where the letters' shapes are alike) or is the tail of a word OCR
            # broke apart ("Badenst | edter Straße"): not to be relied on.
            if name == "street":
                value = capital_initials(value)
            penalty = DOUBTFUL if name == "street" and value[:1].islower() else 1.0
            found[name].append(Candidate(value, [words], anchor, penalty, "form label"))


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
    merged = _merge_numbered(found)
    numbered = _numbered_people(doc)
    for candidate in merged:
        if len(candidate.value) < numbered:
            # "Person 3" is printed, but fewer names were read: the list is incomplete.
            candidate.penalty = min(candidate.penalty, DOUBTFUL)
    return merged


_PERSON_NUMBER = re.compile(r"\b(?:Person|Mieter(?:in)?|Bewohner(?:in)?)\s*(\d{1,2})\b")


def _numbered_people(doc: Document) -> int:
    """The highest "Person N" label of a grid of people (0 without one)."""
    numbers = [int(m[1]) for line in doc.lines for m in _PERSON_NUMBER.finditer(line.text)]
    return max(numbers, default=0)


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
    # A label that is a table's header row ("Nr. | Familienname | Vornamen") names the
    # roles of the cells below it and has no value of its own.
    header: list[str] | None = _table_header(text)
    pieces: list[tuple[int, Snippet]] = []
    if rest and header is None:
        pieces.append((hit.line, doc.line_snippet(hit.line, len(text) - len(rest))))
    pieces += [(i, doc.line_snippet(i)) for i in doc.following(hit.line, 9)]
    last: tuple[int, str, int] | None = None  # line, cells and count of the last names
    numbers: list[int | None] = []  # the running number of each row of names
    for index, piece in pieces:
        if last is not None and _wrapped_name_end(doc, last[0], index, piece.text):
            # "Fuß, Lukas Florian" / "Uwe": the rest of a name a narrow column wrapped
            joined = f"{last[1]} {piece.text.strip()}"
            again = _names_in(joined, surname_first)
            if len(again) == last[2]:
                names[len(names) - last[2] :] = again
                snippets.append(_words_for(piece, piece.text.strip()))
                last = (index, joined, last[2])
                continue
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
            parsed = [_given_first(_SEPARATED.sub(" ", cells), surname_first)]
            garbled.append(parsed[0])
        if not parsed:
            if names:
                break
            continue
        names += parsed
        snippets.append(_name_words(piece, cells, parsed))
        last = (index, cells, len(parsed))
        number = _ROW_NUMBER.match(piece.text)
        numbers.append(int(number[1]) if number else None)
    if any(n is not None and n != row for row, n in enumerate(numbers, 1)):
        # Rows numbered 2, 3 or 1, 3 (a number OCR did not read is no evidence): a row
        # of the list was not read.
        garbled.append("numbering")
    return names, snippets, garbled


_ROW_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.):]*\s*(?:\||\s)")


def _name_words(piece: Snippet, cells: str, names: list[str]) -> Snippet:
    """The words of a row that spell its names: not the running number, the birth
    date or the table's rules that OCR read as "|" (their confidence is not the names')."""
    tokens = {token for name in names for token in name.split()}
    words = [w for w in piece.words if w.text.strip(",;:.") in tokens]
    return Snippet(cells, words or piece.words, piece.page, piece.source)


def _wrapped_name_end(doc: Document, above: int, index: int, text: str) -> bool:
    """A line of one name word right under a name, starting where it starts."""
    word = text.strip(" ,")
    if not re.fullmatch(_NAME_WORD, word) or _has_label_word(word) or len(word) < 2:
        return False
    return doc.continues(above, index)


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
    if _has_label_word(text) or sum(w.islower() and len(w) > 3 for w in words) >= 2:
        return False  # a label or a sentence, not a name
    return "," in text or sum(w[:1].isupper() for w in words) >= 2


# A running number in a cell of its own, as OCR may read it ("1.", "1...", "ı.").
_NUMBER_CELL = re.compile(r"^\s*(?:\d{1,2}\s*[.):]*|[ıIl]\s*[.):]+)\s*\|\s*")


def _without_other_columns(text: str) -> str:
    """A name row without the cells around the name (running number, birth date,
    "geb. ...")."""
    text = _NUMBER_CELL.sub("", text)
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
        part = capital_initials(_TITLES.sub("", _ENUMERATION.sub("", part).strip(" .,:")))
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
