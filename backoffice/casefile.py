"""The case view's content: documents with their field boxes, what was read beside what
the citizen typed, the reasons in plain language, and the rules re-run on the
corrected values.

Labels and explanations are English message ids (translated by the back office's
``locale/de.po``); the templates pass them through ``_()``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from backoffice.service import get_path
from intake.applications import processing
from intake.applications import service as intake_service
from intake.applications.documents import DocumentReading
from intake.applications.models import Application, AuditEntry, Document
from intake.reading.names import comparable, names_match, normalize_street
from intake.reading.normalize import (
    normalize_house_number,
    normalize_postal_code,
    parse_date,
    same_city,
)
from intake.services.decision import decide


def N_(message: str) -> str:  # noqa: N802  (marks a message id for translation)
    return message


FIELD_LABELS = {
    "surname": N_("Surname"),
    "given_names": N_("Given names"),
    "birth_date": N_("Date of birth"),
    "document_number": N_("Document number"),
    "nationality": N_("Nationality"),
    "expiry_date": N_("Valid until"),
    "landlord_name": N_("Landlord"),
    "move_in_date": N_("Move-in date"),
    "street": N_("Street"),
    "house_number": N_("House number"),
    "postal_code": N_("Postal code"),
    "city": N_("City"),
    "residents": N_("Residents named"),
}
DOC_TYPE_LABELS = {
    "id_card": N_("Identity card"),
    "passport": N_("Passport"),
    "landlord_confirmation": N_("Landlord confirmation"),
    "other": N_("Other document"),
}
REASON_TEXTS = {
    "MISSING_DOCUMENT": N_("A required document is missing."),
    "WRONG_DOCUMENT_TYPE": N_("An upload is not the kind of document that was asked for."),
    "UNREADABLE_DOCUMENT": N_(
        "A document could not be read with enough certainty. Please compare it by eye."
    ),
    "MRZ_INVALID": N_(
        "The machine-readable lines of the identity document do not pass their check digits."
    ),
    "ID_EXPIRED": N_("The identity document had expired when the application was submitted."),
    "NAME_MISMATCH": N_(
        "A name differs between the form, the identity document and the landlord confirmation."
    ),
    "BIRTH_DATE_MISMATCH": N_("The date of birth on the form differs from the identity document."),
    "DOCUMENT_NUMBER_MISMATCH": N_(
        "The document number on the form differs from the identity document."
    ),
    "ADDRESS_MISMATCH": N_("The new address on the form differs from the landlord confirmation."),
    "MOVE_IN_DATE_MISMATCH": N_(
        "The move-in date on the form differs from the landlord confirmation."
    ),
    "PERSON_NOT_LISTED": N_("A person registering is not named on the landlord confirmation."),
    "LATE_REGISTRATION": N_(
        "The registration came more than 14 days after moving in (§ 17 (1) BMG)."
    ),
    "FUTURE_MOVE_IN": N_("The move-in date lies after the day of the application."),
    "OUTSIDE_CITY": N_("The new address is not in this city."),
    "INVALID_APPLICATION": N_("The form data itself is incomplete or malformed."),
}
REASON_NAMES = {
    "MISSING_DOCUMENT": N_("Document missing"),
    "WRONG_DOCUMENT_TYPE": N_("Wrong document"),
    "UNREADABLE_DOCUMENT": N_("Document unreadable"),
    "MRZ_INVALID": N_("Check digits fail"),
    "ID_EXPIRED": N_("Identity document expired"),
    "NAME_MISMATCH": N_("Name differs"),
    "BIRTH_DATE_MISMATCH": N_("Date of birth differs"),
    "DOCUMENT_NUMBER_MISMATCH": N_("Document number differs"),
    "ADDRESS_MISMATCH": N_("Address differs"),
    "MOVE_IN_DATE_MISMATCH": N_("Move-in date differs"),
    "PERSON_NOT_LISTED": N_("Person not listed"),
    "LATE_REGISTRATION": N_("Late registration"),
    "FUTURE_MOVE_IN": N_("Move-in in the future"),
    "OUTSIDE_CITY": N_("Outside the city"),
    "INVALID_APPLICATION": N_("Form data invalid"),
}

ACTION_LABELS = {
    "submitted": N_("Application submitted"),
    "processing_started": N_("Reading of the documents started"),
    "processing_resumed": N_("Reading resumed after an interruption"),
    "queued_for_review": N_("Put in the work queue"),
    "decided": N_("Decided"),
    "completed": N_("Letter and notification sent"),
    "documents_purged": N_("Documents deleted (retention period)"),
    "claimed": N_("Claimed"),
    "released": N_("Released"),
    "value_corrected": N_("Value corrected"),
    "document_requested": N_("Document requested from the applicant"),
    "document_request_closed": N_("Document request closed"),
    "document_added": N_("Document handed in by the applicant"),
}

IDENTITY_FIELDS = {  # document field -> key in a person of the form
    "surname": "surname",
    "given_names": "given_names",
    "birth_date": "birth_date",
    "document_number": "id_document_number",
    "nationality": "nationality",
    "expiry_date": None,
}
LANDLORD_FIELDS = {  # document field -> form path
    "landlord_name": None,
    "move_in_date": "move_in_date",
    "street": "new_address.street",
    "house_number": "new_address.house_number",
    "postal_code": "new_address.postal_code",
    "city": "new_address.city",
    "residents": None,
}
IDENTITY_TYPES = ("id_card", "passport")
NATIONALITY_ALIASES = {"DEU": "D", "DEUTSCH": "D", "GERMAN": "D"}


def _same_text(a: str, b: str) -> bool:
    return comparable(a) == comparable(b)


def _same_date(a: str, b: str) -> bool:
    first, second = parse_date(a), parse_date(b)
    return first is not None and first == second


def _same_number(a: str, b: str) -> bool:
    return re.sub(r"\s", "", a).upper() == re.sub(r"\s", "", b).upper()


def _same_nationality(a: str, b: str) -> bool:
    first, second = a.strip().upper(), b.strip().upper()
    return NATIONALITY_ALIASES.get(first, first) == NATIONALITY_ALIASES.get(second, second)


EQUALITY: dict[str, Callable[[str, str], bool]] = {
    "surname": names_match,
    "given_names": names_match,
    "birth_date": _same_date,
    "move_in_date": _same_date,
    "document_number": _same_number,
    "nationality": _same_nationality,
    "street": lambda a, b: normalize_street(a) == normalize_street(b),
    "house_number": lambda a, b: normalize_house_number(a) == normalize_house_number(b),
    "postal_code": lambda a, b: normalize_postal_code(a) == normalize_postal_code(b),
    "city": same_city,
}


@dataclass(slots=True)
class Box:
    x: int
    y: int
    width: int
    height: int
    field: str
    label: str
    value: str
    problem: bool
    marker: int | None


@dataclass(slots=True)
class PageView:
    position: int  # index into the reading's pages (the image URL uses it)
    number: int  # 1-based for people
    width: int
    height: int
    url: str
    boxes: list[Box] = field(default_factory=list)


@dataclass(slots=True)
class FieldRow:
    anchor: str
    document_id: int
    field: str
    label: str
    person: int | None
    extracted: str
    extracted_raw: Any
    confidence: float | None
    source: str
    typed: str | None
    form_path: str | None
    state: str  # match | differs | not_read | no_counterpart
    problem: bool
    marker: int | None
    on_page: int | None  # 1-based page number where the box is drawn


@dataclass(slots=True)
class DocumentView:
    id: int
    file: str
    name: str
    declared_type: str
    doc_type: str | None
    type_confidence: float | None
    problems: list[str]
    purged: bool
    pages: list[PageView]
    rows: list[FieldRow]
    person: int | None


@dataclass(slots=True)
class ReasonView:
    code: str
    name: str
    explanation: str
    message_de: str
    message_en: str
    anchor: str | None  # the comparison row the finding is about


@dataclass(slots=True)
class CaseFile:
    documents: list[DocumentView]
    reasons: list[ReasonView]
    recheck: list[ReasonView] | None  # the rules on the corrected values (None: no edits)
    corrections: list[dict[str, Any]]
    persons: list[Mapping[str, Any]]
    data: dict[str, Any]

    @property
    def open_findings(self) -> int:
        return len(self.recheck if self.recheck is not None else self.reasons)


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _reading(document: Document) -> dict[str, Any] | None:
    if document.reading_json is None or document.purged_at is not None:
        return None
    data: dict[str, Any] = json.loads(document.reading_json)
    return data


def _person_of(
    document: Document,
    reading: Mapping[str, Any],
    persons: Sequence[Mapping[str, Any]],
    findings: Sequence[Mapping[str, Any]],
) -> int | None:
    """Which person an identity document belongs to: declared, then by its content."""
    if document.person_index is not None and document.person_index < len(persons):
        return document.person_index
    for finding in findings:
        if finding.get("document") == document.file and finding.get("person") is not None:
            return int(finding["person"])
    fields = reading.get("fields", {})
    number = value_text((fields.get("document_number") or {}).get("value"))
    surname = value_text((fields.get("surname") or {}).get("value"))
    for index, person in enumerate(persons):
        if number and _same_number(number, str(person.get("id_document_number") or "")):
            return index
    for index, person in enumerate(persons):
        if surname and names_match(surname, str(person.get("surname") or "")):
            return index
    return 0 if len(persons) == 1 else None


def _residents_state(value: Any, persons: Sequence[Mapping[str, Any]]) -> bool:
    residents = [comparable(str(r)) for r in (value if isinstance(value, list) else [value])]
    for person in persons:
        surname = comparable(str(person.get("surname") or ""))
        given = comparable(str(person.get("given_names") or "")).split()
        first = given[0] if given else ""
        if not any(surname in r and first in r for r in residents):
            return False
    return True


def _typed_for(
    doc_type: str | None,
    name: str,
    person: int | None,
    data: Mapping[str, Any],
    persons: Sequence[Mapping[str, Any]],
) -> tuple[str | None, str | None]:
    """What the citizen typed for a document field, and the form path it sits at."""
    if doc_type in IDENTITY_TYPES and name in IDENTITY_FIELDS:
        key = IDENTITY_FIELDS[name]
        if key is None or person is None or person >= len(persons):
            return None, None
        return value_text(persons[person].get(key)), f"persons.{person}.{key}"
    if doc_type == "landlord_confirmation":
        if name == "residents":
            names = [f"{p.get('given_names', '')} {p.get('surname', '')}".strip() for p in persons]
            return "; ".join(names), None
        path = LANDLORD_FIELDS.get(name)
        if path is None:
            return None, None
        return value_text(get_path(data, path)), path
    return None, None


def _state(
    name: str, extracted: Any, typed: str | None, persons: Sequence[Mapping[str, Any]]
) -> str:
    if extracted in (None, "", []):
        return "not_read"
    if name == "residents":
        return "match" if _residents_state(extracted, persons) else "differs"
    if typed is None:
        return "no_counterpart"
    equal = EQUALITY.get(name, _same_text)
    return "match" if equal(value_text(extracted), typed) else "differs"


def _field_order(doc_type: str | None, fields: Mapping[str, Any]) -> list[str]:
    if doc_type in IDENTITY_TYPES:
        base = list(IDENTITY_FIELDS)
    elif doc_type == "landlord_confirmation":
        base = list(LANDLORD_FIELDS)
    else:
        base = []
    extra = [n for n in fields if n not in base and not n.startswith("mrz_viz")]
    return base + extra


def page_url(application_id: str, document_id: int, position: int) -> str:
    return f"/backoffice/vorgaenge/{application_id}/dokumente/{document_id}/seiten/{position}.png"


def build(session: Session, application: Application) -> CaseFile:
    data = application.data
    persons = [p for p in data.get("persons") or [] if isinstance(p, Mapping)]
    findings = application.findings
    problem_fields = {(f.get("document"), f.get("field")) for f in findings}
    documents: list[DocumentView] = []
    readings: list[DocumentReading] = []
    marker = 0
    for document in intake_service.documents_of(session, application):
        assert document.id is not None
        reading = _reading(document)
        view = DocumentView(
            id=document.id,
            file=document.file,
            name=document.original_name,
            declared_type=document.declared_type,
            doc_type=document.doc_type,
            type_confidence=(reading or {}).get("type_confidence"),
            problems=list((reading or {}).get("problems", [])),
            purged=document.purged_at is not None,
            pages=[],
            rows=[],
            person=None,
        )
        documents.append(view)
        if reading is None:
            continue
        readings.append(processing.reading_from_json(reading))
        person = (
            _person_of(document, reading, persons, findings)
            if document.doc_type in IDENTITY_TYPES
            else None
        )
        view.person = person
        pages = reading.get("pages", [])
        positions: dict[int, int] = {}
        for position, page in enumerate(pages):
            positions.setdefault(int(page.get("index", position)), position)
            view.pages.append(
                PageView(
                    position=position,
                    number=position + 1,
                    width=int(page["width"]),
                    height=int(page["height"]),
                    url=page_url(application.id, document.id, position),
                )
            )
        fields = reading.get("fields", {})
        for name in _field_order(document.doc_type, fields):
            found = fields.get(name) or {}
            extracted = found.get("value")
            typed, path = _typed_for(document.doc_type, name, person, data, persons)
            state = _state(name, extracted, typed, persons)
            problem = (document.file, name) in problem_fields
            row_marker = None
            on_page = None
            at = positions.get(found["page"]) if found.get("page") is not None else None
            if at is not None and found.get("box"):
                x0, y0, x1, y1 = (int(v) for v in found["box"])
                if problem or state == "differs":
                    marker += 1
                    row_marker = marker
                on_page = at + 1
                view.pages[at].boxes.append(
                    Box(
                        x=x0,
                        y=y0,
                        width=max(1, x1 - x0),
                        height=max(1, y1 - y0),
                        field=name,
                        label=FIELD_LABELS.get(name, name),
                        value=value_text(extracted),
                        problem=problem or state == "differs",
                        marker=row_marker,
                    )
                )
            view.rows.append(
                FieldRow(
                    anchor=f"feld-{document.id}-{name}",
                    document_id=document.id,
                    field=name,
                    label=FIELD_LABELS.get(name, name),
                    person=person,
                    extracted=value_text(extracted),
                    extracted_raw=extracted,
                    confidence=found.get("confidence"),
                    source=str(found.get("source") or ""),
                    typed=typed,
                    form_path=path,
                    state=state,
                    problem=problem,
                    marker=row_marker,
                    on_page=on_page,
                )
            )
    anchors = {(d.file, r.field): r.anchor for d in documents for r in d.rows}
    reasons = [_reason(f, anchors) for f in findings]
    corrections = _corrections(intake_service.audit_of(session, application))
    recheck = None
    if corrections:
        decision = decide(data, readings)
        recheck = [_reason(f.as_json(), anchors) for f in decision.findings]
    return CaseFile(documents, reasons, recheck, corrections, persons, data)


def _reason(finding: Mapping[str, Any], anchors: Mapping[tuple[str, str], str]) -> ReasonView:
    code = str(finding.get("code"))
    return ReasonView(
        code=code,
        name=REASON_NAMES.get(code, code),
        explanation=REASON_TEXTS.get(code, code),
        message_de=str(finding.get("message_de") or ""),
        message_en=str(finding.get("message_en") or finding.get("message_de") or ""),
        anchor=anchors.get((str(finding.get("document")), str(finding.get("field")))),
    )


def _corrections(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    result = []
    for entry in entries:
        if entry.action != "value_corrected":
            continue
        details = json.loads(entry.details_json or "{}")
        result.append(
            {
                "at": entry.at,
                "actor": entry.actor,
                "reason": entry.reason,
                "target": details.get("target"),
                "document": details.get("document"),
                "field": details.get("field"),
                "before": value_text(details.get("before")),
                "after": value_text(details.get("after")),
            }
        )
    return result
