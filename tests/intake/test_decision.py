"""The decision engine: generic over services, ordered reasons, form validation, and the
Anmeldung rules over every dev case when the documents are read perfectly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from intake.applications.documents import DocType, DocumentReading, FieldValue, MRZResult
from intake.services import get_service
from intake.services.base import (
    FieldType,
    Finding,
    FormField,
    ReasonCode,
    RuleContext,
    ServiceDefinition,
    register_service,
    rule,
)
from intake.services.decision import decide, validate_application

DEV = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "anmeldung-dev"


@rule("test.dog_named")
def _dog_named(ctx: RuleContext) -> list[Finding]:
    if ctx.application.get("dog_name"):
        return []
    return [Finding(ReasonCode.MISSING_DOCUMENT, "Hund fehlt.", "Dog missing.")]


@rule("test.twice")
def _twice(ctx: RuleContext) -> list[Finding]:
    finding = Finding(ReasonCode.LATE_REGISTRATION, "Zu spät.", "Too late.", field="x")
    return [finding, finding]


TOY = register_service(
    ServiceDefinition(
        id="toy-dog-licence",
        name_de="Hundesteuer",
        name_en="Dog licence",
        legal_basis="test",
        form_fields=(FormField("dog_name", FieldType.TEXT, "Name des Hundes", "Dog's name"),),
        documents=(),
        rules=("test.twice", "test.dog_named"),
    )
)


def test_engine_runs_any_service_in_declared_rule_order() -> None:
    application = {"service": "toy-dog-licence", "submitted_at": "2026-01-01T00:00:00+01:00"}
    result = decide(application, [], service=TOY)
    assert result.decision == "review"
    # form validation first, then the rules in the order the definition lists them
    assert result.reasons == ["INVALID_APPLICATION", "LATE_REGISTRATION", "MISSING_DOCUMENT"]
    assert len(result.findings) == 3  # the duplicate finding is dropped
    assert result.as_json()["findings"][1]["message_de"] == "Zu spät."


def test_form_validation_names_each_field() -> None:
    service = get_service("anmeldung")
    application = {
        "service": "anmeldung",
        "submitted_at": "2026-10-05T10:12:00+02:00",
        "persons": [{"surname": "Müller", "birth_date": "16.07.1990"}],
        "move_in_date": "2026-02-30",
        "new_address": {"street": "Lister Meile", "postal_code": "3016"},
        "residence_type": "holiday",
    }
    fields = {f.field for f in validate_application(service, application)}
    assert {
        "persons[0].given_names",
        "persons[0].birth_date",
        "move_in_date",
        "new_address.house_number",
        "new_address.postal_code",
        "new_address.city",
        "residence_type",
    } <= fields
    assert "previous_address" not in fields  # optional


def test_unparseable_submission_date_is_never_auto() -> None:
    result = decide({"service": "anmeldung", "submitted_at": "gestern"}, [])
    assert result.decision == "review"
    assert "INVALID_APPLICATION" in result.reasons


# --- every dev case, read perfectly -------------------------------------------------------


def _truth_readings(case: Path) -> tuple[dict[str, Any], list[DocumentReading]]:
    """Readings as a perfect reader would produce them, from the case's truth."""
    application = json.loads((case / "application.json").read_text("utf-8"))
    truth = json.loads((case / "expected.json").read_text("utf-8"))
    unreadable = truth["scenario"] == "unreadable"
    readings = []
    for file, doc in truth["documents"].items():
        doc_type = DocType(doc["type"])
        confidence = 0.3 if unreadable and doc_type is not DocType.LANDLORD_CONFIRMATION else 0.99
        fields = {k: FieldValue(v, confidence) for k, v in doc["fields"].items()}
        mrz = None
        if doc_type in (DocType.ID_CARD, DocType.PASSPORT):
            valid = truth["scenario"] != "mrz_tampered"
            checks = {"document_number": True, "birth_date": valid, "composite": valid}
            mrz = MRZResult("TD1", ["<" * 30] * 3, checks, {})
        readings.append(DocumentReading(file, "image/jpeg", doc_type, 0.95, fields, mrz=mrz))
    return application, readings


def _found(expected: Any, reported: list[str]) -> bool:
    return (
        any(code in reported for code in expected)
        if isinstance(expected, list)
        else (expected in reported)
    )


@pytest.mark.parametrize("case", sorted(p.name for p in DEV.glob("case-*")))
def test_dev_case_with_perfect_readings(case: str) -> None:
    application, readings = _truth_readings(DEV / case)
    truth = json.loads((DEV / case / "expected.json").read_text("utf-8"))
    result = decide(application, readings)
    assert result.decision == truth["decision"], result.reasons
    missed = [r for r in truth["reasons"] if not _found(r, result.reasons)]
    assert not missed, result.reasons
