"""Reading the visual zone: labels (``Name / Surname``, ``Geburtstag / Date of birth``
...) anchor the values printed below them; printed dates, the German card number and the
nationality.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageOps

from intake.applications.documents import (
    Box,
    PageText,
)
from intake.reading import ocr
from intake.reading.classify import fuzzy_find
from intake.reading.identity.find import (
    _GLYPH_HEIGHT,
    _binarise,
    _Row,
    _scaled,
    _union_all,
    visual_rows,
)
from intake.reading.mrz import (
    ICAO_CODES,
    clean_line,
)

# ----------------------------------------------------------------- visual zone


def _fold(text: str) -> str:
    """Lower case without accents: the form labels are matched in."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fuzzy_find(key: str, text: str) -> tuple[int, int, int]:
    """(errors, start, end) of the best approximate occurrence of ``key`` in ``text``.

    Sellers' algorithm: edit distance of ``key`` to the best-matching substring.
    """
    # Distance and start per text position, as two lists; of equally good
    # alignments the one starting first is kept.
    distances = [0] * (len(text) + 1)
    starts = list(range(len(text) + 1))
    for i, kc in enumerate(key, 1):
        current_d, current_s = [i], [0]
        left_d, left_s = i, 0
        for j, tc in enumerate(text, 1):
            d, s = distances[j - 1] + (kc != tc), starts[j - 1]
            up_d, up_s = distances[j] + 1, starts[j]
            if up_d < d or (up_d == d and up_s < s):
                d, s = up_d, up_s
            left_d += 1
            if left_d < d or (left_d == d and left_s < s):
                d, s = left_d, left_s
            current_d.append(d)
            current_s.append(s)
            left_d, left_s = d, s
        distances, starts = current_d, current_s
    best_end = min(range(len(text) + 1), key=distances.__getitem__)
    return distances[best_end], starts[best_end], best_end


# Labels of the visual zone: German identity cards and passports print them in
# German, English and French; ICAO passports at least in English and French.
_LABELS: dict[str, tuple[str, ...]] = {
    "surname": ("name / surname", "surname / nom"),
    "birth_name": ("name at birth", "geburtsname"),
    "given_names": ("given names", "vornamen"),
    "birth_date": ("date of birth", "geburtstag"),
    "birth_place": ("place of birth", "geburtsort"),
    "nationality": ("nationality", "staatsangehorigkeit"),
    "expiry_date": ("date of expiry", "gultig bis"),
    "issue_date": ("date of issue", "ausstellungsdatum"),
    "passport_number": ("passport no.", "type / code"),
    "sex": ("sex / sexe",),
    "authority": ("authority", "behorde"),
    "address": ("address", "anschrift"),
    "eyes": ("colour of eyes", "augenfarbe"),
    "height": ("height", "grosse"),
}


@dataclass(slots=True)
class _Label:
    name: str
    row: int
    x0: int
    x1: int  # where the next label on the same row begins (or the page edge)


def _labels_in_row(row: _Row, index: int, page_width: int) -> list[_Label]:
    """The labels printed on one row, left to right.

    Every label key is searched approximately (OCR garbles small print); where
    matches overlap, the one with the fewest errors per character wins.
    """
    text = _fold(row.text)
    starts = []  # character offset of each word in ``text``
    offset = 0
    for word in row.words:
        starts.append(offset)
        offset += len(_fold(word.text)) + 1
    matches: list[tuple[float, int, int, str]] = []
    for name, keys in _LABELS.items():
        for key in keys:
            if fuzzy_find(key, text, len(key) // 5) is None:
                continue  # the same distance, found fast: too far off to be this label
            errors, start, end = _fuzzy_find(key, text)
            if errors <= len(key) // 5 and end - start >= len(key) - errors:
                matches.append((errors / len(key), start, end, name))
    taken: list[tuple[int, int, str]] = []
    for _, start, end, name in sorted(matches):
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, name))
    taken.sort()
    labels: list[_Label] = []
    for position, (start, _, name) in enumerate(taken):
        first = max(i for i, s in enumerate(starts) if s <= start)
        x1 = page_width
        if position + 1 < len(taken):
            following = max(i for i, s in enumerate(starts) if s <= taken[position + 1][0])
            if following != first:
                x1 = row.words[following].box[0]
        if labels and labels[-1].name == name:  # the same label in a second language
            labels[-1].x1 = x1
        else:
            labels.append(_Label(name, index, row.words[first].box[0], x1))
    return labels


def _is_label_row(row: _Row) -> bool:
    return bool(_labels_in_row(row, 0, 1))


@dataclass(slots=True)
class _Found:
    """A value read in the visual zone, with where it was read and how well."""

    text: str
    confidence: float
    box: Box


