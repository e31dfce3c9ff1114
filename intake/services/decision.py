"""The decision engine: run a service's rules over an application and its readings.

The engine knows nothing about any particular service. It validates the form data
against the service definition, runs the service's rules in their declared order and
decides ``auto`` only when no rule found anything: every finding, whatever its code,
sends the case to a clerk. Dates are judged as of the submission date, never the
machine clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from intake.applications.documents import DocumentReading
from intake.reading.normalize import parse_date, submission_date
from intake.services import get_service
from intake.services.base import (
    FieldType,
    Finding,
    FormField,
    ReasonCode,
    RuleContext,
    ServiceDefinition,
    get_rule,
)

DecisionValue = Literal["auto", "review"]


@dataclass(slots=True)
class Decision:
    decision: DecisionValue
    reasons: list[str] = field(default_factory=list)  # unique codes, in order of finding
    findings: list[Finding] = field(default_factory=list)

    @property
    def auto(self) -> bool:
        return self.decision == "auto"

    def as_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "reasons": list(self.reasons),
            "findings": [f.as_json() for f in self.findings],
        }


def decide(
    application: Mapping[str, Any],
    readings: Sequence[DocumentReading],
    *,
    service: ServiceDefinition | None = None,
) -> Decision:
    """Judge ``application`` (CONTRACTS §1 shape) with the readings of its uploads."""
    if service is None:
        try:
            service = get_service(str(application.get("service") or ""))
        except KeyError:
            return _conclude([_invalid("service", "ist unbekannt", "names no known service")])
    findings = validate_application(service, application)
    try:
        submitted = submission_date(str(application.get("submitted_at") or ""))
    except ValueError:
        return _conclude(findings)  # without a submission date no rule can be judged
    context = RuleContext(
        service=service, application=application, readings=readings, submitted_on=submitted
    )
    for name in service.rules:
        findings.extend(get_rule(name)(context))
    return _conclude(findings)


def _conclude(findings: list[Finding]) -> Decision:
    unique = _deduplicate(findings)
    reasons = list(dict.fromkeys(str(f.code) for f in unique))
    return Decision("review" if unique else "auto", reasons, unique)


def _deduplicate(findings: list[Finding]) -> list[Finding]:
    """Keep the first finding per code, person, document and field."""
    seen: set[tuple[str, int | None, str | None, str | None]] = set()
    unique = []
    for finding in findings:
        key = (str(finding.code), finding.person, finding.document, finding.field)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


# --- form validation --------------------------------------------------------------------


def validate_application(
    service: ServiceDefinition, application: Mapping[str, Any]
) -> list[Finding]:
    """Check the form data against the definition's fields (required, pattern, type)."""
    findings = []
    if application.get("service") not in (None, service.id):
        findings.append(_invalid("service", "gehört nicht zu diesem Dienst", "wrong service"))
    try:
        submission_date(str(application.get("submitted_at") or ""))
    except ValueError:
        findings.append(_invalid("submitted_at", "fehlt oder ist ungültig", "missing/invalid"))
    for form_field in service.form_fields:
        findings.extend(_validate_field(form_field, application.get(form_field.name), ""))
    return findings


def _validate_field(form_field: FormField, value: Any, prefix: str) -> list[Finding]:
    path = f"{prefix}{form_field.name}"
    if value is None or value == "" or value == [] or value == {}:
        if form_field.required:
            return [_invalid(path, "fehlt", "is missing")]
        return []
    if form_field.type is FieldType.GROUP:
        if not isinstance(value, Mapping):
            return [_invalid(path, "hat die falsche Form", "has the wrong shape")]
        return [
            finding
            for member in form_field.fields
            for finding in _validate_field(member, value.get(member.name), f"{path}.")
        ]
    if form_field.type is FieldType.LIST:
        return _validate_list(form_field, value, path)
    return _validate_scalar(form_field, value, path)


def _validate_list(form_field: FormField, value: Any, path: str) -> list[Finding]:
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        return [_invalid(path, "hat die falsche Form", "has the wrong shape")]
    if len(value) < form_field.min_items or (
        form_field.max_items is not None and len(value) > form_field.max_items
    ):
        return [_invalid(path, "hat zu wenige oder zu viele Einträge", "has a wrong count")]
    return [
        finding
        for index, item in enumerate(value)
        for member in form_field.fields
        for finding in _validate_field(member, item.get(member.name), f"{path}[{index}].")
    ]


def _validate_scalar(form_field: FormField, value: Any, path: str) -> list[Finding]:
    if not isinstance(value, str):
        return [_invalid(path, "ist kein Text", "is not text")]
    text = value.strip()
    if form_field.max_length is not None and len(text) > form_field.max_length:
        return [_invalid(path, "ist zu lang", "is too long")]
    if form_field.pattern and not re.fullmatch(form_field.pattern, text):
        return [_invalid(path, "hat ein ungültiges Format", "has an invalid format")]
    if form_field.type is FieldType.DATE and parse_date(text) is None:
        return [_invalid(path, "ist kein gültiges Datum", "is not a valid date")]
    if form_field.choices and text not in {choice[0] for choice in form_field.choices}:
        return [_invalid(path, "hat einen unzulässigen Wert", "has a value not allowed")]
    return []


def _invalid(path: str, problem_de: str, problem_en: str) -> Finding:
    return Finding(
        ReasonCode.INVALID_APPLICATION,
        f"Angabe „{path}“ im Antrag {problem_de}.",
        f"Form field '{path}' {problem_en}.",
        field=path,
    )
