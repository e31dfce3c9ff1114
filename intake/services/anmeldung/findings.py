"""Findings and comparisons: a document unreadable or disagreeing with the form, and how
names, dates, numbers, nationalities, streets and cities compare.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from intake.applications.documents import DocumentReading, FieldValue
from intake.reading.names import comparable, names_match, normalize_street
from intake.reading.normalize import (
    normalize_house_number,
    normalize_postal_code,
    parse_date,
    same_city,
)
from intake.services.anmeldung.fields import FIELD_LABELS
from intake.services.anmeldung.matching import _doc_number
from intake.services.base import (
    Finding,
    Judgement,
    ReasonCode,
    RuleContext,
    Verdict,
)

# --- findings -------------------------------------------------------------------------


def _doc_name(file: str) -> str:
    return PurePosixPath(file).name


def _person_name(person: Mapping[str, Any]) -> str:
    return f"{person.get('given_names', '')} {person.get('surname', '')}".strip()


def _shown_de(text: str) -> str:
    """ISO dates as Germans write them (16.07.1990); anything else unchanged."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        parsed = parse_date(text)
        if parsed is not None:
            return f"{parsed:%d.%m.%Y}"
    return text


def _unreadable(reading: DocumentReading, judged: Judgement, person: int | None) -> Finding:
    de, en = FIELD_LABELS.get(judged.name, (judged.name, judged.name))
    doc = _doc_name(reading.file)
    if judged.verdict is Verdict.MISSING:
        message_de = f"Das Feld „{de}“ wurde in „{doc}“ nicht gefunden."
        message_en = f"The {en} was not found in '{doc}'."
    else:
        message_de = (
            f"Das Feld „{de}“ in „{doc}“ ist nicht sicher lesbar (gelesen: "
            f"„{_shown_de(judged.text)}“, Sicherheit {judged.confidence:.0%})."
        )
        message_en = (
            f"The {en} in '{doc}' could not be read with confidence (read: "
            f"'{judged.text}', confidence {judged.confidence:.0%})."
        )
    return Finding(
        ReasonCode.UNREADABLE_DOCUMENT,
        message_de,
        message_en,
        person=person,
        document=reading.file,
        field=judged.name,
        details={"document_value": judged.value, "confidence": round(judged.confidence, 3)},
    )


def _mismatch(
    code: ReasonCode,
    reading: DocumentReading,
    judged: Judgement,
    form_value: Any,
    person: int | None,
) -> Finding:
    de, en = FIELD_LABELS.get(judged.name, (judged.name, judged.name))
    doc = _doc_name(reading.file)
    uncertain = not judged.trusted
    prefix_de = "Möglicherweise abweichend (unsicher gelesen): " if uncertain else ""
    prefix_en = "Possibly different (read with low confidence): " if uncertain else ""
    return Finding(
        code,
        f"{prefix_de}{de} im Antrag „{_shown_de(str(form_value))}“, in „{doc}“ aber "
        f"„{_shown_de(judged.text)}“.",
        f"{prefix_en}{en} on the form is '{form_value}', but '{judged.text}' in '{doc}'.",
        person=person,
        document=reading.file,
        field=judged.name,
        details={
            "form_value": form_value,
            "document_value": judged.value,
            "confidence": round(judged.confidence, 3),
            "uncertain": uncertain,
        },
    )


def _compare(
    ctx: RuleContext,
    reading: DocumentReading,
    name: str,
    *,
    code: ReasonCode | None,
    form_value: Any,
    equal: Any,
    person: int | None = None,
    others: Sequence[FieldValue] = (),
) -> tuple[Judgement, list[Finding]]:
    """Judge one field against the form and turn the verdict into findings."""
    judged = ctx.judge(reading, name, expected=form_value, equal=equal, others=others)
    findings: list[Finding] = []
    if not judged.trusted:
        findings.append(_unreadable(reading, judged, person))
    if code is not None and judged.differs and judged.value is not None:
        findings.append(_mismatch(code, reading, judged, form_value, person))
    return judged, findings


# --- comparisons ----------------------------------------------------------------------


def _names_equal(document_value: Any, form_value: Any) -> bool:
    """Equal under ICAO transliteration. No prefix matching for truncated MRZ names: a
    prefix would also accept a typo at the end of a name (``Böhmn`` vs ``BOEHM``)."""
    doc, form = str(document_value or ""), str(form_value or "")
    return names_match(form, doc)


def _dates_equal(document_value: Any, form_value: Any) -> bool:
    parsed = parse_date(str(document_value or ""))
    return parsed is not None and parsed == parse_date(str(form_value or ""))


def _numbers_equal(document_value: Any, form_value: Any) -> bool:
    number = _doc_number(document_value)
    return bool(number) and number == _doc_number(form_value)


_GERMAN = {"D", "DEU", "DEUTSCH", "DEUTSCHLAND", "GERMAN", "GERMANY"}


def _nationality_key(text: Any) -> str:
    key = comparable(str(text or "")).upper().strip()
    return "D" if key in _GERMAN else key


def _nationalities_equal(document_value: Any, form_value: Any) -> bool:
    doc = _nationality_key(document_value)
    return bool(doc) and doc == _nationality_key(form_value)


def _streets_equal(document_value: Any, form_value: Any) -> bool:
    doc = normalize_street(str(document_value or ""))
    return bool(doc) and doc == normalize_street(str(form_value or ""))


def _house_numbers_equal(document_value: Any, form_value: Any) -> bool:
    doc = normalize_house_number(str(document_value or ""))
    return bool(doc) and doc == normalize_house_number(str(form_value or ""))


def _postal_codes_equal(document_value: Any, form_value: Any) -> bool:
    doc = normalize_postal_code(str(document_value or ""))
    return bool(doc) and doc == normalize_postal_code(str(form_value or ""))


def _cities_equal(document_value: Any, form_value: Any) -> bool:
    return same_city(str(document_value or ""), str(form_value or ""))


def _always_equal(document_value: Any, form_value: Any) -> bool:
    return True