def _value_below(rows: Sequence[_Row], label: _Label) -> _Found | None:
    """The words printed below a label, within the label's column."""
    label_row = rows[label.row]
    tolerance = 4 * label_row.height
    for row in rows[label.row + 1 : label.row + 3]:
        if row.box[1] - label_row.box[3] > 3 * max(label_row.height, row.height):
            return None
        words = [
            w for w in row.words if label.x0 - tolerance <= w.box[0] and w.box[0] < label.x1 - 4
        ]
        if not words:
            continue
        if _is_label_row(_Row(words)):
            return None  # the value is missing: the next label follows directly
        confidence = min(w.confidence for w in words)
        text = " ".join(w.text for w in words)
        return _Found(text, confidence, _union_all([w.box for w in words]))
    return None


def _labelled_values(rows: Sequence[_Row], page_width: int) -> dict[str, _Found]:
    values: dict[str, _Found] = {}
    for index, row in enumerate(rows):
        for label in _labels_in_row(row, index, page_width):
            if label.name in values:
                continue
            found = _value_below(rows, label)
            if found is not None:
                values[label.name] = found
    return values


_NAME_CHARS = re.compile(r"[^\w\s'\-‐’]", re.UNICODE)


def _clean_name(text: str) -> str:
    """A printed name without OCR debris (punctuation, digits, stray marks)."""
    words = [w for w in _NAME_CHARS.sub(" ", text).split() if any(c.isalpha() for c in w)]
    words = ["".join(c for c in w if not c.isdigit() and c != "_") for w in words]
    return " ".join(w.strip("-'") for w in words if len(w.strip("-'")) >= 1)


_MONTHS = {
    "JAN": 1, "FEB": 2, "FEV": 2, "MAR": 3, "MRZ": 3, "APR": 4, "AVR": 4, "MAY": 5, "MAI": 5,
    "JUN": 6, "JUIN": 6, "JUL": 7, "JUIL": 7, "AUG": 8, "AOU": 8, "SEP": 9, "OCT": 10,
    "OKT": 10, "NOV": 11, "DEC": 12, "DEZ": 12,
}  # fmt: skip
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})\s?[.,:/-]\s?(\d{1,2})\s?[.,:/-]\s?(\d{4})(?!\d)")
# ``05 SEP 1997``, and bilingual ``12 MAI/MAY 1984`` as many passports print them.
_NAMED_DATE = re.compile(
    r"(?<!\d)(\d{1,2})\s+([A-Z]{3,4})\w*(?:\s?/\s?[A-Z]{3,4}\w*)?\s+(\d{4})(?!\d)"
)


def parse_printed_date(text: str) -> date | None:
    """A date as printed in a visual zone: ``17.02.1974`` or ``05 SEP 1997``."""
    upper = _fold(text).upper()
    for match in _NUMERIC_DATE.finditer(upper):
        day, month, year = (int(g) for g in match.groups())
        with contextlib.suppress(ValueError):
            return date(year, month, day)
    for match in _NAMED_DATE.finditer(upper):
        named = _MONTHS.get(match.group(2)) or _MONTHS.get(match.group(2)[:3])
        if named is not None:
            with contextlib.suppress(ValueError):
                return date(int(match.group(3)), named, int(match.group(1)))
    return None


_GERMAN_SERIAL = re.compile(r"^[CFGHJKLMNPRTVWXYZ0-9]{9}$")
_SERIAL_LOOKALIKES = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "S": "5", "B": "8",
                                    "A": "4", "U": "0"})  # fmt: skip
SERIAL_ALPHABET = "CFGHJKLMNPRTVWXYZ0123456789"


def _serial_runs(row: _Row) -> list[tuple[str, str, float, Box]]:
    """(text as read, text in the card alphabet, confidence, box) of every run of one to
    three adjacent words of a row that could be a nine-character card number: OCR
    often splits the widely spaced print of the number into two words."""
    runs = []
    for start in range(len(row.words)):
        for count in (1, 2, 3):
            words = row.words[start : start + count]
            if len(words) < count:
                break
            read = "".join(clean_line(w.text) for w in words)
            text = read.translate(_SERIAL_LOOKALIKES)
            if _GERMAN_SERIAL.match(text):
                confidence = min(w.confidence for w in words)
                runs.append((read, text, confidence, _union_all([w.box for w in words])))
    return runs


def _german_serial(rows: Sequence[_Row], before_row: int) -> _Found | None:
    """The serial number printed top right on a German identity card.

    It uses digits and the consonants of the BSI alphabet only, so a nine
    character word (or run of words) of those is it; letters it never contains
    are read as the digits they resemble.
    """
    candidates: list[_Found] = []
    for row in rows[: max(before_row, 0) + 1]:
        for read, text, confidence, box in _serial_runs(row):
            candidates.append(_Found(text, confidence * (0.9 if text != read else 1.0), box))
    return max(candidates, key=lambda f: f.box[2], default=None)


