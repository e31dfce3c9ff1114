"""Repairing OCR look-alikes: field semantics first, then check digits where one
combination of swaps alone makes every check pass (:class:`Repair` names the guesses).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from intake.applications.documents import MRZResult
from intake.reading.mrz.layout import (
    _ALTERNATIVE,
    _DIGIT_AS_LETTER,
    _GERMAN_SERIAL_LETTERS,
    _LETTER_AS_DIGIT,
    _MAX_COMBINATIONS,
    _SERIAL_SECOND_READING,
    ICAO_CODES,
    LAYOUTS,
    _cells,
    _check_passes,
    _cut,
    _Layout,
    _resolve_checks,
    _ResolvedCheck,
    char_value,
    clean_line,
    detect_format,
    evaluate_checks,
    fit_lines,
)
from intake.reading.mrz.parse import _country, _result

# --- look-alike repair ---------------------------------------------------------


@dataclass(slots=True)
class Repair:
    """The outcome of :func:`repair_mrz`.

    ``guessed`` are the (line, column) cells whose character was chosen by the
    check digits alone; ``normalised`` the cells changed by field semantics.
    """

    result: MRZResult
    read: list[str]  # the lines as read, cleaned and fitted, before any swap
    normalised: list[tuple[int, int]] = field(default_factory=list)
    guessed: list[tuple[int, int]] = field(default_factory=list)


def _is_german(lines: Sequence[str], layout: _Layout) -> bool:
    return _country(_cut(lines, layout.spans["issuing_state"])) == "D"


def semantic_char(char: str, kind: str, german_serial: bool = False) -> str:
    """The only reading of ``char`` that the column's kind allows.

    Kinds (see ``LAYOUTS[fmt].kinds``): ``N`` digit, ``C`` check digit, ``A``
    letter, ``S`` sex, ``X`` alphanumeric (digits only for letters a German
    serial number cannot contain, when ``german_serial``).
    """
    if kind in ("N", "C"):
        return _LETTER_AS_DIGIT.get(char, char)
    if kind == "A":
        return _DIGIT_AS_LETTER.get(char, char)
    if kind == "X" and german_serial and char.isalpha() and char not in _GERMAN_SERIAL_LETTERS:
        return _LETTER_AS_DIGIT.get(char, char)
    return char


def _normalise(layout: _Layout, lines: list[str], *, serial: bool) -> list[tuple[int, int]]:
    """Apply field semantics in place; returns the changed cells.

    ``serial=False`` settles every column but the document number's letters;
    ``serial=True`` then maps the letters a German serial number cannot contain,
    which is known only once the country codes are settled (an issuing state
    ``D`` read as ``O`` is repaired by :func:`_repair_country_codes` in between).
    """
    changed: list[tuple[int, int]] = []
    german = serial and _is_german(lines, layout)
    serial_cells = set(_cells([layout.spans["document_number"]]))
    for index, kinds in enumerate(layout.kinds):
        chars = list(lines[index])
        for col, kind in enumerate(kinds):
            if serial and (index, col) not in serial_cells:
                continue
            new = semantic_char(chars[col], kind, german)
            if new != chars[col]:
                chars[col] = new
                changed.append((index, col))
        lines[index] = "".join(chars)
    return changed


def _serial_doubts(
    layout: _Layout, read: Sequence[str], fixed: Sequence[str]
) -> dict[tuple[int, int], str]:
    """Other digits a German serial's impossible letter may stand for.

    ``S`` is read for a printed ``5`` as often as for an ``8`` (OCR-B), and ``S``
    and ``8`` weigh the same in the check digit (28 and 8): mapping it to ``5``
    alone would fail a correct number, keeping it would pass a wrong one. Both
    digits are left to the check digit, as a choice it made, when the first
    reading leaves no solution.
    """
    if not _is_german(fixed, layout):
        return {}
    doubts: dict[tuple[int, int], str] = {}
    for line, col in _cells([layout.spans["document_number"]]):
        if read[line][col] in _SERIAL_SECOND_READING:
            doubts[(line, col)] = _SERIAL_SECOND_READING[read[line][col]]
    return doubts


# Letters OCR confuses in country codes, which no check digit covers: a code
# that is not an ICAO code is repaired when exactly one substitution makes it one.
_CODE_LOOKALIKES = {"O": "DQ", "D": "O", "Q": "OD", "U": "V", "V": "U", "I": "L", "L": "I",
                    "C": "G", "G": "C", "E": "F", "F": "E", "K": "X", "X": "K"}  # fmt: skip


def _repair_country_codes(
    layout: _Layout, lines: list[str], alternatives: Mapping[tuple[int, int], str]
) -> list[tuple[int, int]]:
    """Make unknown country codes known ICAO codes where one substitution does; in place."""
    changed: list[tuple[int, int]] = []
    for name in ("issuing_state", "nationality"):
        line, start, end = layout.spans[name]
        code = lines[line][start:end]
        if _country(code) in ICAO_CODES:
            continue
        options = [
            code[i] + _CODE_LOOKALIKES.get(code[i], "") + alternatives.get((line, start + i), "")
            for i in range(len(code))
        ]
        valid = {
            "".join(combo)
            for combo in itertools.product(*options)
            if _country("".join(combo)) in ICAO_CODES
        }
        if len(valid) == 1:
            fixed = valid.pop()
            lines[line] = lines[line][:start] + fixed + lines[line][end:]
            changed += [(line, start + i) for i in range(len(code)) if fixed[i] != code[i]]
    return changed


def _ambiguous_cells(
    layout: _Layout,
    lines: Sequence[str],
    checks: Sequence[_ResolvedCheck],
    alternatives: Mapping[tuple[int, int], str],
    candidate_cells: Collection[tuple[int, int]] | None,
) -> dict[tuple[int, int], str]:
    """Alphanumeric cells of failing checks and the other characters they might be.

    Cells of a check that already passes are trusted; cells covered only by
    the composite (optional data) are tried when the composite fails. Digit
    and letter columns are never guessed: field semantics settled them, and
    choosing a digit by its check digit could turn a tampered date valid.
    """
    passing = {c.name for c in checks if _check_passes(c, lines)}
    trusted = {
        cell for c in checks if c.name in passing and c.name != "composite" for cell in c.cells
    }
    german = _is_german(lines, layout)
    candidates: dict[tuple[int, int], str] = {}
    for check in checks:
        if check.name in passing:
            continue
        for cell in check.cells:
            line, col = cell
            if layout.kinds[line][col] != "X" or cell in trusted or cell in candidates:
                continue
            if candidate_cells is not None and cell not in candidate_cells:
                continue
            char = lines[line][col]
            options = set(alternatives.get(cell, "")) | set(_ALTERNATIVE.get(char, ""))
            if german:
                options = {o for o in options if not o.isalpha() or o in _GERMAN_SERIAL_LETTERS}
            # G and 6 (like any pair whose values differ by ten) weigh the same in
            # every check digit: no check can choose between them.
            options = {o for o in options if (char_value(o) - char_value(char)) % 10}
            if options:
                candidates[cell] = "".join(sorted(options))
    return candidates


def _apply(lines: Sequence[str], choice: Mapping[tuple[int, int], str]) -> list[str]:
    chars = [list(line) for line in lines]
    for (line, col), char in choice.items():
        chars[line][col] = char
    return ["".join(c) for c in chars]


def _choices(options: Mapping[tuple[int, int], str]) -> Iterator[dict[tuple[int, int], str]]:
    """Every non-empty combination of replacements, fewest changes first."""
    cells = list(options)
    for size in range(1, len(cells) + 1):
        for subset in itertools.combinations(cells, size):
            for chars in itertools.product(*(options[cell] for cell in subset)):
                yield dict(zip(subset, chars, strict=True))


def _unique_solution(
    layout: _Layout,
    lines: list[str],
    alternatives: Mapping[tuple[int, int], str],
    candidate_cells: Collection[tuple[int, int]] | None,
) -> dict[tuple[int, int], str]:
    """The one set of replacements that makes every check pass, if exactly one does."""
    checks = _resolve_checks(layout, lines)
    options = _ambiguous_cells(layout, lines, checks, alternatives, candidate_cells)
    combinations = 1
    for chars in options.values():
        combinations *= len(chars) + 1
    if not options or combinations > _MAX_COMBINATIONS:
        return {}
    solutions: list[dict[tuple[int, int], str]] = []
    for choice in _choices(options):
        candidate = _apply(lines, choice)
        if all(_check_passes(c, candidate) for c in _resolve_checks(layout, candidate)):
            solutions.append(choice)
            if len(solutions) > 1:
                return {}
    return solutions[0] if solutions else {}


def repair_mrz(
    lines: Sequence[str],
    *,
    reference: date | None,
    alternatives: Mapping[tuple[int, int], str] | None = None,
    candidate_cells: Collection[tuple[int, int]] | None = None,
) -> Repair | None:
    """Clean, fit and repair OCR lines of an MRZ; None when they form no MRZ layout.

    ``alternatives`` maps (line, column) cells to other characters a second OCR
    reading saw there; like look-alikes they are tried in alphanumeric fields
    only. ``candidate_cells`` restricts the check-digit search to cells the
    caller has evidence of doubt about (None: every look-alike cell, as
    :func:`correct_lookalikes` does). Cells refer to the fitted lines, so pass
    them only for lines that already have their layout's lengths.
    """
    cleaned = [c for c in (clean_line(line) for line in lines) if c]
    fmt = detect_format(cleaned)
    if fmt is None:
        return None
    layout = LAYOUTS[fmt]
    read = fit_lines(cleaned, fmt)
    fixed = list(read)
    normalised = _normalise(layout, fixed, serial=False)
    normalised += _repair_country_codes(layout, fixed, alternatives or {})
    normalised += _normalise(layout, fixed, serial=True)
    guessed: dict[tuple[int, int], str] = {}
    if not all(evaluate_checks(fixed, fmt).values()):
        guessed = _unique_solution(layout, fixed, alternatives or {}, candidate_cells)
        doubts = _serial_doubts(layout, read, fixed)
        if not guessed and doubts:
            # Only when the usual reading of an impossible letter leaves no solution.
            widened = {**(alternatives or {})}
            for cell, char in doubts.items():
                widened[cell] = widened.get(cell, "") + char
            cells = None if candidate_cells is None else {*candidate_cells, *doubts}
            guessed = _unique_solution(layout, fixed, widened, cells)
        fixed = _apply(fixed, guessed)
    result = _result(fmt, fixed, reference, corrected=bool(normalised or guessed))
    return Repair(result=result, read=read, normalised=normalised, guessed=sorted(guessed))


def correct_lookalikes(lines: Sequence[str], *, reference: date | None = None) -> MRZResult | None:
    """The MRZ with OCR look-alikes repaired where field semantics or check digits prove it.

    ``corrected`` is set when any character was changed. An MRZ whose check
    digits cannot be satisfied by exactly one combination of swaps is returned
    as read (after the semantic fixes), so it stays invalid.
    """
    repaired = repair_mrz(lines, reference=reference)
    return repaired.result if repaired else None
