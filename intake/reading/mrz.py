"""Machine-readable zones of identity documents (ICAO Doc 9303).

Pure logic, no OCR: check digits, parsing of the TD1 (3 x 30, ID cards), TD2
(2 x 36) and TD3 (2 x 44, passports) layouts, and the repair of OCR output.

OCR reads the OCR-B font of an MRZ with typical look-alike confusions (0/O,
1/I, 5/S, 8/B, 2/Z, 6/G, 4/A). :func:`correct_lookalikes` repairs them in two
steps of different strength:

1. *Field semantics* decide where only one reading is possible: dates and check
   digits are digits, names and country codes are letters, and the serial
   number of a German document never contains the letters A, B, D, E, I, O, Q,
   S or U. These substitutions cannot turn a tampered MRZ into a valid one,
   because no digit of a date or a check digit is ever changed by them.
2. *Check digits* decide between look-alikes in alphanumeric fields (the
   document number, optional data): a combination of swaps is accepted only
   when it makes every check digit pass and no other combination does. Such a
   repair rests on a mod-10 checksum only (a wrong guess passes one time in
   ten, and ``G``/``6`` weigh the same), so :class:`Repair` reports the cells
   it guessed, and callers with more evidence (several OCR readings, glyph
   shapes) restrict the search to the cells they actually doubt.

Letters that OCR reads for ``<`` are turned back into fillers only where the
structure proves it: in a name field, everything after ``<<<`` is filler.

Two-digit years are expanded relative to a ``reference`` date the caller
passes (the submission date), never the machine clock.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from intake.applications.documents import MRZResult

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


# --- parsing -------------------------------------------------------------------


def _to_date(year: int, yymmdd: str) -> date | None:
    try:
        return date(year, int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return None


def expand_expiry_date(yymmdd: str, reference: date | None) -> date | None:
    """Expiry dates lie at most ~20 years after the reference date."""
    if not yymmdd.isdigit():
        return None
    yy = int(yymmdd[:2])
    year = 2000 + yy
    if reference is not None and year > reference.year + 20:
        year -= 100
    return _to_date(year, yymmdd)


def expand_birth_date(yymmdd: str, reference: date | None, expiry: date | None) -> date | None:
    """Birth dates lie in the past: the latest century not after the reference date.

    Without a reference the document's own expiry date bounds the birth date,
    which is wrong for holders born more than 100 years before it, so callers
    should pass the submission date.
    """
    if not yymmdd.isdigit():
        return None
    bound = reference or expiry
    candidate = _to_date(2000 + int(yymmdd[:2]), yymmdd)
    if candidate is not None and (bound is None or candidate <= bound):
        return candidate
    return _to_date(1900 + int(yymmdd[:2]), yymmdd)


def _split_name(name_field: str) -> tuple[str, str]:
    text = name_field.rstrip(FILLER)
    surname, _, given = text.partition("<<")
    return surname.replace(FILLER, " ").strip(), given.replace(FILLER, " ").strip()


def _country(code: str) -> str:
    return code.replace(FILLER, "")


def _parse_fields(layout: _Layout, lines: Sequence[str], reference: date | None) -> dict[str, str]:
    def cut(name: str) -> str:
        return _cut(lines, layout.spans[name])

    surname, given = _split_name(cut("name"))
    expiry = expand_expiry_date(cut("expiry_date"), reference)
    birth = expand_birth_date(cut("birth_date"), reference, expiry)
    number_check = _long_number_cells(layout, lines)
    if number_check is not None:
        number = "".join(lines[line][col] for line, col in number_check.cells)
    else:
        number = cut("document_number")
    sex = cut("sex")
    fields = {
        "document_code": cut("document_code").replace(FILLER, ""),
        "issuing_state": _country(cut("issuing_state")),
        "document_number": number.replace(FILLER, ""),
        "birth_date": birth.isoformat() if birth else "",
        "expiry_date": expiry.isoformat() if expiry else "",
        "nationality": _country(cut("nationality")),
        "sex": sex if sex in ("M", "F") else "X",
        "surname": surname,
        "given_names": given,
    }
    optional = [cut(n) for n in ("optional_data_1", "optional_data_2") if n in layout.spans]
    if layout.format == "TD3":
        fields["personal_number"] = optional.pop().replace(FILLER, "")
    fields["optional_data"] = " ".join(o.strip(FILLER) for o in optional if o.strip(FILLER))
    return fields


def _result(fmt: str, lines: Sequence[str], reference: date | None, corrected: bool) -> MRZResult:
    layout = LAYOUTS[fmt]
    return MRZResult(
        format=fmt,
        lines=list(lines),
        checks=evaluate_checks(lines, fmt),
        fields=_parse_fields(layout, lines, reference),
        corrected=corrected,
    )


def parse_mrz(lines: Sequence[str], *, reference: date | None) -> MRZResult | None:
    """Parse an MRZ as read, without repairing look-alikes.

    Lines are cleaned (case, spaces, filler look-alikes) and fitted to the
    layout's lengths; None when they do not form a TD1, TD2 or TD3 zone.
    """
    cleaned = [c for c in (clean_line(line) for line in lines) if c]
    fmt = detect_format(cleaned)
    if fmt is None:
        return None
    return _result(fmt, fit_lines(cleaned, fmt), reference, corrected=False)


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
