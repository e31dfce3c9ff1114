"""Finding the MRZ of an identity document: the page's visual rows, the rows that are
the zone, the zone cut out, straightened and cut into its character cells by projection
profiles, the fillers recognised by their shape.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageChops, ImageFilter, ImageOps

from intake.applications.documents import (
    Box,
    PageText,
    Word,
)
from intake.reading import ocr
from intake.reading.mrz import (
    FILLER,
    clean_line,
)

MRZ_WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
_GLYPH_HEIGHT = 48  # pixels; crops are scaled so that MRZ glyphs have this height


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
