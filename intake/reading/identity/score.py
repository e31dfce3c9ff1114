"""Scoring the fields: the MRZ and the visual zone merged field by field, names aligned
across the zones, and the confidence each value earns (confirmed, checked, conflicting).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from intake.applications.documents import (
    IDENTITY_FIELDS,
    PRINTED_NUMBER,
    FieldValue,
    MRZResult,
    TextSource,
)
from intake.reading.identity.find import _is_mrz_text, _Row, _union_all
from intake.reading.identity.visual import _clean_name, _Found, parse_printed_date
from intake.reading.identity.vote import MrzReading, _lookalikes
from intake.reading.mrz import (
    FILLER,
    ICAO_CODES,
    clean_line,
)
from intake.reading.names import icao_transliterate

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
