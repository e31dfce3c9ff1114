"""Identity cards and passports: the machine-readable zone and the visual zone.

:func:`read_identity` is called by :mod:`intake.reading.reader` for documents classified
as ``id_card`` or ``passport``. It returns the six identity fields of CONTRACTS
§1 and the MRZ it read.

Reading the MRZ. Stock tesseract models read the OCR-B zone poorly, mostly
because of its wide letter spacing and the long runs of ``<`` fillers. The zone
is therefore located from the page OCR (lines of ``[A-Z0-9<]`` with fillers),
cut out, straightened and cut into its character cells by projection profiles
(the font is monospaced); the fillers are recognised by their shape, and only
the remaining glyphs are OCRed, packed tightly into short lines as ordinary
text is. The known cell layout aligns every OCR answer to its column; a first
reading that verifies completely is taken, else several readings vote per cell,
glyphs in doubt are compared with the zone's own glyphs of known identity
(digits under a passing check digit, letters of the name), and :mod:`intake.reading.mrz`
repairs look-alikes with field semantics and check digits. A page read upside
down (fillers read as ``>``) is turned and read again.

Reading the visual zone. Labels (``Name / Surname``, ``Geburtstag / Date of
birth`` ...) anchor the values printed below them in the page OCR; values that
the MRZ confirms get high confidence, values that contradict it are reported in
a ``mrz_viz_mismatch`` field so that the case goes to a clerk.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageChops, ImageFilter, ImageOps

from intake.applications.documents import (
    PRINTED_NUMBER,
    Box,
    FieldValue,
    MRZResult,
    PageText,
    TextSource,
    Word,
)
from intake.reading import ocr
from intake.reading.classify import fuzzy_find
from intake.reading.mrz import (
    FILLER,
    ICAO_CODES,
    LAYOUTS,
    Repair,
    check_cells,
    clean_line,
    evaluate_checks,
    repair_mrz,
    semantic_char,
)
from intake.reading.names import icao_transliterate

logger = logging.getLogger(__name__)

MRZ_WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
_GLYPH_HEIGHT = 48  # pixels; crops are scaled so that MRZ glyphs have this height
# OCR passes over the glyph sheet: (tesseract model, longest sheet line, scale), in
# stages. A stage runs only while the zone is not verified: the first pass alone
# must verify completely (see _verified), later stages need every check digit.
_MRZ_STAGES = (
    (("eng", 8, 1.0),),
    (("deu", 12, 1.0),),
    (("eng", 5, 0.75), ("deu", 6, 1.25)),
)


# ----------------------------------------------------------------- image helpers


def _otsu_threshold(gray: Image.Image) -> int:
    """Grey level that best separates ink from paper (Otsu's method)."""
    histogram = gray.histogram()[:256]
    total = sum(histogram) or 1
    sum_all = sum(i * n for i, n in enumerate(histogram))
    weight_bg = 0
    sum_bg = 0.0
    best, threshold = -1.0, 128
    for level, count in enumerate(histogram):
        weight_bg += count
        if weight_bg == 0:
            continue
        weight_fg = total - weight_bg
        if weight_fg == 0:
            break
        sum_bg += level * count
        mean_bg = sum_bg / weight_bg
        mean_fg = (sum_all - sum_bg) / weight_fg
        between = weight_bg * weight_fg * (mean_bg - mean_fg) ** 2
        if between > best:
            best, threshold = between, level
    return threshold


def _binarise(gray: Image.Image, radius: int) -> Image.Image:
    """Black ink (0) on white paper (255), by contrast with the local surroundings.

    A global threshold turns a dark table or shadow around a photographed card
    into ink; comparing each pixel with the mean of its neighbourhood (about a
    glyph wide) keeps only marks that are darker than what surrounds them.
    """
    surroundings = gray.filter(ImageFilter.BoxBlur(radius))
    darker = ImageChops.subtract(surroundings, gray)
    threshold = max(_otsu_threshold(darker), 20)
    return darker.point(lambda v: 0 if v > threshold else 255)


def _row_profile(binary: Image.Image) -> list[int]:
    """Ink per pixel row, 0..255 (share of the row that is ink)."""
    inverted = ImageChops.invert(binary)
    return list(inverted.resize((1, binary.height), Image.Resampling.BOX).tobytes())


def _column_profile(binary: Image.Image) -> list[int]:
    inverted = ImageChops.invert(binary)
    return list(inverted.resize((binary.width, 1), Image.Resampling.BOX).tobytes())


def _runs(profile: Sequence[int], minimum: int) -> list[tuple[int, int]]:
    """Maximal index ranges whose values are at least ``minimum`` (end exclusive)."""
    found: list[tuple[int, int]] = []
    start: int | None = None
    for index, value in enumerate(profile):
        if value >= minimum and start is None:
            start = index
        elif value < minimum and start is not None:
            found.append((start, index))
            start = None
    if start is not None:
        found.append((start, len(profile)))
    return found


def _ink_box(binary: Image.Image, box: Box) -> Box | None:
    """The tight box around the ink inside ``box``."""
    inner = ImageChops.invert(binary.crop(box)).getbbox()
    if inner is None:
        return None
    return (box[0] + inner[0], box[1] + inner[1], box[0] + inner[2], box[1] + inner[3])


def _scaled(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


# ----------------------------------------------------------------- MRZ cells

Cell = tuple[int, int]  # MRZ line, column


@dataclass(slots=True)
class _Glyph:
    box: Box  # in the binarised crop
    filler: bool


@dataclass(slots=True)
class _MrzCells:
    """The MRZ cut into character cells: per line, a glyph or None per column."""

    binary: Image.Image
    rows: list[list[_Glyph | None]]
    bands: list[tuple[int, int]]  # vertical extent of each line in ``binary``
    glyph_height: int


def _is_filler(binary: Image.Image, box: Box) -> bool:
    """Whether a glyph has the shape of ``<``: a point on the left, two arms on the right.

    Checked on the outer fifths of the glyph: on the left the ink is a short
    run around mid-height, on the right two separate runs near top and bottom.
    No letter or digit of OCR-B (or any common font) has both.
    """
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    if width < 3 or height < 6:
        return False
    edge = max(1, width // 5)
    left = [i for i, v in enumerate(_row_profile(binary.crop((x0, y0, x0 + edge, y1)))) if v]
    right = _runs(_row_profile(binary.crop((x1 - edge, y0, x1, y1))), 1)
    if not left or len(right) != 2:
        return False
    extent = (left[-1] - left[0] + 1) / height
    middle = (left[0] + left[-1]) / 2 / height
    return (
        extent < 0.45
        and 0.3 < middle < 0.7
        and right[0][0] < 0.25 * height
        and right[1][1] > 0.75 * height
    )


def _glyph_boxes(binary: Image.Image, band: tuple[int, int]) -> list[Box]:
    """Ink boxes of the glyphs of one text line, left to right, specks dropped."""
    top, bottom = band
    strip = binary.crop((0, top, binary.width, bottom))
    height = bottom - top
    boxes: list[Box] = []
    for x0, x1 in _runs(_column_profile(strip), 2):
        box = _ink_box(binary, (x0, top, x1, bottom))
        if box is None:
            continue
        if box[3] - box[1] < 0.3 * height and box[2] - box[0] < 0.3 * height:
            continue  # dust, not a glyph
        boxes.append(box)
    return boxes


def _on_grid(boxes: list[Box]) -> list[Box | None]:
    """Place glyph boxes on the fixed pitch of a monospaced line.

    Touching glyphs (one box spanning several pitches) are split evenly,
    fragments of one glyph merged, and columns without ink left empty.
    """
    if len(boxes) < 2:
        return list(boxes)
    centres = [(b[0] + b[2]) / 2 for b in boxes]
    pitch = statistics.median(b - a for a, b in zip(centres, centres[1:], strict=False))
    if pitch <= 0:
        return list(boxes)
    split: list[Box] = []
    for box in boxes:
        count = max(1, round((box[2] - box[0]) / pitch))
        step = (box[2] - box[0]) / count
        split += [
            (round(box[0] + i * step), box[1], round(box[0] + (i + 1) * step), box[3])
            for i in range(count)
        ]
    # Columns are counted step by step from the previous glyph, not from the first
    # one: a card photographed at an angle has a pitch that drifts along the line.
    cells: dict[int, Box] = {0: split[0]}
    index, previous = 0, (split[0][0] + split[0][2]) / 2
    for box in split[1:]:
        centre = (box[0] + box[2]) / 2
        steps = round((centre - previous) / pitch)
        if steps == 0:  # a fragment of the glyph before
            cells[index] = _union(cells[index], box)
            continue
        index += steps
        cells[index], previous = box, centre
    return [cells.get(i) for i in range(index + 1)]


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _without_edges(binary: Image.Image) -> Image.Image:
    """The binarised crop with columns blanked that are ink in most rows.

    A crop around the MRZ of a photographed card often takes in the card's edge
    or the table beside it: a dark stripe from top to bottom that puts ink into
    every row, so that the row profile shows one band instead of the text lines.
    No column of text is ink in most rows (three lines of glyphs with gaps between).
    """
    ink = np.asarray(binary) == 0
    edges = ink.mean(axis=0) > _EDGE_COLUMN_INK
    if not edges.any():
        return binary
    cleaned = np.asarray(binary).copy()
    cleaned[:, edges] = 255
    return Image.fromarray(cleaned)


_EDGE_COLUMN_INK = 0.7


def _text_bands(binary: Image.Image, min_height: int) -> list[tuple[int, int]]:
    bands = _bands(binary, min_height)
    if len(bands) < 2:  # an MRZ has two or three lines: an edge may have merged them
        bands = _bands(_without_edges(binary), min_height)
    return bands


def _bands(binary: Image.Image, min_height: int) -> list[tuple[int, int]]:
    profile = _row_profile(binary)
    peak = max(profile, default=0)
    if peak == 0:
        return []
    bands = _runs(profile, max(3, round(peak * 0.12)))
    return [band for band in bands if band[1] - band[0] >= min_height]


def _measured_glyph_height(gray: Image.Image, line_height: float) -> float:
    """The height of the MRZ glyphs, measured on the straightened crop.

    OCR word boxes of a skewed line are taller than its glyphs, so the estimate
    they give only sizes the measuring; the text bands then tell the height.
    """
    binary = _binarise(gray, max(8, round(line_height)))
    heights = [b - a for a, b in _text_bands(binary, max(3, round(line_height * 0.25)))]
    return float(statistics.median(heights)) if heights else max(line_height, 1.0)


def segment_mrz(crop: Image.Image, line_height: float) -> _MrzCells | None:
    """Cut a greyscale crop around an MRZ into lines and character cells.

    ``line_height`` is the approximate glyph height in the crop, in pixels.
    """
    gray = ImageOps.grayscale(crop)
    angle = ocr.estimate_skew(gray)
    if abs(angle) >= 0.2:
        gray = gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    glyph_height = _measured_glyph_height(gray, line_height)
    gray = _scaled(gray, _GLYPH_HEIGHT / glyph_height)
    binary = _binarise(gray, _GLYPH_HEIGHT)
    rows: list[list[_Glyph | None]] = []
    bands: list[tuple[int, int]] = []
    for band in _text_bands(binary, _GLYPH_HEIGHT // 2):
        cells = _on_grid(_glyph_boxes(binary, band))
        if len(cells) < 20:
            continue  # a line of the visual zone, not of the MRZ
        rows.append([None if b is None else _Glyph(b, _is_filler(binary, b)) for b in cells])
        bands.append(band)
    if not rows:
        return None
    rows, bands = rows[-3:], bands[-3:]
    length = 30 if len(rows) == 3 else 44 if statistics.mean(map(len, rows)) >= 40 else 36
    rows = [_trim_row(row, length) for row in rows]
    segmented = _MrzCells(binary=binary, rows=rows, bands=bands, glyph_height=_GLYPH_HEIGHT)
    _find_more_fillers(segmented)
    return segmented


def _find_more_fillers(cells: _MrzCells) -> None:
    """Mark glyphs that look like the zone's many fillers, where the shape test missed them.

    A zone has a dozen or more fillers; a glyph that matches them as closely as
    they match each other is one too (noise or a touching neighbour can spoil
    the shape test for a single glyph).
    """
    glyphs = [g for row in cells.rows for g in row if g is not None]
    fillers = [g for g in glyphs if g.filler]
    if len(fillers) < 6:
        return
    size = (
        max(g.box[2] - g.box[0] for g in glyphs) + 6,
        max(g.box[3] - g.box[1] for g in glyphs) + 6,
    )
    samples = [_glyph_image(cells, g.box, size) for g in fillers[:: max(1, len(fillers) // 5)]]
    spread = statistics.median(
        _glyph_distance(a, b) for i, a in enumerate(samples) for b in samples[i + 1 :]
    )
    for glyph in glyphs:
        if glyph.filler:
            continue
        image = _glyph_image(cells, glyph.box, size)
        if min(_glyph_distance(image, sample) for sample in samples) <= 1.5 * spread + 0.01:
            glyph.filler = True


def _trim_row(row: list[_Glyph | None], length: int) -> list[_Glyph | None]:
    """Drop marks beyond the ends of an MRZ line (a card edge, a shadow) set apart by a gap."""
    row = list(row)
    while len(row) > length and (row[0] is None or row[1] is None):
        row.pop(0)
    while len(row) > length and (row[-1] is None or row[-2] is None):
        row.pop()
    return row


# ----------------------------------------------------------------- MRZ reading


@dataclass(slots=True)
class _Token:
    """A run of non-filler glyphs of one MRZ line, set as one line of the reading sheet."""

    line: int  # MRZ line
    columns: list[int]


@dataclass(slots=True)
class _Sheet:
    image: Image.Image
    tokens: list[_Token]  # token i is sheet line i
    line_pitch: int


def _tokens(cells: _MrzCells, chunk: int) -> list[_Token]:
    """Runs of non-filler glyphs, cut after ``chunk`` glyphs."""
    tokens: list[_Token] = []
    for index, row in enumerate(cells.rows):
        current: _Token | None = None
        for column, glyph in enumerate(row):
            if glyph is None or glyph.filler:
                current = None
                continue
            if current is None or len(current.columns) >= chunk:
                current = _Token(index, [])
                tokens.append(current)
            current.columns.append(column)
    return tokens


def _compose_sheet(cells: _MrzCells, chunk: int) -> _Sheet:
    """Set the non-filler glyphs as short lines of tightly packed text.

    OCR models are trained on ordinary text; widely spaced glyphs and long
    filler runs are what they misread, so the sheet shows neither. Every run of
    glyphs between fillers, cut after ``chunk`` glyphs, becomes a line of its
    own: an OCR slip (a doubled or lost character) then spoils one short line,
    and each answer line maps to its cells without any guessing.
    """
    height = cells.glyph_height
    gap, pitch = round(height * 0.15), round(height * 1.8)
    tokens = _tokens(cells, chunk)
    width = (chunk + 2) * (height + gap) + 2 * height
    sheet = Image.new("L", (width, pitch * (len(tokens) + 1)), 255)
    for number, token in enumerate(tokens):
        x = height
        band = cells.bands[token.line]
        for column in token.columns:
            glyph = cells.rows[token.line][column]
            assert glyph is not None
            top = pitch // 2 + number * pitch + glyph.box[1] - band[0]
            sheet.paste(cells.binary.crop(glyph.box), (x, top))
            x += glyph.box[2] - glyph.box[0] + gap
    return _Sheet(sheet, tokens, pitch)


def _align_reading(sheet: _Sheet, page: PageText) -> dict[Cell, str]:
    """Characters of one OCR pass over the sheet, by MRZ cell.

    A sheet line's characters are assigned only when OCR read exactly as many
    characters as the line has glyphs; anything else would shift characters
    into the wrong columns.
    """
    texts = ["" for _ in sheet.tokens]
    for word in sorted(page.words, key=lambda w: w.box[0]):
        number = round(((word.box[1] + word.box[3]) / 2 - sheet.line_pitch) / sheet.line_pitch)
        if 0 <= number < len(texts):
            texts[number] += clean_line(word.text).replace(FILLER, "")
    assigned: dict[Cell, str] = {}
    for token, text in zip(sheet.tokens, texts, strict=True):
        if len(text) == len(token.columns):
            assigned.update(
                {(token.line, c): ch for c, ch in zip(token.columns, text, strict=True)}
            )
    return assigned


@dataclass(slots=True)
class _CellVotes:
    """What the OCR passes read in every MRZ cell."""

    cells: _MrzCells
    votes: dict[Cell, Counter[str]] = field(default_factory=dict)
    passes: int = 0

    def add(self, reading: dict[Cell, str]) -> None:
        self.passes += 1
        for cell, char in reading.items():
            self.votes.setdefault(cell, Counter())[char] += 1


def read_mrz_cells(
    cells: _MrzCells,
    votes: _CellVotes,
    passes: Sequence[tuple[str, int, float]],
    *,
    timeout: float = 30.0,
) -> None:
    """OCR the glyphs of a segmented MRZ in several passes, adding votes per cell.

    The passes differ in model, scale and where long runs are cut into lines,
    so that their slips fall on different cells.
    """
    for lang, chunk, scale in passes:
        sheet = _compose_sheet(cells, chunk)
        image = sheet.image if scale == 1.0 else _scaled(sheet.image, scale)
        page = ocr.run_tesseract(image, lang=lang, psm=6, whitelist=MRZ_WHITELIST, timeout=timeout)
        if scale != 1.0:
            page.words = [w for w in _unscaled_words(page.words, scale)]
        votes.add(_align_reading(sheet, page))


def _unscaled_words(words: Sequence[Word], scale: float) -> list[Word]:
    def back(v: int) -> int:
        return round(v / scale)

    return [
        Word(
            w.text,
            w.confidence,
            (back(w.box[0]), back(w.box[1]), back(w.box[2]), back(w.box[3])),
            w.line,
        )
        for w in words
    ]


def _vote_lines(votes: _CellVotes, fmt: str) -> tuple[list[str], dict[Cell, str], set[Cell]]:
    """The most voted character per cell, the other candidates, and the unread cells.

    Votes are first mapped through the column's field semantics (a letter read
    in a date column counts as its look-alike digit), so that passes which
    differ only by a look-alike agree. Cells without a glyph count as fillers
    when they sit among fillers, otherwise as unread.
    """
    kinds = LAYOUTS[fmt].kinds
    lines: list[str] = []
    alternatives: dict[Cell, str] = {}
    unread: set[Cell] = set()
    for index, row in enumerate(votes.cells.rows):
        chars: list[str] = []
        for column, glyph in enumerate(row):
            cell = (index, column)
            if glyph is None or glyph.filler:
                chars.append(FILLER)
                if glyph is None and not _among_fillers(row, column):
                    unread.add(cell)
                continue
            kind = (
                kinds[index][column] if index < len(kinds) and column < len(kinds[index]) else "X"
            )
            counted: Counter[str] = Counter()
            for char, count in votes.votes.get(cell, Counter()).items():
                counted[semantic_char(char, kind)] += count
            if not counted:
                chars.append(FILLER)
                unread.add(cell)
                continue
            ranked = [char for char, _ in counted.most_common()]
            chars.append(ranked[0])
            if len(ranked) > 1:
                alternatives[cell] = "".join(ranked[1:])
        lines.append("".join(chars))
    return lines, alternatives, unread


def _among_fillers(row: Sequence[_Glyph | None], column: int) -> bool:
    def filler_or_gap(index: int) -> bool:
        if index < 0 or index >= len(row):
            return True
        glyph = row[index]
        return glyph is None or glyph.filler

    return filler_or_gap(column - 1) and filler_or_gap(column + 1)


# ----------------------------------------------------------------- locating the MRZ


@dataclass(slots=True)
class _Row:
    """Words of a page that sit on one visual text line."""

    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> Box:
        return _union_all([w.box for w in self.words])

    @property
    def height(self) -> int:
        return int(statistics.median(w.box[3] - w.box[1] for w in self.words))


def _union_all(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def visual_rows(page: PageText) -> list[_Row]:
    """The page's words grouped into visual lines (two columns side by side share a row)."""
    rows: list[_Row] = []
    for word in sorted(page.words, key=lambda w: (w.box[1] + w.box[3]) / 2):
        centre = (word.box[1] + word.box[3]) / 2
        for row in reversed(rows[-3:]):
            top, bottom = row.box[1], row.box[3]
            if top <= centre <= bottom and word.box[1] <= (top + bottom) / 2 <= word.box[3]:
                row.words.append(word)
                break
        else:
            rows.append(_Row([word]))
    for row in rows:
        row.words.sort(key=lambda w: w.box[0])
    return rows


def _is_mrz_text(text: str) -> bool:
    cleaned = clean_line(text.replace(" ", ""))
    return len(cleaned) >= 15 and cleaned.count(FILLER) >= 3


def _is_flipped_mrz_text(text: str) -> bool:
    """An MRZ line read upside down: its fillers come out as ``>``."""
    compact = text.replace(" ", "")
    return len(compact) >= 15 and compact.count(">") + compact.count("»") >= 5


def _mrz_rows(rows: Sequence[_Row]) -> list[_Row]:
    """The rows that look like MRZ lines, with their neighbours that the OCR garbled.

    A name line of a long name may have no fillers at all; it sits right below
    (TD1) or above (TD3) the others at the same pitch, so an adjacent row of
    similar height and left edge is taken along.
    """
    hits = [i for i, row in enumerate(rows) if _is_mrz_text(row.text)]
    if not hits:
        return []
    chosen = set(hits)
    height = statistics.median(rows[i].height for i in hits)
    for index in (hits[0] - 1, hits[-1] + 1):
        if 0 <= index < len(rows) and len(chosen) < 3:
            row, near = rows[index], rows[hits[0] if index < hits[0] else hits[-1]]
            gap = abs((row.box[1] + row.box[3]) / 2 - (near.box[1] + near.box[3]) / 2)
            aligned = abs(row.box[0] - near.box[0]) < 2 * height
            long_enough = len(clean_line(row.text.replace(" ", ""))) >= 8
            if gap < 2.5 * height and aligned and long_enough:
                chosen.add(index)
    return [rows[i] for i in sorted(chosen)]


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


# ----------------------------------------------------------------- the MRZ of a page


@dataclass(slots=True)
class MrzReading:
    """An MRZ as read on one page, with what the reading could not vouch for."""

    result: MRZResult
    page: int
    box: Box | None
    guessed: list[Cell]  # cells whose character the check digits chose among OCR readings
    unread: set[Cell]  # glyph cells no OCR pass could read


def _mrz_format(cells: _MrzCells) -> str:
    if len(cells.rows) == 3:
        return "TD1"
    return "TD3" if statistics.mean(len(r) for r in cells.rows) >= 40 else "TD2"


def _mrz_from_cells(
    cells: _MrzCells, reference: date | None, timeout: float
) -> tuple[Repair, list[Cell], set[Cell]] | None:
    """Read, vote, refine by shape and repair; a zone not yet verified gets more OCR passes."""
    fmt = _mrz_format(cells)
    votes = _CellVotes(cells)
    outcome = None
    for passes in _MRZ_STAGES:
        read_mrz_cells(cells, votes, passes, timeout=timeout)
        outcome = _decide_mrz(cells, votes, fmt, reference)
        if outcome is None or _verified(outcome, votes.passes):
            break
    return outcome


def _verified(outcome: tuple[Repair, list[Cell], set[Cell]], passes: int) -> bool:
    """Whether a reading needs no further pass.

    After several passes every check digit must pass. A single pass must also have
    read every glyph and needed no character chosen by the check digits: then each
    field under a check digit is verified. The letters no check digit covers (names,
    country codes) would not change with a second pass either: where two passes
    disagree on such a letter, the first pass's reading wins the tie
    (``_vote_lines``), and the glyph shapes settle only digits, mixed columns and
    unread cells. Names are compared with the visual zone as always (a disagreement
    goes to a clerk). Measured on the dev corpus: where the first pass verified so
    (34 of 39 zones), the two-pass reading was the same in every character.
    """
    repaired, guessed, unread = outcome
    if passes > 1:
        return repaired.result.valid
    return repaired.result.valid and not guessed and not unread


def _decide_mrz(
    cells: _MrzCells, votes: _CellVotes, fmt: str, reference: date | None
) -> tuple[Repair, list[Cell], set[Cell]] | None:
    lines, alternatives, unread = _vote_lines(votes, fmt)
    exact = [len(line) for line in lines] == list(LAYOUTS[fmt].lengths)
    refined = lines
    if exact:
        refined, by_shape = _refine_by_shape(cells, votes, lines, fmt, unread)
        for cell, char in by_shape.items():
            alternatives[cell] = alternatives.get(cell, "") + char
    # Only cells with evidence of doubt (readings or shapes that disagree) are left
    # to the check digits: a mod-10 check passes one wrong guess in ten.
    repaired = repair_mrz(
        refined,
        reference=reference,
        alternatives=alternatives if exact else None,
        candidate_cells=set(alternatives) if exact else set(),
    )
    if repaired is None:
        return None
    repaired.result.corrected |= refined != lines
    if not exact:
        unread = set()  # columns moved when the lines were fitted; nothing to map
    _fail_unread_checks(repaired.result, unread)
    guessed = list(repaired.guessed)
    if votes.passes == 1:
        # What the shapes changed after a single pass waits for a second reading.
        guessed += [
            (i, c) for i, (a, b) in enumerate(zip(lines, refined, strict=True))
            for c in range(min(len(a), len(b))) if a[c] != b[c]
        ]  # fmt: skip
    return repaired, guessed, unread


def _fail_unread_checks(result: MRZResult, unread: set[Cell]) -> None:
    """A check digit over a cell nobody could read does not pass: it was not verified."""
    for name, cells in check_cells(result.lines, result.format).items():
        if cells & unread and name in result.checks:
            result.checks[name] = False


def _crop_box(rows: Sequence[_Row], image: Image.Image) -> tuple[Box, float]:
    box = _union_all([r.box for r in rows])
    height = float(statistics.median(r.height for r in rows))
    margin_x, margin_y = 2.5 * height, 0.9 * height
    return (
        max(0, round(box[0] - margin_x)),
        max(0, round(box[1] - margin_y)),
        min(image.width, round(box[2] + margin_x)),
        min(image.height, round(box[3] + margin_y)),
    ), height


def _mrz_score(reading: MrzReading) -> tuple[bool, int, int]:
    checks = reading.result.checks
    return reading.result.valid, sum(checks.values()), -len(reading.unread)


def read_page_mrz(
    page: PageText, image: Image.Image | None, *, reference: date | None, timeout: float = 30.0
) -> MrzReading | None:
    """The best MRZ reading of one page: from the image cells, else from the page text."""
    rows = _mrz_rows(visual_rows(page))
    if not rows:
        return None
    readings: list[MrzReading] = []
    region = _union_all([r.box for r in rows])
    if image is not None:
        box, height = _crop_box(rows, image)
        cells = segment_mrz(image.crop(box), height)
        try:
            from_cells = _mrz_from_cells(cells, reference, timeout) if cells else None
        except ocr.OcrError:
            logger.warning("OCR of the cut-out MRZ failed; using the page text", exc_info=True)
            from_cells = None
        if from_cells is not None:
            repaired, guessed, unread = from_cells
            readings.append(MrzReading(repaired.result, page.index, region, guessed, unread))
    # Page text is read with the page's OCR (or taken from a PDF text layer): field
    # semantics may repair it, but no check digit is left to choose characters.
    from_text = repair_mrz([r.text for r in rows], reference=reference, candidate_cells=set())
    if from_text is not None:
        guessed = list(from_text.guessed)
        readings.append(MrzReading(from_text.result, page.index, region, guessed, set()))
    return max(readings, key=_mrz_score, default=None)


# ----------------------------------------------------------------- names across the zones

_UMLAUTS = {"A": "Ä", "O": "Ö", "U": "Ü"}
_NAME_SEPARATORS = " -'’‐"


def align_name_to_mrz(printed: str, mrz: str, *, truncated: bool = False) -> str | None:
    """The printed name, repaired where the MRZ proves what OCR lost, or None if they differ.

    Two OCR losses are repaired: umlaut dots (printed ``JÖRG`` read as ``JORG``
    while the MRZ says ``JOERG``) and spaces between names (``LENAERIKA`` where
    the MRZ has ``LENA<ERIKA``). ``truncated`` allows the printed name to go on
    after the MRZ name ends.
    """
    target = icao_transliterate(mrz)

    @functools.cache
    def rest(i: int, j: int) -> str | None:
        if i == len(printed) and j == len(target):
            return ""
        if j == len(target) and truncated:
            return printed[i:]
        char = printed[i] if i < len(printed) else ""
        options: list[tuple[str, int, int]] = []
        if char and char in _NAME_SEPARATORS:
            options.append((char, i + 1, j + (j < len(target) and target[j] == " ")))
        elif j < len(target) and target[j] == " ":
            options.append((" ", i, j + 1))  # a space the OCR lost
        if char and icao_transliterate(char) and target.startswith(icao_transliterate(char), j):
            options.append((char, i + 1, j + len(icao_transliterate(char))))
        if char in _UMLAUTS and target.startswith(char + "E", j):
            options.append((_UMLAUTS[char], i + 1, j + 2))  # dots the OCR lost
        for text, next_i, next_j in options:
            tail = rest(next_i, next_j)
            if tail is not None:
                return text + tail
        return None

    return rest(0, 0)


def _name_truncated(result: MRZResult) -> bool:
    """Whether the MRZ name field is full, so that the name may have been cut."""
    name_line = result.lines[2] if result.format == "TD1" else result.lines[0]
    return not name_line.endswith(FILLER)


def _printed_name_rows(rows: Sequence[_Row]) -> list[_Found]:
    """Rows that could be a printed name value: upper-case letters only."""
    found = []
    for row in rows:
        text = _clean_name(row.text)
        letters = [c for c in text if c.isalpha()]
        if letters and all(c.isupper() for c in letters) and not _is_mrz_text(row.text):
            confidence = min(w.confidence for w in row.words)
            found.append(_Found(text, confidence, row.box))
    return found


def _printed_dates(rows: Sequence[_Row]) -> list[tuple[date, _Found]]:
    dates = []
    for row in rows:
        for word_count in range(1, 4):
            for start in range(len(row.words) - word_count + 1):
                words = row.words[start : start + word_count]
                parsed = parse_printed_date(" ".join(w.text for w in words))
                if parsed is not None:
                    box = _union_all([w.box for w in words])
                    confidence = min(w.confidence for w in words)
                    dates.append((parsed, _Found(parsed.isoformat(), confidence, box)))
    return dates


# ----------------------------------------------------------------- merging the zones

IDENTITY_FIELDS = (
    "surname",
    "given_names",
    "birth_date",
    "document_number",
    "expiry_date",
    "nationality",
)
MISMATCH_FIELD = "mrz_viz_mismatch"

# Confidence policy (the decision trusts >= 0.9 alone, >= 0.5 when the form agrees).
CONF_CONFIRMED = 0.98  # MRZ value under a passing check digit, and the visual zone agrees
CONF_CHECKED = 0.95  # MRZ value under a passing check digit, visual zone not read
CONF_MRZ_NATIONALITY = 0.9  # a valid code, but no check digit covers it
CONF_CHOSEN_BY_CHECK = 0.85  # OCR readings disagreed and the check digit chose between them
CONF_MRZ_NAME = 0.7  # transliterated, and no check digit covers names
CONF_AGREE_UNVERIFIED = 0.9  # both zones agree and the field's check passes, others fail
CONF_UNVERIFIED = 0.6  # the document carries an MRZ that did not verify
CONF_VIZ_MAX = 0.92  # printed value read by OCR, no MRZ to confirm it
CONF_CONFLICT = 0.3  # the zones disagree
CONF_VIZ_CREDIBLE = 0.85  # a printed value read at least this well can contradict the MRZ
# A document number read from print only (an ID card's front, a passport page whose MRZ
# was not read): no check digit covers it, so it is trusted only where an independent
# source (the form, the MRZ of the back uploaded separately) agrees.
CONF_PRINTED_NUMBER = 0.6
# The page OCR and the cut-out read in the card alphabet disagree on the printed number:
# the latter is reported, trusted only when the form agrees (floor 0.5).
CONF_READINGS_DIFFER = 0.55
CONF_UNLABELLED = 0.6  # a front's date whose label was not read: placed by order alone


@dataclass(slots=True)
class _Evidence:
    """What the two zones say about one field."""

    mrz: str | None = None
    mrz_checked: bool = False  # a passing check digit covers the MRZ value
    viz: _Found | None = None
    viz_confirms: bool = False  # the printed value agrees with the MRZ


@dataclass(slots=True)
class _Merged:
    fields: dict[str, FieldValue] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)


def _field_checks(result: MRZResult) -> dict[str, bool]:
    checks = result.checks
    return {
        "document_number": checks.get("document_number", False),
        "birth_date": checks.get("birth_date", False),
        "expiry_date": checks.get("expiry_date", False),
        "nationality": result.fields.get("nationality", "") in ICAO_CODES,
        "surname": result.valid,
        "given_names": result.valid,
    }


def _merge_one(
    name: str, ev: _Evidence, mrz: MrzReading | None, page: int | None, out: _Merged
) -> None:
    mrz_valid = mrz is not None and mrz.result.valid
    if ev.mrz and ev.viz and ev.viz_confirms:
        if ev.mrz_checked:
            confidence = CONF_CONFIRMED if mrz_valid else CONF_AGREE_UNVERIFIED
        else:
            confidence = CONF_UNVERIFIED
        value = ev.viz.text if name in ("surname", "given_names") else ev.mrz
        out.fields[name] = FieldValue(value, confidence, TextSource.OCR, page, ev.viz.box)
        return
    credible_viz = ev.viz is not None and ev.viz.confidence >= CONF_VIZ_CREDIBLE
    if name == "document_number" and ev.mrz_checked and ev.viz and ev.mrz:
        # The printed number differing from a checked MRZ number only in look-alikes
        # is an OCR ambiguity of the print, not a contradiction: the check digit decides.
        credible_viz = credible_viz and not _lookalike_equal(ev.viz.text, ev.mrz)
    if ev.mrz and ev.viz and credible_viz:
        out.conflicts.append(name)
        # A value under a passing check digit is what the document encodes; otherwise
        # the printed one is the better guess. Either way a clerk has to look.
        value = ev.mrz if ev.mrz_checked else ev.viz.text
        out.fields[name] = FieldValue(value, CONF_CONFLICT, TextSource.OCR, page, ev.viz.box)
        return
    if ev.mrz and mrz is not None:
        confidence = _mrz_only_confidence(name, ev, mrz)
        out.fields[name] = FieldValue(ev.mrz, confidence, TextSource.OCR, mrz.page, mrz.box)
        return
    if ev.viz:
        cap = CONF_VIZ_MAX if mrz is None else CONF_UNVERIFIED
        source: str = TextSource.OCR
        if name == "document_number":
            cap = min(cap, CONF_PRINTED_NUMBER)
            source = PRINTED_NUMBER if mrz is None else source
        confidence = min(ev.viz.confidence, cap)
        out.fields[name] = FieldValue(ev.viz.text, confidence, source, page, ev.viz.box)


def _lookalike_equal(a: str, b: str) -> bool:
    """Equal but for characters OCR confuses (``G``/``6``, ``Z``/``2``, ``8``/``B`` ...)."""
    return len(a) == len(b) and all(
        x == y or y in _lookalikes(x) for x, y in zip(a, b, strict=True)
    )


def _mrz_only_confidence(name: str, ev: _Evidence, mrz: MrzReading) -> float:
    """Confidence in an MRZ value the visual zone neither confirms nor contradicts."""
    if not ev.mrz_checked:
        return CONF_CONFLICT
    if not mrz.result.valid:
        # Other check digits fail: OCR slipped somewhere, and a slip passes a
        # mod-10 check one time in ten.
        return CONF_UNVERIFIED
    if name in ("surname", "given_names"):
        return CONF_MRZ_NAME
    if name == "nationality":
        return CONF_MRZ_NATIONALITY
    if name == "document_number" and mrz.guessed:
        return CONF_CHOSEN_BY_CHECK
    return CONF_CHECKED


def _same_day(printed: str, mrz: str) -> bool:
    """ISO dates equal up to the century (the MRZ has two-digit years).

    The printed year must be a plausible one (19xx or 20xx); OCR may garble
    its first digits, and then it cannot settle the century.
    """
    plausible = printed[:2] in ("19", "20")
    return plausible and len(printed) == len(mrz) == 10 and printed[2:] == mrz[2:]


def _confirm_name(ev: _Evidence, rows: Sequence[_Row], truncated: bool) -> None:
    if not ev.mrz:
        return
    candidates = ([ev.viz] if ev.viz else []) + _printed_name_rows(rows)
    for found in candidates:
        aligned = align_name_to_mrz(found.text, ev.mrz, truncated=truncated)
        if aligned is not None:
            ev.viz, ev.viz_confirms = _Found(aligned, found.confidence, found.box), True
            return


def _confirm_date(ev: _Evidence, dates: Sequence[tuple[date, _Found]]) -> None:
    if not ev.mrz:
        return
    candidates = ([ev.viz] if ev.viz else []) + [found for _, found in dates]
    for found in candidates:
        if _same_day(found.text, ev.mrz):
            ev.mrz = found.text  # the printed four-digit year settles the century
            ev.viz, ev.viz_confirms = found, True
            return


def _confirm_word(ev: _Evidence, rows: Sequence[_Row], printed: str | None = None) -> None:
    """Confirm an MRZ value by the same word printed anywhere on the page."""
    if not ev.mrz:
        return
    wanted = printed or ev.mrz
    if ev.viz and ev.viz.text == ev.mrz:
        ev.viz_confirms = True
        return
    for row in rows:
        for word in row.words:
            if clean_line(word.text) == wanted:
                ev.viz = _Found(ev.mrz, word.confidence, word.box)
                ev.viz_confirms = True
                return


def _gather_evidence(
    mrz: MrzReading | None, viz: dict[str, _Found], rows: Sequence[_Row]
) -> dict[str, _Evidence]:
    evidence = {name: _Evidence(viz=viz.get(name)) for name in IDENTITY_FIELDS}
    if mrz is None:
        return evidence
    checked = _field_checks(mrz.result)
    for name in IDENTITY_FIELDS:
        evidence[name].mrz = mrz.result.fields.get(name) or None
        evidence[name].mrz_checked = checked[name]
    truncated = _name_truncated(mrz.result)
    _confirm_name(evidence["surname"], rows, truncated)
    _confirm_name(evidence["given_names"], rows, truncated)
    dates = _printed_dates(rows)
    _confirm_date(evidence["birth_date"], dates)
    _confirm_date(evidence["expiry_date"], dates)
    _confirm_word(evidence["document_number"], rows)
    nationality = evidence["nationality"]
    _confirm_word(nationality, rows, "DEUTSCH" if nationality.mrz == "D" else None)
    return evidence


# ----------------------------------------------------------------- the front's number


def _is_card_front(page: PageText, viz: dict[str, _Found]) -> bool:
    """A page without MRZ that shows an ID card's front: its number or labelled fields, or,
    when the small labels are illegible, the title and a printed date (no passport label)."""
    if "passport_number" in viz:
        return False
    if "document_number" in viz:
        return True
    if len({"surname", "given_names", "birth_date", "expiry_date"} & set(viz)) >= 2:
        return True
    titled = fuzzy_find("deutschland", _fold(page.text), 2) is not None
    return titled and bool(_printed_dates(visual_rows(page)))


def _unlabelled_dates(page: PageText, viz: dict[str, _Found]) -> None:
    """Birth and expiry date of a card front whose labels OCR did not read (in place).

    A front prints exactly these two dates, the date of birth first and earlier.
    Without the label the assignment rests on that alone, so the values stay below
    what the decision trusts alone (``CONF_UNLABELLED``).
    """
    if "birth_date" in viz and "expiry_date" in viz:
        return
    dates: dict[date, _Found] = {}
    for day, found in _printed_dates(visual_rows(page)):
        if 1900 <= day.year <= 2100:  # OCR garbles years (1992 read as 1002)
            dates.setdefault(day, found)
    if len(dates) != 2:
        return
    earlier, later = sorted(dates)
    for name, day in (("birth_date", earlier), ("expiry_date", later)):
        if name not in viz:
            found = dates[day]
            viz[name] = _Found(found.text, min(found.confidence, CONF_UNLABELLED), found.box)


def _read_front_number(page: PageText, image: Image.Image, viz: dict[str, _Found]) -> None:
    """Read the card number of a front again, cut out, in the card alphabet (in place).

    The printed number carries no check digit (the MRZ on the back adds it), so
    whatever is read here stays below what the decision trusts alone
    (``CONF_PRINTED_NUMBER``); two readings that disagree lower it further.
    """
    rows = visual_rows(page)
    first_label = min((i for i, r in enumerate(rows) if _is_label_row(r)), default=2)
    found = viz.get("document_number")
    box = found.box if found is not None else _serial_region(rows, first_label)
    if box is None:
        return
    try:
        again = reread_serial(image, box)
    except ocr.OcrError:
        logger.warning("OCR of the card number failed", exc_info=True)
        return
    if again is None:
        return
    if found is None:
        viz["document_number"] = again
    elif found.text != again.text:
        viz["document_number"] = _Found(
            again.text, min(again.confidence, CONF_READINGS_DIFFER), box
        )


def _front_nationality(page: PageText, viz: dict[str, _Found]) -> None:
    """``DEUTSCH`` printed on a German card's front whose label OCR did not read (in place)."""
    if "nationality" in viz:
        return
    for word in page.words:
        if len(word.text) >= 6 and _fuzzy_find("deutsch", _fold(word.text))[0] <= 1:
            if len(_fold(word.text)) <= 8:  # not DEUTSCHLAND of the title
                viz["nationality"] = _Found("D", word.confidence, word.box)
                return


# ----------------------------------------------------------------- entry point


def _upright(page: PageText, image: Image.Image | None) -> tuple[PageText, Image.Image | None]:
    """Turn a page that was read upside down (its MRZ fillers came out as ``>``)."""
    rows = visual_rows(page)
    if image is None or _mrz_rows(rows) or not any(_is_flipped_mrz_text(r.text) for r in rows):
        return page, image
    turned = ocr.rotate_clockwise(image, 180)
    reread = ocr.run_tesseract(turned, lang="deu", psm=3)
    reread.index, reread.rotation, reread.skew = page.index, (page.rotation + 180) % 360, page.skew
    return reread, turned


def _images_by_page(
    pages: Sequence[PageText], images: Sequence[Image.Image]
) -> list[Image.Image | None]:
    """Page images aligned with the pages: only OCR pages have one when the counts differ."""
    if len(images) == len(pages):
        return list(images)
    remaining = iter(images)
    return [next(remaining, None) if p.source == TextSource.OCR else None for p in pages]


def read_identity(
    pages: list[PageText], images: list[Image.Image], *, reference: date | None = None
) -> tuple[dict[str, FieldValue], MRZResult | None]:
    """The identity fields of an ID card or passport, and its MRZ.

    ``reference`` (the submission date) settles the century of MRZ birth dates
    when the visual zone does not print them; without it the document's expiry
    date bounds them. Fields not found are left out; every field carries an
    honest confidence (see the ``CONF_*`` policy), and disagreements between the
    zones are listed in the ``mrz_viz_mismatch`` field.
    """
    best: MrzReading | None = None
    viz: dict[str, _Found] = {}
    rows: list[_Row] = []
    viz_page: int | None = None
    for page, image in zip(pages, _images_by_page(pages, images), strict=True):
        page, image = _upright(page, image)
        reading = read_page_mrz(page, image, reference=reference)
        if reading is not None and (best is None or _mrz_score(reading) > _mrz_score(best)):
            best = reading
        page_viz = read_visual_zone(page)
        if reading is None and image is not None and _is_card_front(page, page_viz):
            _read_front_number(page, image, page_viz)
            _front_nationality(page, page_viz)
            _unlabelled_dates(page, page_viz)
        if page_viz and viz_page is None:
            viz_page = page.index
        for name, found in page_viz.items():
            viz.setdefault(name, found)
        rows += visual_rows(page)
    merged = _Merged()
    evidence = _gather_evidence(best, viz, rows)
    page_index = viz_page if viz_page is not None else (pages[0].index if pages else None)
    for name in IDENTITY_FIELDS:
        _merge_one(name, evidence[name], best, page_index, merged)
    if merged.conflicts:
        merged.fields[MISMATCH_FIELD] = FieldValue(merged.conflicts, 1.0, "mrz_viz", page_index)
    return merged.fields, best.result if best else None


# ----------------------------------------------------------------- the MRZ's own glyphs

# Glyph distances (differing pixels over ink): glyphs of one character in one zone
# lie within _SAME_GLYPH of each other, different characters beyond _OTHER_GLYPH;
# a match must also beat every other character by _TEMPLATE_MARGIN.
_SAME_GLYPH = 0.15
_OTHER_GLYPH = 0.25
_TEMPLATE_MARGIN = 0.5
_LOOKALIKE_GROUPS = ("0OQD", "1I", "5S", "8B", "2Z", "6G", "4A", "7T", "9Y")


def _lookalikes(char: str) -> set[str]:
    return {c for group in _LOOKALIKE_GROUPS if char in group for c in group}


@dataclass(slots=True)
class _Templates:
    """Glyph images of the characters this MRZ certainly contains.

    Every document prints its MRZ in one font at one scale, so a glyph whose
    reading is in doubt can be compared with glyphs of the same zone whose
    identity is settled: digits under a passing check digit, letters of names
    and country codes. Shape settles what check digits cannot (``G`` and
    ``6`` weigh the same in the checksum).
    """

    size: tuple[int, int]
    images: dict[str, list[Glyph]] = field(default_factory=dict)

    def distance(self, glyph: Glyph, char: str) -> float | None:
        known = self.images.get(char)
        if not known:
            return None
        return min(_glyph_distance(glyph, template) for template in known)

    def nearest(self, glyph: Glyph, current: str, candidates: set[str]) -> str | None:
        """The candidate whose templates the glyph matches, clearly better than any other.

        "Matches" means as close as glyphs of one character are to each other;
        without that, the nearest template may just be a look-alike of a
        character this zone shows no other example of.
        """
        scored = sorted((d, c) for c in self.images if (d := self.distance(glyph, c)) is not None)
        if len(scored) < 2:
            return None
        (best, char), (second, _) = scored[0], scored[1]
        if char == current or char not in candidates:
            return None
        return char if best <= _SAME_GLYPH and best <= _TEMPLATE_MARGIN * second else None

    def unlike_all(self, glyph: Glyph, current: str, candidates: set[str]) -> str | None:
        """The one candidate without templates, when the glyph resembles no template at all.

        A ``G`` in a zone whose only look-alike template is a ``6`` from a date
        is far from that ``6`` (and from everything else): it is the look-alike
        this zone shows no other example of.
        """
        own = self.distance(glyph, current)
        if own is None or own <= _OTHER_GLYPH:
            return None
        if any(
            (d := self.distance(glyph, c)) is not None and d <= _SAME_GLYPH for c in self.images
        ):
            return None
        untemplated = [c for c in candidates if c != current and c not in self.images]
        return untemplated[0] if len(untemplated) == 1 else None


_SHIFTS = tuple((dy, dx) for dx in (-2, 0, 2) for dy in (-2, 0, 2))


@dataclass(frozen=True, slots=True)
class Glyph:
    """A glyph's ink on the zone's glyph canvas, with copies of it moved by small shifts."""

    ink: npt.NDArray[np.bool_]
    shifted: npt.NDArray[np.bool_]  # one canvas per shift in _SHIFTS
    amount: int  # inked pixels

    @classmethod
    def of(cls, pixels: npt.ArrayLike) -> Glyph:
        """From a black (0) on white (255) canvas."""
        ink = np.asarray(pixels) == 0
        shifted = np.stack([np.roll(ink, shift, axis=(0, 1)) for shift in _SHIFTS])
        return cls(ink, shifted, int(np.count_nonzero(ink)))


def _glyph_image(cells: _MrzCells, box: Box, size: tuple[int, int]) -> Glyph:
    """A glyph centred on a blank canvas of the zone's glyph size (no rescaling)."""
    canvas = Image.new("L", size, 255)
    glyph = cells.binary.crop(box)
    canvas.paste(glyph, ((size[0] - glyph.width) // 2, (size[1] - glyph.height) // 2))
    return Glyph.of(np.asarray(canvas))


def _glyph_distance(a: Glyph, b: Glyph) -> float:
    """Differing pixels over the ink of both glyphs (0 same, 1 disjoint), best of small shifts
    (the shifted glyph wraps around the canvas edges, which are blank)."""
    differing = np.count_nonzero(b.shifted ^ a.ink, axis=(1, 2))
    return int(differing.min()) / (a.amount + b.amount or 1)


def _certain_cells(lines: Sequence[str], fmt: str, votes: _CellVotes) -> dict[Cell, str]:
    """Cells whose character is settled: digits under passing date checks, voted letters."""
    certain: dict[Cell, str] = {}
    passing = {name for name, ok in evaluate_checks(lines, fmt).items() if ok}
    covered = check_cells(lines, fmt)
    for name in ("birth_date", "expiry_date"):
        if name in passing:
            certain.update({cell: lines[cell[0]][cell[1]] for cell in covered[name]})
    for index, kinds in enumerate(LAYOUTS[fmt].kinds):
        for column, kind in enumerate(kinds):
            counted = votes.votes.get((index, column))
            char = lines[index][column]
            if kind == "A" and char.isalpha() and counted and len(counted) == 1:
                certain[(index, column)] = char
    return certain


def _build_templates(cells: _MrzCells, certain: dict[Cell, str]) -> _Templates:
    glyphs = [g for row in cells.rows for g in row if g is not None]
    width = max(g.box[2] - g.box[0] for g in glyphs) + 6
    height = max(g.box[3] - g.box[1] for g in glyphs) + 6
    templates = _Templates((width, height))
    for (line, column), char in certain.items():
        glyph = cells.rows[line][column]
        if glyph is not None and not glyph.filler and len(templates.images.get(char, [])) < 4:
            image = _glyph_image(cells, glyph.box, templates.size)
            templates.images.setdefault(char, []).append(image)
    return templates


def _refine_by_shape(
    cells: _MrzCells, votes: _CellVotes, lines: list[str], fmt: str, unread: set[Cell]
) -> tuple[list[str], dict[Cell, str]]:
    """Settle doubtful cells by comparing their glyphs with the zone's certain glyphs.

    Doubtful are: alphanumeric cells of a failing check (any character may be
    misread there) or holding a look-alike (``G``/``6`` pass every check), digit
    columns where OCR saw a character no semantics maps to a digit, and unread
    glyphs. Where the shape contradicts a reading that has templates of its own,
    or the reading is impossible, the shape's character replaces it; otherwise
    it only becomes an alternative for the check digits to weigh.
    """
    certain = _certain_cells(lines, fmt, votes)
    templates = _build_templates(cells, certain)
    kinds = LAYOUTS[fmt].kinds
    failing: set[Cell] = set()
    for name, ok in evaluate_checks(lines, fmt).items():
        failing |= set() if ok else check_cells(lines, fmt)[name]
    chars = [list(line) for line in lines]
    alternatives: dict[Cell, str] = {}
    for index, row in enumerate(cells.rows):
        for column, glyph in enumerate(row):
            cell = (index, column)
            if glyph is None or glyph.filler or cell in certain:
                continue
            kind, char = kinds[index][column], chars[index][column]
            impossible = cell in unread or (kind in ("N", "C") and not char.isdigit())
            candidates = _shape_candidates(kind, char, cell in failing, impossible)
            if not candidates:
                continue
            image = _glyph_image(cells, glyph.box, templates.size)
            best = templates.nearest(image, char, candidates)
            contradicted = char in templates.images or impossible
            if best is None and kind == "X":
                best, contradicted = templates.unlike_all(image, char, _lookalikes(char)), True
            if best is not None and contradicted:
                chars[index][column] = best
                unread.discard(cell)
            elif best is not None:
                alternatives[cell] = best
    return ["".join(c) for c in chars], alternatives


def _shape_candidates(kind: str, char: str, failing: bool, impossible: bool) -> set[str]:
    # A digit under a failing check (a photo's 5 read as 9 by every pass) is compared with
    # the zone's certain digits too: only a glyph that looks like another digit's
    # templates, and not like its own reading's, is changed (a tampered digit still looks
    # like itself), and no check digit chooses digits.
    if kind in ("N", "C") and (impossible or failing):
        return set("0123456789")
    if impossible or (kind == "X" and failing):
        return set(MRZ_WHITELIST) - {FILLER}
    if kind == "X":
        return _lookalikes(char)
    return set()