def _serial_region(rows: Sequence[_Row], before_row: int) -> Box | None:
    """Where the card number stands when the page OCR did not read it as one: the
    rightmost word of the rows above the first label, with the short words just left
    of it that the wide spacing of the print split off."""
    words = [w for row in rows[: max(before_row, 0)] for w in row.words if clean_line(w.text)]
    if not words:
        return None
    rightmost = max(words, key=lambda w: w.box[2])
    height = rightmost.box[3] - rightmost.box[1]
    line = sorted(
        (w for w in words if abs(w.box[1] - rightmost.box[1]) < height), key=lambda w: w.box[0]
    )
    chosen = [rightmost]
    chars = len(clean_line(rightmost.text))
    for word in reversed(line[: line.index(rightmost)]):
        length = len(clean_line(word.text))
        if chosen[0].box[0] - word.box[2] > 1.2 * height or chars + length > 10:
            break
        chosen.insert(0, word)
        chars += length
    return _union_all([w.box for w in chosen]) if 6 <= chars <= 11 else None


def reread_serial(image: Image.Image, box: Box, timeout: float = 30.0) -> _Found | None:
    """Read the card number again from its cut-out, in the card alphabet only.

    The page OCR reads the small monospaced print with the letters of ordinary
    text (``E`` for ``C``, ``I`` for ``L``); one line read with the alphabet as
    whitelist leaves tesseract only the characters the number can hold.
    """
    height = box[3] - box[1]
    margin = max(4, height // 2)
    crop = image.crop((max(0, box[0] - 2 * margin), max(0, box[1] - margin),
                       min(image.width, box[2] + 2 * margin),
                       min(image.height, box[3] + margin)))  # fmt: skip
    # As the MRZ glyphs: a fixed glyph height, ink by local contrast (the number is
    # printed in colour on a tinted, patterned background).
    gray = _scaled(ImageOps.grayscale(crop), _GLYPH_HEIGHT / max(1, height))
    binary = _binarise(gray, _GLYPH_HEIGHT)
    page = ocr.run_tesseract(binary, lang="eng", psm=7, whitelist=SERIAL_ALPHABET, timeout=timeout)
    text = "".join(clean_line(w.text) for w in page.words)
    if not _GERMAN_SERIAL.match(text) or not page.words:
        return None
    return _Found(text, min(w.confidence for w in page.words), box)


def _passport_code_and_number(found: _Found) -> tuple[_Found | None, _Found | None]:
    """Issuing code and number from the value row of ``Type / Code / Passport No.``."""
    tokens = found.text.split()
    number = next((t for t in reversed(tokens) if len(clean_line(t)) >= 6), None)
    code = next((t for t in tokens if len(t) == 3 and t.isalpha() and t.isupper()), None)

    def as_found(token: str | None) -> _Found | None:
        return None if token is None else _Found(clean_line(token), found.confidence, found.box)

    return as_found(code), as_found(number)


def _nationality(found: _Found) -> _Found | None:
    """``DEUTSCH`` (German cards print the adjective) is the MRZ code ``D``."""
    errors, _, _ = _fuzzy_find("deutsch", _fold(found.text))
    if errors <= 1:
        return _Found("D", found.confidence, found.box)
    code = clean_line(found.text)
    if len(code) == 3 and code in ICAO_CODES:
        return _Found(code, found.confidence, found.box)
    return None


def read_visual_zone(page: PageText) -> dict[str, _Found]:
    """The identity fields printed in the visual zone of one page, as far as labelled."""
    rows = visual_rows(page)
    labelled = _labelled_values(rows, page.width)
    viz: dict[str, _Found] = {}
    for name in ("surname", "given_names"):
        if name in labelled and _clean_name(labelled[name].text):
            found = labelled[name]
            viz[name] = _Found(_clean_name(found.text), found.confidence, found.box)
    for name in ("birth_date", "expiry_date"):
        if name in labelled:
            parsed = parse_printed_date(labelled[name].text)
            if parsed is not None:
                found = labelled[name]
                viz[name] = _Found(parsed.isoformat(), found.confidence, found.box)
    if "nationality" in labelled:
        nationality = _nationality(labelled["nationality"])
        if nationality is not None:
            viz["nationality"] = nationality
    if "passport_number" in labelled:
        code, number = _passport_code_and_number(labelled["passport_number"])
        if number is not None:
            viz["document_number"] = number
        if code is not None and "nationality" not in viz:
            viz["nationality"] = _Found(code.text, code.confidence * 0.9, code.box)
    else:
        first_label = min((i for i, r in enumerate(rows) if _is_label_row(r)), default=2)
        serial = _german_serial(rows, first_label)
        if serial is not None:
            viz["document_number"] = serial
    return viz
