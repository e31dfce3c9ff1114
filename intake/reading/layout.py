"""Page geometry for field finding: cells, rows, and columns of labelled fields.

A form's text is not one stream: a label's value sits to its right or below it, two
or three columns of labelled fields stand side by side, people are listed in a grid of
two per row or in a table. Reading order alone (what OCR reports line by line, or a
PDF's text layer by baseline) mixes the columns up: "Vermieter   bezogen am" becomes
one line, and the landlord's name is followed by the move-in date.

This module rebuilds the lines of a page from the words' boxes:

* **Cells.** A line is cut where the space between two words is much wider than a
  word space (:data:`CELL_GAP` times the line's height): a label and the value beside
  it, or two names of a grid, become separate cells. Cells of one line are joined by
  the pseudo-word :data:`SEPARATOR`, so extraction can tell "Anna Lange | Tom Lange"
  (two people) from "Anna Lange Tom" (one).
* **Field columns.** Where a vertical gutter runs through consecutive rows and at
  least two of the columns it separates carry labels of their own, the rows are
  columns of fields, not labels with values beside them: each column becomes a run of
  lines of its own, read top to bottom, one column after the other. A gutter with
  labels on one side only (labels left, values right) is kept as cells of one row.

* **Slant and column starts.** Rows are grouped as if the page were not slanted (the
  median slope of its long lines); a cell is also cut at a narrower gap where the next
  word starts where other cells start (a value that runs up to the next column).
* **Lines below lines.** :func:`below` finds the line directly under another in its
  column, so that a value is followed down its column whatever the reading order.

Nothing here knows a template: the only knowledge is which cells are labels, which the
caller tells (``is_label``), and the boxes.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from intake.applications.documents import Word

CELL_GAP = 1.6  # a gap wider than this many line heights separates cells
SEPARATOR = "|"
MIN_BAND_ROWS = 3  # rows a gutter must run through to make columns


@dataclass(slots=True)
class Cell:
    words: list[Word]

    @property
    def x0(self) -> int:
        return min(w.box[0] for w in self.words)

    @property
    def x1(self) -> int:
        return max(w.box[2] for w in self.words)

    @property
    def y0(self) -> int:
        return min(w.box[1] for w in self.words)

    @property
    def y1(self) -> int:
        return max(w.box[3] for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(slots=True)
class Row:
    cells: list[Cell]

    @property
    def y0(self) -> int:
        return min(c.y0 for c in self.cells)

    @property
    def y1(self) -> int:
        return max(c.y1 for c in self.cells)


def _height(words: list[Word]) -> float:
    return float(statistics.median(max(1, w.box[3] - w.box[1]) for w in words))


def cells_of(line: list[Word]) -> list[Cell]:
    """``line`` (left to right) cut at gaps wider than :data:`CELL_GAP` line heights."""
    ordered = sorted(line, key=lambda w: w.box[0])
    height = _height(ordered)
    cells = [Cell([ordered[0]])]
    for word in ordered[1:]:
        gap = word.box[0] - cells[-1].words[-1].box[2]
        if gap > CELL_GAP * height:
            cells.append(Cell([word]))
        else:
            cells[-1].words.append(word)
    return cells


def rows_of(lines: list[list[Word]]) -> list[Row]:
    """Cells of all lines grouped into rows: cells side by side that overlap vertically.

    OCR may report a form's labels and the values beside them as separate lines (or
    blocks); side by side on the page they are one row.
    """
    cells = _split_at_column_starts([cell for line in lines if line for cell in cells_of(line)])
    slope = _slope(lines)

    def level(cell: Cell) -> tuple[float, float]:  # top and bottom as if not slanted
        lift = slope * (cell.x0 + cell.x1) / 2
        return cell.y0 - lift, cell.y1 - lift

    rows: list[Row] = []
    for cell in sorted(cells, key=lambda c: sum(level(c)) / 2):
        top, bottom = level(cell)
        for row in reversed(rows[-4:]):
            row_top = min(level(c)[0] for c in row.cells)
            row_bottom = max(level(c)[1] for c in row.cells)
            overlap = min(bottom, row_bottom) - max(top, row_top)
            height = min(bottom - top, row_bottom - row_top)
            if overlap > 0.5 * height and not any(_overlaps_x(cell, c) for c in row.cells):
                row.cells.append(cell)
                row.cells.sort(key=lambda c: c.x0)
                break
        else:
            rows.append(Row([cell]))
    return rows


COLUMN_GAP = 0.9  # a narrower gap still parts cells where the next word starts a column
ALIGNED = 0.3  # line heights within which two cells start at the same x


def _split_at_column_starts(cells: list[Cell]) -> list[Cell]:
    """Cells cut where a value that fills its column runs up to the next column with
    less than a cell gap ("Hildesheimer Straße 158, 1. OG 07.12.2026"): at a gap wider
    than a word space whose next word starts where at least two other cells start."""
    starts = [(c.x0, c.y0) for c in cells]
    result: list[Cell] = []
    for cell in cells:
        height = _height(cell.words)
        pieces = [Cell([cell.words[0]])]
        for word in cell.words[1:]:
            gap = word.box[0] - pieces[-1].words[-1].box[2]
            aligned = sum(
                abs(x - word.box[0]) <= ALIGNED * height and abs(y - word.box[1]) > height
                for x, y in starts
            )
            if gap > COLUMN_GAP * height and aligned >= 2:
                pieces.append(Cell([word]))
            else:
                pieces[-1].words.append(word)
        result.extend(pieces)
    return result


def _slope(lines: list[list[Word]]) -> float:
    """How much the page's lines rise or fall per unit of width (a photo taken at an
    angle, or bent paper): the median over the long lines OCR followed word by word."""
    slopes = []
    for line in lines:
        boxed = sorted((w for w in line if w.box[2] > w.box[0]), key=lambda w: w.box[0])
        if len(boxed) < 4:
            continue
        first, last = boxed[0], boxed[-1]
        width = (last.box[0] + last.box[2] - first.box[0] - first.box[2]) / 2
        if width < 10 * _height(boxed):
            continue
        rise = (last.box[1] + last.box[3] - first.box[1] - first.box[3]) / 2
        slopes.append(rise / width)
    return float(statistics.median(slopes)) if len(slopes) >= 3 else 0.0


def _overlaps_x(a: Cell, b: Cell) -> bool:
    return min(a.x1, b.x1) > max(a.x0, b.x0)


# ------------------------------------------------------------------ field columns


@dataclass(slots=True)
class Band:
    """Consecutive rows cut by the same gutters into columns of fields."""

    start: int  # first row index
    end: int  # one past the last row index
    gutters: list[float]  # x positions, left to right


def _free_at(row: Row, x: float) -> bool:
    return not any(c.x0 <= x <= c.x1 for c in row.cells)


def _both_sides(row: Row, x: float) -> bool:
    return any(c.x1 < x for c in row.cells) and any(c.x0 > x for c in row.cells)


def _gutter_candidates(rows: list[Row]) -> list[float]:
    xs = set()
    for row in rows:
        for left, right in zip(row.cells, row.cells[1:], strict=False):
            xs.add(round((left.x1 + right.x0) / 2))
    return sorted(xs)


def find_bands(rows: list[Row], is_label: Callable[[str], bool]) -> list[Band]:
    """Runs of rows that vertical gutters cut into columns each carrying labels.

    Every gap between two cells of a row proposes a gutter; it holds over the run of
    rows in which no cell covers it, and counts where both sides of it carry labels.
    Gutters in the same gap are one; rows cut by the same gutters form a band.
    """
    runs: list[tuple[int, int, int, int, float]] = []  # rows with both sides, rows free
    for x in _gutter_candidates(rows):
        start = 0
        while start < len(rows):
            if not _free_at(rows[start], x):
                start += 1
                continue
            end = start
            while end < len(rows) and _free_at(rows[end], x):
                end += 1
            sides = [i for i in range(start, end) if _both_sides(rows[i], x)]
            if sides and _is_field_gutter(rows[sides[0] : sides[-1] + 1], x, is_label):
                runs.append((sides[0], sides[-1] + 1, start, end, x))
            start = end
    covered = sorted({i for start, end, _, _, _ in runs for i in range(start, end)})
    bands: list[Band] = []
    for index in covered:
        if bands and bands[-1].end == index:
            bands[-1].end = index + 1
        else:
            bands.append(Band(index, index + 1, []))
    for band in bands:
        size = band.end - band.start
        # A gutter holds for the band where it runs free through most of it: a short
        # column (a few rows beside a longer one) leaves the gutter free below it.
        xs = sorted(
            x
            for start, end, free_start, free_end, x in runs
            if min(end, band.end) - max(start, band.start) >= min(MIN_BAND_ROWS, size)
            and min(free_end, band.end) - max(free_start, band.start) >= size / 2
        )
        band.gutters = _one_per_gap(xs, rows[band.start : band.end])
    return [b for b in bands if b.gutters]


def _is_field_gutter(rows: list[Row], x: float, is_label: Callable[[str], bool]) -> bool:
    if len(rows) < MIN_BAND_ROWS or sum(_both_sides(r, x) for r in rows) < MIN_BAND_ROWS - 1:
        return False
    left = [c for r in rows for c in r.cells if c.x1 < x]
    right = [c for r in rows for c in r.cells if c.x0 > x]
    return any(is_label(c.text) for c in left) and any(is_label(c.text) for c in right)


def _one_per_gap(xs: list[float], rows: list[Row]) -> list[float]:
    """Gutters with no cell between them are the same gutter."""
    centres = [(c.x0 + c.x1) / 2 for r in rows for c in r.cells]
    kept: list[float] = []
    for x in xs:
        if kept and not any(kept[-1] < centre < x for centre in centres):
            continue
        kept.append(x)
    return kept


def _separated(cells: list[Cell]) -> list[Word]:
    words: list[Word] = []
    for index, cell in enumerate(cells):
        if index:
            words.append(Word(SEPARATOR, 1.0, (0, 0, 0, 0), cell.words[0].line))
        words.extend(cell.words)
    return words


def page_lines(lines: list[list[Word]], is_label: Callable[[str], bool]) -> list[list[Word]]:
    """The page's lines in reading order, cells separated, field columns one by one."""
    rows = rows_of(lines)
    bands = {band.start: band for band in find_bands(rows, is_label)}
    ordered: list[list[Word]] = []
    index = 0
    while index < len(rows):
        band = bands.get(index)
        if band is None:
            ordered.append(_separated(rows[index].cells))
            index += 1
            continue
        edges = [-1e9, *band.gutters, 1e9]
        for left, right in zip(edges, edges[1:], strict=False):
            for row in rows[band.start : band.end]:
                column = [c for c in row.cells if left < (c.x0 + c.x1) / 2 < right]
                if column:
                    ordered.append(_separated(column))
        index = band.end
    return ordered


