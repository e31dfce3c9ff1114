"""Rules on the uploads: each document of the type its slot asked for, every required
document present and read.
"""

from __future__ import annotations

from collections.abc import Mapping

from intake.applications.documents import DocType, DocumentReading
from intake.services.anmeldung.findings import _doc_name, _person_name
from intake.services.anmeldung.matching import _type_is_known, identity_match
from intake.services.base import (
    Finding,
    ReasonCode,
    RuleContext,
    rule,
)

# --- rules ----------------------------------------------------------------------------


@rule("anmeldung.document_types")
def check_document_types(ctx: RuleContext) -> list[Finding]:
    """Each upload can be read and is the kind of document its slot asked for."""
    findings: list[Finding] = []
    for doc in ctx.application.get("documents") or []:
        file = str(doc.get("file", "")) if isinstance(doc, Mapping) else ""
        reading = ctx.reading(file)
        if reading is None:
            findings.append(_not_read(file))
        elif reading.problems:
            findings.append(_problems(reading))
        else:
            findings.extend(_slot_check(ctx, reading))
    return findings


def _not_read(file: str) -> Finding:
    return Finding(
        ReasonCode.UNREADABLE_DOCUMENT,
        f"Die Datei „{_doc_name(file)}“ wurde nicht gelesen.",
        f"The file '{_doc_name(file)}' was not read.",
        document=file,
    )


def _problems(reading: DocumentReading) -> Finding:
    problems = ", ".join(reading.problems)
    return Finding(
        ReasonCode.UNREADABLE_DOCUMENT,
        f"„{_doc_name(reading.file)}“ konnte nicht gelesen werden ({problems}).",
        f"'{_doc_name(reading.file)}' could not be read ({problems}).",
        document=reading.file,
        details={"problems": list(reading.problems)},
    )


def _slot_check(ctx: RuleContext, reading: DocumentReading) -> list[Finding]:
    declared = ctx.declared_type(reading.file) or ""
    slot = ctx.service.requirement_for_declared(declared)
    if slot is None or reading.type in slot.accepted_types:
        return []
    doc = _doc_name(reading.file)
    if not ctx.type_is_confident(reading):
        return [
            Finding(
                ReasonCode.UNREADABLE_DOCUMENT,
                f"Es ist nicht sicher erkennbar, welche Art Dokument „{doc}“ ist.",
                f"It is not clear what kind of document '{doc}' is.",
                document=reading.file,
                details={"declared": declared, "detected": str(reading.type)},
            )
        ]
    return [
        Finding(
            ReasonCode.WRONG_DOCUMENT_TYPE,
            f"„{doc}“ wurde als {slot.label_de} hochgeladen, ist aber "
            f"{_type_label_de(reading.type)}.",
            f"'{doc}' was uploaded as {slot.label_en}, but it is {_type_label_en(reading.type)}.",
            document=reading.file,
            details={"declared": declared, "detected": str(reading.type)},
        )
    ]


def _type_label_de(doc_type: DocType) -> str:
    return {
        DocType.ID_CARD: "ein Personalausweis",
        DocType.PASSPORT: "ein Reisepass",
        DocType.LANDLORD_CONFIRMATION: "eine Wohnungsgeberbestätigung",
    }.get(doc_type, "ein anderes Dokument")


def _type_label_en(doc_type: DocType) -> str:
    return {
        DocType.ID_CARD: "an identity card",
        DocType.PASSPORT: "a passport",
        DocType.LANDLORD_CONFIRMATION: "a landlord confirmation",
    }.get(doc_type, "another document")


@rule("anmeldung.required_documents")
def check_required_documents(ctx: RuleContext) -> list[Finding]:
    """An identity document per person and a landlord confirmation per application."""
    findings: list[Finding] = []
    match = identity_match(ctx)
    for index, person in enumerate(ctx.persons()):
        if not match.by_person.get(index):
            findings.append(
                Finding(
                    ReasonCode.MISSING_DOCUMENT,
                    f"Für {_person_name(person)} fehlt ein Personalausweis oder Reisepass.",
                    f"An identity card or passport for {_person_name(person)} is missing.",
                    person=index,
                )
            )
    if not _landlord_readings(ctx) and not _unreadable_landlord_uploads(ctx):
        findings.append(
            Finding(
                ReasonCode.MISSING_DOCUMENT,
                "Die Wohnungsgeberbestätigung fehlt.",
                "The landlord confirmation is missing.",
            )
        )
    return findings


def _landlord_readings(ctx: RuleContext) -> list[DocumentReading]:
    return [r for r in ctx.readings if r.type is DocType.LANDLORD_CONFIRMATION and not r.problems]


def _unreadable_landlord_uploads(ctx: RuleContext) -> list[str]:
    """Uploads meant as landlord confirmation that could not be read or recognised."""
    files = []
    for doc in ctx.application.get("documents") or []:
        if not isinstance(doc, Mapping) or doc.get("declared_type") != "landlord_confirmation":
            continue
        reading = ctx.reading(str(doc.get("file", "")))
        if reading is None or not _type_is_known(ctx, reading):
            files.append(str(doc.get("file", "")))
    return files
