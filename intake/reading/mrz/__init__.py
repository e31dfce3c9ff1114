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

The package's parts: ``layout`` (layouts, check digits), ``parse`` (fields), ``repair``
(look-alikes). Others import from the package, not from its parts.
"""

from intake.reading.mrz.layout import (
    FILLER,
    ICAO_CODES,
    LAYOUTS,
    MRZ_CHARSET,
    Span,
    char_value,
    check_cells,
    check_digit,
    clean_line,
    detect_format,
    evaluate_checks,
    fit_lines,
)
from intake.reading.mrz.parse import expand_birth_date, expand_expiry_date, parse_mrz
from intake.reading.mrz.repair import Repair, correct_lookalikes, repair_mrz, semantic_char

__all__ = [
    "char_value",
    "check_cells",
    "check_digit",
    "clean_line",
    "correct_lookalikes",
    "detect_format",
    "evaluate_checks",
    "expand_birth_date",
    "expand_expiry_date",
    "FILLER",
    "fit_lines",
    "ICAO_CODES",
    "LAYOUTS",
    "MRZ_CHARSET",
    "parse_mrz",
    "Repair",
    "repair_mrz",
    "semantic_char",
    "Span",
]
