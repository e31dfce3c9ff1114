"""Declarative service definitions, findings and the rule registry.

A service is data: its form fields (with German and English labels, so the citizen
portal can render the form), the documents it requires, its legal deadline and the
names of the rules that judge an application. A rule is a small function
``(RuleContext) -> list[Finding]`` registered under a name with :func:`rule`.
The decision engine (:mod:`intake.services.decision`) only knows these types; everything
service-specific lives in the service's own module (e.g. :mod:`intake.services.anmeldung`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from intake.applications.documents import DocType, DocumentReading, FieldValue


class ReasonCode(StrEnum):
    """Why a case goes to a clerk (CONTRACTS §1)."""

    MISSING_DOCUMENT = "MISSING_DOCUMENT"
    WRONG_DOCUMENT_TYPE = "WRONG_DOCUMENT_TYPE"
    UNREADABLE_DOCUMENT = "UNREADABLE_DOCUMENT"
    MRZ_INVALID = "MRZ_INVALID"
    ID_EXPIRED = "ID_EXPIRED"
    NAME_MISMATCH = "NAME_MISMATCH"
    BIRTH_DATE_MISMATCH = "BIRTH_DATE_MISMATCH"
    DOCUMENT_NUMBER_MISMATCH = "DOCUMENT_NUMBER_MISMATCH"
    ADDRESS_MISMATCH = "ADDRESS_MISMATCH"
    MOVE_IN_DATE_MISMATCH = "MOVE_IN_DATE_MISMATCH"
    PERSON_NOT_LISTED = "PERSON_NOT_LISTED"
    LATE_REGISTRATION = "LATE_REGISTRATION"
    FUTURE_MOVE_IN = "FUTURE_MOVE_IN"
    OUTSIDE_CITY = "OUTSIDE_CITY"
    # Beside the contract: the application data itself is incomplete or malformed
    # (the portal validates before submitting, so only API clients can cause it).
    INVALID_APPLICATION = "INVALID_APPLICATION"


class FieldType(StrEnum):
    TEXT = "text"
    DATE = "date"
    POSTAL_CODE = "postal_code"
    CHOICE = "choice"
    GROUP = "group"  # a nested object (an address)
    LIST = "list"  # repeated group (the persons)


@dataclass(frozen=True, slots=True)
class FormField:
    """One question of the citizen's form; ``name`` is a key of ``application.json``."""

    name: str
    type: FieldType
    label_de: str
    label_en: str
    required: bool = True
    hint_de: str = ""
    hint_en: str = ""
    pattern: str | None = None  # a regular expression the whole value must match
    max_length: int | None = None
    choices: tuple[tuple[str, str, str], ...] = ()  # (value, label_de, label_en)
    fields: tuple[FormField, ...] = ()  # members of a GROUP or LIST
    min_items: int = 0
    max_items: int | None = None


class DocumentScope(StrEnum):
    PERSON = "person"  # one per person registering
    HOUSEHOLD = "household"  # one per application


@dataclass(frozen=True, slots=True)
class DocumentRequirement:
    """A slot of required uploads and the document types that fill it."""

    slot: str
    scope: DocumentScope
    accepted_types: tuple[DocType, ...]
    label_de: str
    label_en: str
    hint_de: str = ""
    hint_en: str = ""


@dataclass(slots=True)
class Finding:
    """One observation that keeps a case from being decided automatically."""

    code: ReasonCode
    message_de: str
    message_en: str
    person: int | None = None  # index into application["persons"]
    document: str | None = None  # DocumentReading.file
    field: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "message_de": self.message_de,
            "message_en": self.message_en,
            "person": self.person,
            "document": self.document,
            "field": self.field,
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    id: str
    name_de: str
    name_en: str
    legal_basis: str
    form_fields: tuple[FormField, ...]
    documents: tuple[DocumentRequirement, ...]
    rules: tuple[str, ...]  # names in the rule registry, run in this order
    deadline_days: int | None = None
    min_field_confidence: float = 0.9  # trusted on its own
    min_corroborated_confidence: float = 0.5  # trusted when an independent source agrees
    min_type_confidence: float = 0.6
    field_confidence: Mapping[str, float] = field(default_factory=dict)  # per-field override
    settings: Mapping[str, Any] = field(default_factory=dict)  # service-specific constants

    def threshold(self, field_name: str) -> float:
        return self.field_confidence.get(field_name, self.min_field_confidence)

    def requirement(self, slot: str) -> DocumentRequirement | None:
        return next((req for req in self.documents if req.slot == slot), None)

    def requirement_for_declared(self, declared: str) -> DocumentRequirement | None:
        """The slot an upload declared as ``declared`` (a DocType value) belongs to."""
        return next(
            (req for req in self.documents if declared in {str(t) for t in req.accepted_types}),
            None,
        )