# ------------------------------------------------------------------ lines below lines


@dataclass(frozen=True, slots=True)
class Extent:
    """The box of a run of words (a line of the rebuilt page), and its text height."""

    x0: int
    y0: int
    x1: int
    y1: int
    height: float

    @classmethod
    def of(cls, words: list[Word]) -> Extent | None:
        boxed = [w for w in words if w.box[2] > w.box[0]]
        if not boxed:
            return None
        return cls(
            min(w.box[0] for w in boxed),
            min(w.box[1] for w in boxed),
            max(w.box[2] for w in boxed),
            max(w.box[3] for w in boxed),
            _height(boxed),
        )


BELOW_GAP = 2.5  # a line further below than this many line heights is not "the next line"
WRAP_PITCH = 1.2  # a wrapped line follows at the normal line pitch: a gap of at most this


def below(extents: list[Extent | None], pages: list[int], index: int) -> int | None:
    """The line directly under line ``index`` in its column: the nearest line below it on
    the same page that overlaps it horizontally, at most :data:`BELOW_GAP` line heights
    under it. None when line ``index`` has no boxes (the caller reads in text order)."""
    here = extents[index]
    if here is None:
        return None
    best: tuple[int, int] | None = None
    for other, there in enumerate(extents):
        if there is None or other == index or pages[other] != pages[index]:
            continue
        if there.y0 < here.y1 - 0.3 * here.height:
            continue  # beside it or above it
        if min(here.x1, there.x1) <= max(here.x0, there.x0):
            continue  # another column
        if there.y0 - here.y1 > BELOW_GAP * max(here.height, there.height):
            continue
        key = (there.y0, other)
        if best is None or key < best:
            best = key
    return None if best is None else best[1]
