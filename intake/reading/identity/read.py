"""Reading the MRZ's cells: the glyphs in doubt packed into short lines of a sheet, OCRed
in stages, every answer aligned to its cell and counted as a vote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image

from intake.applications.documents import (
    PageText,
    Word,
)
from intake.reading import ocr
from intake.reading.identity.find import MRZ_WHITELIST, Cell, _MrzCells, _scaled
from intake.reading.mrz import (
    FILLER,
    clean_line,
)

# OCR passes over the glyph sheet: (tesseract model, longest sheet line, scale), in
# stages. A stage runs only while the zone is not verified: the first pass alone
# must verify completely (see _verified), later stages need every check digit.
_MRZ_STAGES = (
    (("eng", 8, 1.0),),
    (("deu", 12, 1.0),),
    (("eng", 5, 0.75), ("deu", 6, 1.25)),
)


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