class Verdict(StrEnum):
    MATCH = "match"  # trusted, and equal to the expected value (or nothing to compare)
    MISMATCH = "mismatch"  # trusted, and different from the expected value
    UNCERTAIN = "uncertain"  # read, but not with enough confidence to act on
    MISSING = "missing"  # not found on the document


@dataclass(frozen=True, slots=True)
class Judgement:
    """A document field as a rule sees it: its value and whether it can be trusted."""

    name: str
    verdict: Verdict
    value: str | list[str] | None
    confidence: float
    differs: bool = False  # the value (trusted or not) differs from the expected one

    @property
    def trusted(self) -> bool:
        return self.verdict in (Verdict.MATCH, Verdict.MISMATCH)

    @property
    def text(self) -> str:
        if isinstance(self.value, list):
            return ", ".join(self.value)
        return self.value or ""


Equal = Callable[[Any, Any], bool]


@dataclass(slots=True)
class RuleContext:
    """Everything a rule may look at; rules never read the clock or the environment."""

    service: ServiceDefinition
    application: Mapping[str, Any]
    readings: Sequence[DocumentReading]
    submitted_on: date
    memo: dict[str, Any] = field(default_factory=dict)  # results shared between rules

    def reading(self, file: str) -> DocumentReading | None:
        return next((r for r in self.readings if r.file == file), None)

    def declared_type(self, file: str) -> str | None:
        for doc in self.application.get("documents") or []:
            if isinstance(doc, Mapping) and doc.get("file") == file:
                declared = doc.get("declared_type")
                return str(declared) if declared is not None else None
        return None

    def persons(self) -> list[Mapping[str, Any]]:
        persons = self.application.get("persons") or []
        return [p for p in persons if isinstance(p, Mapping)]

    def judge(
        self,
        reading: DocumentReading,
        name: str,
        *,
        expected: Any = None,
        equal: Equal,
        others: Sequence[FieldValue] = (),
    ) -> Judgement:
        """Decide whether a field can be trusted, and whether it equals ``expected``.

        A value read at or above the field's threshold is trusted on its own. A value
        read at or above the service's corroboration threshold is trusted only when an
        independent source agrees with it: the citizen's form (``expected``) or the same
        field read from another document or zone (``others``, e.g. the back of an ID card).
        A misread that happens to reproduce what an independent source says is far less
        likely than a misread alone, which is why agreement may lower the bar, while
        disagreement never can.
        """
        found = reading.fields.get(name)
        if found is None or found.value in ("", []):
            return Judgement(name, Verdict.MISSING, None, 0.0, differs=expected is not None)
        value, confidence = found.value, found.confidence
        differs = expected is not None and not equal(value, expected)
        trusted = confidence >= self.service.threshold(name)
        if not trusted and confidence >= self.service.min_corroborated_confidence:
            agrees_with_form = expected is not None and not differs
            agrees_with_other = any(
                other.confidence >= self.service.min_corroborated_confidence
                and equal(value, other.value)
                for other in others
            )
            trusted = agrees_with_form or agrees_with_other
        if not trusted:
            return Judgement(name, Verdict.UNCERTAIN, value, confidence, differs)
        verdict = Verdict.MISMATCH if differs else Verdict.MATCH
        return Judgement(name, verdict, value, confidence, differs)

    def type_is_confident(self, reading: DocumentReading) -> bool:
        return reading.type_confidence >= self.service.min_type_confidence


Rule = Callable[[RuleContext], list[Finding]]

_RULES: dict[str, Rule] = {}
_SERVICES: dict[str, ServiceDefinition] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    """Register a rule function under ``name`` (a decorator)."""

    def register(func: Rule) -> Rule:
        if name in _RULES and _RULES[name] is not func:
            raise ValueError(f"rule {name!r} is already registered")
        _RULES[name] = func
        return func

    return register


def get_rule(name: str) -> Rule:
    try:
        return _RULES[name]
    except KeyError:
        raise KeyError(f"unknown rule {name!r}") from None


def register_service(service: ServiceDefinition) -> ServiceDefinition:
    missing = [name for name in service.rules if name not in _RULES]
    if missing:
        raise ValueError(f"service {service.id!r} names unknown rules: {missing}")
    _SERVICES[service.id] = service
    return service


def registered_services() -> dict[str, ServiceDefinition]:
    return dict(_SERVICES)
