"""Parsing a zone into fields: dates with their century, names, nationality."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from intake.applications.documents import MRZResult
from intake.reading.mrz.layout import (
    FILLER,
    LAYOUTS,
    _cut,
    _Layout,
    _long_number_cells,
    clean_line,
    detect_format,
    evaluate_checks,
    fit_lines,
)

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
