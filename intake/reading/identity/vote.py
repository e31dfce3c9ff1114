"""Deciding the MRZ from the votes: the lines voted per cell, glyphs in doubt compared
with the zone's own glyphs of known identity, look-alikes repaired under the check
digits (:mod:`intake.reading.mrz`); the best reading of a page.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from PIL import Image

from intake.applications.documents import (
    Box,
    MRZResult,
    PageText,
)
from intake.reading import ocr
from intake.reading.identity.find import (
    MRZ_WHITELIST,
    Cell,
    Glyph,
    _crop_box,
    _Glyph,
    _glyph_distance,
    _glyph_image,
    _mrz_rows,
    _MrzCells,
    _union_all,
    segment_mrz,
    visual_rows,
)
from intake.reading.identity.read import _MRZ_STAGES, _CellVotes, read_mrz_cells
from intake.reading.mrz import (
    FILLER,
    LAYOUTS,
    Repair,
    check_cells,
    evaluate_checks,
    repair_mrz,
    semantic_char,
)

logger = logging.getLogger(__name__)


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
