"""The zone's layouts and check digits: the character set, check digits (weights 7, 3,
1), the TD1/TD2/TD3 layouts with their fields and checks, cleaning OCR lines and
detecting the format, which cells each check covers and whether it passes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

FILLER = "<"
MRZ_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"

_WEIGHTS = (7, 3, 1)

# OCR look-alikes: the digit a letter stands for in a digit-only position and
# the letter a digit stands for in a letter-only position.
_LETTER_AS_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "Z": "2",
                    "S": "5", "B": "8", "G": "6", "A": "4", "T": "7"}  # fmt: skip
_DIGIT_AS_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B",
                    "7": "T"}  # fmt: skip
# Pairs that alphanumeric positions can only resolve with the check digits.
_AMBIGUOUS_PAIRS = (("0", "O"), ("1", "I"), ("5", "S"), ("8", "B"), ("2", "Z"), ("6", "G"),
                    ("4", "A"))  # fmt: skip
_ALTERNATIVE = {a: b for pair in _AMBIGUOUS_PAIRS for a, b in (pair, pair[::-1])}

# Letters that occur in German ID card and passport serial numbers (BSI): no
# vowels and none of the letters that resemble digits (B, D, Q, S).
_GERMAN_SERIAL_LETTERS = frozenset("CFGHJKLMNPRTVWXYZ")

# Letters a German serial cannot contain that OCR reads for a second digit besides
# the one field semantics maps them to (see _serial_doubts).
_SERIAL_SECOND_READING = {"S": "8"}

_MAX_COMBINATIONS = 4096

# ICAO 9303 Part 3 three-letter codes of states, organisations and special
# nationalities, plus the single-letter code of Germany.
ICAO_CODES = frozenset(
    """
    AFG ALB DZA ASM AND AGO AIA ATA ATG ARG ARM ABW AUS AUT AZE BHS BHR BGD BRB BLR BEL BLZ
    BEN BMU BTN BOL BES BIH BWA BVT BRA IOT BRN BGR BFA BDI CPV KHM CMR CAN CYM CAF TCD CHL
    CHN CXR CCK COL COM COG COD COK CRI CIV HRV CUB CUW CYP CZE DNK DJI DMA DOM ECU EGY SLV
    GNQ ERI EST SWZ ETH FLK FRO FJI FIN FRA GUF PYF ATF GAB GMB GEO DEU GHA GIB GRC GRL GRD
    GLP GUM GTM GGY GIN GNB GUY HTI HMD VAT HND HKG HUN ISL IND IDN IRN IRQ IRL IMN ISR ITA
    JAM JPN JEY JOR KAZ KEN KIR PRK KOR KWT KGZ LAO LVA LBN LSO LBR LBY LIE LTU LUX MAC MDG
    MWI MYS MDV MLI MLT MHL MTQ MRT MUS MYT MEX FSM MDA MCO MNG MNE MSR MAR MOZ MMR NAM NRU
    NPL NLD NCL NZL NIC NER NGA NIU NFK MKD MNP NOR OMN PAK PLW PSE PAN PNG PRY PER PHL PCN
    POL PRT PRI QAT REU ROU RUS RWA BLM SHN KNA LCA MAF SPM VCT WSM SMR STP SAU SEN SRB SYC
    SLE SGP SXM SVK SVN SLB SOM ZAF SGS SSD ESP LKA SDN SUR SJM SWE CHE SYR TWN TJK TZA THA
    TLS TGO TKL TON TTO TUN TUR TKM TCA TUV UGA UKR ARE GBR USA UMI URY UZB VUT VEN VNM VGB
    VIR WLF ESH YEM ZMB ZWE RKS EUE UNO UNA UNK XBA XIM XCC XCE XCO XEC XPO XES XMP XOM XDC
    XXA XXB XXC XXX GBD GBN GBO GBP GBS UTO D
    """.split()
)


def char_value(char: str) -> int:
    """Value of one MRZ character in the check digit sum (``<`` = 0, A = 10 ... Z = 35)."""
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise ValueError(f"not an MRZ character: {char!r}")


def check_digit(data: str) -> str:
    """ICAO 9303 check digit of ``data``: weights 7, 3, 1 repeating, sum mod 10."""
    total = sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(data))
    return str(total % 10)


# --- layouts ---------------------------------------------------------------

Span = tuple[int, int, int]  # line, start, end (end exclusive)


@dataclass(frozen=True, slots=True)
class _Check:
    name: str
    data: tuple[Span, ...]
    digit: tuple[int, int]  # line, column


@dataclass(frozen=True, slots=True)
class _Layout:
    format: str
    lengths: tuple[int, ...]
    name_line: int
    kinds: tuple[str, ...]  # per line, one kind letter per column (see _kinds)
    spans: dict[str, Span]
    checks: tuple[_Check, ...]


def _kinds(*parts: tuple[str, int]) -> str:
    """Column kinds of one line: N digit, A letter, X alphanumeric, S sex, C check digit."""
    return "".join(kind * count for kind, count in parts)


_TD1 = _Layout(
    format="TD1",
    lengths=(30, 30, 30),
    name_line=2,
    kinds=(
        _kinds(("A", 5), ("X", 9), ("C", 1), ("X", 15)),
        _kinds(("N", 6), ("C", 1), ("S", 1), ("N", 6), ("C", 1), ("A", 3), ("X", 11), ("C", 1)),
        _kinds(("A", 30)),
    ),
    spans={
        "document_code": (0, 0, 2),
        "issuing_state": (0, 2, 5),
        "document_number": (0, 5, 14),
        "optional_data_1": (0, 15, 30),
        "birth_date": (1, 0, 6),
        "sex": (1, 7, 8),
        "expiry_date": (1, 8, 14),
        "nationality": (1, 15, 18),
        "optional_data_2": (1, 18, 29),
        "name": (2, 0, 30),
    },
    checks=(
        _Check("document_number", ((0, 5, 14),), (0, 14)),
        _Check("birth_date", ((1, 0, 6),), (1, 6)),
        _Check("expiry_date", ((1, 8, 14),), (1, 14)),
        _Check("composite", ((0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)), (1, 29)),
    ),
)


def _two_line_layout(fmt: str, length: int) -> _Layout:
    """TD2 and TD3 share one structure; only the name and optional field widths differ."""
    second = [("X", 9), ("C", 1), ("A", 3), ("N", 6), ("C", 1), ("S", 1), ("N", 6), ("C", 1)]
    checks = [
        _Check("document_number", ((1, 0, 9),), (1, 9)),
        _Check("birth_date", ((1, 13, 19),), (1, 19)),
        _Check("expiry_date", ((1, 21, 27),), (1, 27)),
    ]
    if fmt == "TD3":  # personal number with its own check digit, then the composite
        second += [("X", 14), ("C", 1), ("C", 1)]
        checks.append(_Check("personal_number", ((1, 28, 42),), (1, 42)))
        optional_end = 42
    else:
        second += [("X", 7), ("C", 1)]
        optional_end = 35
    checks.append(
        _Check("composite", ((1, 0, 10), (1, 13, 20), (1, 21, length - 1)), (1, length - 1))
    )
    return _Layout(
        format=fmt,
        lengths=(length, length),
        name_line=0,
        kinds=(_kinds(("A", length)), _kinds(*second)),
        spans={
            "document_code": (0, 0, 2),
            "issuing_state": (0, 2, 5),
            "name": (0, 5, length),
            "document_number": (1, 0, 9),
            "nationality": (1, 10, 13),
            "birth_date": (1, 13, 19),
            "sex": (1, 20, 21),
            "expiry_date": (1, 21, 27),
            "optional_data_2": (1, 28, optional_end),
        },
        checks=tuple(checks),
    )


LAYOUTS: dict[str, _Layout] = {
    "TD1": _TD1,
    "TD2": _two_line_layout("TD2", 36),
    "TD3": _two_line_layout("TD3", 44),
}


def _cut(lines: Sequence[str], span: Span) -> str:
    line, start, end = span
    return lines[line][start:end]


# --- cleaning and layout detection -------------------------------------------

_FILLER_LOOKALIKES = str.maketrans({"«": "<", "‹": "<", "≤": "<", "〈": "<", "(": "<"})


def clean_line(raw: str) -> str:
    """Upper-case an OCR line, map filler look-alikes to ``<`` and drop everything else.

    OCR splits MRZ lines into words at random, so spaces are dropped too.
    """
    text = raw.upper().translate(_FILLER_LOOKALIKES)
    return "".join(c for c in text if c in MRZ_CHARSET)


def detect_format(lines: Sequence[str]) -> str | None:
    """TD1, TD2 or TD3 from the number and lengths of (cleaned) lines, or None.

    The longest line decides: a short name line (OCR lost its fillers) says little.
    """
    if not lines:
        return None
    longest = max(len(line) for line in lines)
    if len(lines) == 3 and 25 <= longest <= 35:
        return "TD1"
    if len(lines) == 2 and 40 <= longest <= 48:
        return "TD3"
    if len(lines) == 2 and 32 <= longest < 40:
        return "TD2"
    return None


def _fit_name_line(line: str, length: int) -> str:
    if len(line) > length:
        line = line.rstrip(FILLER).ljust(length, FILLER)[:length]
    return line.ljust(length, FILLER)


def _fit_data_line(line: str, length: int) -> str:
    """Fix the length of a data line by resizing its filler run.

    OCR most often merges or splits the long run of fillers; resizing that run
    keeps the fields behind it (the composite check digit) in their columns.
    """
    delta = length - len(line)
    if delta == 0:
        return line
    runs = [(m.end() - m.start(), m.start(), m.end()) for m in re.finditer("<+", line)]
    if not runs:
        return line.ljust(length, FILLER)[:length]
    size, start, end = max(runs)  # longest run; the last of equals
    if delta > 0:
        return line[:end] + FILLER * delta + line[end:]
    keep = max(size + delta, 1 if end < len(line) else 0)
    line = line[: start + keep] + line[end:]
    return line.ljust(length, FILLER)[:length]


def _fit_name_fillers(name_field: str) -> str:
    """Everything after the first ``<<<`` of a name field is filler.

    Names contain ``<`` between parts and ``<<`` between surname and given names,
    never three in a row, so letters after ``<<<`` are misread fillers (tesseract
    often reads a ``<`` as ``K`` or ``C``).
    """
    cut = name_field.find("<<<")
    if cut < 0:
        return name_field
    return name_field[:cut] + FILLER * (len(name_field) - cut)


def fit_lines(lines: Sequence[str], fmt: str) -> list[str]:
    """Bring cleaned lines to the exact lengths of ``fmt``."""
    layout = LAYOUTS[fmt]
    fitted: list[str] = []
    for index, (raw, length) in enumerate(zip(lines, layout.lengths, strict=True)):
        if index == layout.name_line:
            fitted.append(_fit_name_line(raw, length))
        else:
            fitted.append(_fit_data_line(raw, length))
    name_line, start, end = layout.spans["name"]
    text = fitted[name_line]
    fitted[name_line] = text[:start] + _fit_name_fillers(text[start:end]) + text[end:]
    return fitted


# --- checks -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ResolvedCheck:
    name: str
    cells: tuple[tuple[int, int], ...]  # (line, column) of every data character
    digit: tuple[int, int]


def _cells(spans: Sequence[Span]) -> tuple[tuple[int, int], ...]:
    return tuple((line, col) for line, start, end in spans for col in range(start, end))


def _long_number_cells(layout: _Layout, lines: Sequence[str]) -> _ResolvedCheck | None:
    """The document number check when the number overflows into the optional data.

    TD1 and TD2 numbers longer than nine characters put ``<`` in the check digit
    column and continue in the optional data, followed by their check digit.
    """
    if layout.format == "TD3":
        return None
    line, start, end = layout.spans["document_number"]
    opt_line, opt_start, opt_end = layout.spans["optional_data_1" if layout.format == "TD1"
                                                 else "optional_data_2"]  # fmt: skip
    if lines[line][end] != FILLER or lines[opt_line][opt_start] == FILLER:
        return None
    overflow_end = lines[opt_line].find(FILLER, opt_start, opt_end)
    if overflow_end < 0:
        overflow_end = opt_end
    if overflow_end - opt_start < 2:
        return None
    cells = _cells([(line, start, end), (opt_line, opt_start, overflow_end - 1)])
    return _ResolvedCheck("document_number", cells, (opt_line, overflow_end - 1))


def _resolve_checks(layout: _Layout, lines: Sequence[str]) -> list[_ResolvedCheck]:
    resolved: list[_ResolvedCheck] = []
    for check in layout.checks:
        if check.name == "document_number":
            long_number = _long_number_cells(layout, lines)
            if long_number is not None:
                resolved.append(long_number)
                continue
        if check.name == "personal_number":
            line, column = check.digit
            empty = set(_cut(lines, check.data[0])) == {FILLER}
            if empty and lines[line][column] in "<0":
                continue  # no personal number: nothing to check
        resolved.append(_ResolvedCheck(check.name, _cells(check.data), check.digit))
    return resolved


def _check_passes(check: _ResolvedCheck, lines: Sequence[str]) -> bool:
    data = "".join(lines[line][col] for line, col in check.cells)
    line, col = check.digit
    return check_digit(data) == lines[line][col]


def check_cells(lines: Sequence[str], fmt: str) -> dict[str, set[tuple[int, int]]]:
    """The (line, column) cells each check digit covers, its own cell included."""
    checks = _resolve_checks(LAYOUTS[fmt], lines)
    return {c.name: {*c.cells, c.digit} for c in checks}


def evaluate_checks(lines: Sequence[str], fmt: str) -> dict[str, bool]:
    """Every check digit of a fitted MRZ, by name."""
    layout = LAYOUTS[fmt]
    return {c.name: _check_passes(c, lines) for c in _resolve_checks(layout, lines)}
