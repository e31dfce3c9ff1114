"""Service definitions (see :mod:`intake.services.base`), their registry and the decision.

Public face: the names below, :mod:`intake.services.decision` (``decide``: a case's
findings to ``auto``/``review``) and one module per service.

A new service is a new module here that builds a :class:`ServiceDefinition`, registers
its rules and calls :func:`register_service`; add its module to ``_MODULES``.
"""

from __future__ import annotations

import importlib

from intake.services.base import (
    DocumentRequirement,
    DocumentScope,
    FieldType,
    Finding,
    FormField,
    ReasonCode,
    RuleContext,
    ServiceDefinition,
    get_rule,
    registered_services,
    rule,
)

_MODULES = {"anmeldung": "intake.services.anmeldung"}


def get_service(service_id: str) -> ServiceDefinition:
    """The definition of ``service_id``; raises KeyError for an unknown service."""
    module = _MODULES.get(service_id)
    if module is None:
        raise KeyError(f"unknown service {service_id!r}")
    importlib.import_module(module)
    return registered_services()[service_id]


def service_ids() -> list[str]:
    return sorted(_MODULES)


__all__ = [
    "DocumentRequirement",
    "DocumentScope",
    "FieldType",
    "Finding",
    "FormField",
    "ReasonCode",
    "RuleContext",
    "ServiceDefinition",
    "get_rule",
    "get_service",
    "rule",
    "service_ids",
]
