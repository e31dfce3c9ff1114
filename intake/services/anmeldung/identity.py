"""Rules on the identity documents: the MRZ and its check digits, the fields against the
form, the expiry, the zones agreeing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from intake.applications.documents import PRINTED_NUMBER, DocType, DocumentReading
from intake.reading.normalize import (
    parse_date,
)
from intake.services.anmeldung.findings import (
    _compare,
    _dates_equal,
    _doc_name,
    _names_equal,
    _nationalities_equal,
    _numbers_equal,
    _unreadable,
)
from intake.services.anmeldung.matching import identity_match
from intake.services.base import (
    Finding,
    Judgement,
    ReasonCode,
    RuleContext,
    rule,
)


@rule("anmeldung.identity")
def check_identity(ctx: RuleContext) -> list[Finding]:
    """Each person's identity documents: MRZ, form data, expiry."""
    findings: list[Finding] = []
    match = identity_match(ctx)
    for index, person in enumerate(ctx.persons()):
        readings = [r for r in match.by_person.get(index, []) if not r.problems]
        if not readings:
            continue  # reported as missing or unreadable by the document rules
        findings.extend(_check_mrz(ctx, readings, person, index))
        for reading in readings:
            others = [o for o in readings if o is not reading]
            findings.extend(_check_identity_fields(ctx, reading, person, index, others))
    findings.extend(_unassigned(r) for r in match.unassigned if not r.problems)
    return findings


def _unassigned(reading: DocumentReading) -> Finding:
    """An identity document that points at no person of the application, or at two
    equally: too little of it was read (a back whose zone is illegible), or it is someone
    else's. Its fields are never checked against anybody, so a clerk looks at it."""
    name = _doc_name(reading.file)
    return Finding(
        ReasonCode.UNREADABLE_DOCUMENT,
        f"„{name}“ konnte keiner Person des Antrags zugeordnet werden: Name, Geburtsdatum "
        "und Ausweisnummer wurden darauf nicht lesbar gefunden oder passen zu niemandem.",
        f"'{name}' could not be matched to any person of the application: its name, birth "
        "date and document number were not read or match nobody.",
        document=reading.file,
    )


def _front_number_corroborated(
    ctx: RuleContext, readings: list[DocumentReading], form: Mapping[str, Any]
) -> bool:
    """Whether an ID card's front, uploaded without its back, shows the form's number.

    The nine characters printed on the front carry no check digit of their own (the
    back's MRZ adds it), so they are never trusted alone; the citizen typing the same
    number is the independent second source that lets the front stand in for the zone.
    """
    floor = ctx.service.min_corroborated_confidence
    for reading in readings:
        found = reading.fields.get("document_number")
        if (
            reading.type is DocType.ID_CARD
            and found is not None
            and found.source == PRINTED_NUMBER
            and found.confidence >= floor
            and _numbers_equal(found.value, form.get("id_document_number"))
        ):
            return True
    return False


def _check_mrz(
    ctx: RuleContext, readings: list[DocumentReading], form: Mapping[str, Any], person: int
) -> list[Finding]:
    findings: list[Finding] = []
    with_mrz = [r for r in readings if r.mrz is not None]
    for reading in with_mrz:
        if reading.mrz is not None and not reading.mrz.valid:
            failed = sorted(name for name, ok in reading.mrz.checks.items() if not ok)
            findings.append(
                Finding(
                    ReasonCode.MRZ_INVALID,
                    f"Die maschinenlesbare Zone von „{_doc_name(reading.file)}“ ist "
                    f"fehlerhaft (Prüfziffern: {', '.join(failed) or 'keine'}).",
                    f"The machine-readable zone of '{_doc_name(reading.file)}' fails its "
                    f"check digits ({', '.join(failed) or 'none found'}).",
                    person=person,
                    document=reading.file,
                    details={"failed_checks": failed, "lines": list(reading.mrz.lines)},
                )
            )
    if not with_mrz and not _front_number_corroborated(ctx, readings, form):
        files = ", ".join(f"„{_doc_name(r.file)}“" for r in readings)
        findings.append(
            Finding(
                ReasonCode.UNREADABLE_DOCUMENT,
                f"Auf {files} wurde keine lesbare maschinenlesbare Zone gefunden "
                "(beim Personalausweis: Rückseite fehlt?).",
                "No readable machine-readable zone was found on the identity document "
                "(for an ID card: is the back side missing?).",
                person=person,
                document=readings[0].file,
                field="mrz",
            )
        )
    return findings


def _check_identity_fields(
    ctx: RuleContext,
    reading: DocumentReading,
    person: Mapping[str, Any],
    index: int,
    others: list[DocumentReading],
) -> list[Finding]:
    comparisons: tuple[tuple[str, ReasonCode | None, Any, Any], ...] = (
        ("surname", ReasonCode.NAME_MISMATCH, person.get("surname"), _names_equal),
        ("given_names", ReasonCode.NAME_MISMATCH, person.get("given_names"), _names_equal),
        ("birth_date", ReasonCode.BIRTH_DATE_MISMATCH, person.get("birth_date"), _dates_equal),
        (
            "document_number",
            ReasonCode.DOCUMENT_NUMBER_MISMATCH,
            person.get("id_document_number"),
            _numbers_equal,
        ),
        ("nationality", None, person.get("nationality"), _nationalities_equal),
        ("expiry_date", None, None, _dates_equal),
    )
    findings: list[Finding] = []
    for name, code, form_value, equal in comparisons:
        other_values = [o.fields[name] for o in others if name in o.fields]
        judged, found = _compare(
            ctx, reading, name, code=code, form_value=form_value, equal=equal,
            person=index, others=other_values,
        )  # fmt: skip
        findings.extend(found)
        if name == "expiry_date":
            findings.extend(_check_expiry(ctx, reading, judged, index))
    findings.extend(_check_zones_agree(reading, index))
    return findings


def _check_expiry(
    ctx: RuleContext, reading: DocumentReading, judged: Judgement, person: int
) -> list[Finding]:
    expires = parse_date(judged.text)
    if judged.value is None:
        return []
    if expires is None:
        return [_unreadable(reading, judged, person)] if judged.trusted else []
    if expires >= ctx.submitted_on:
        return []
    uncertain = not judged.trusted
    prefix_de = "Möglicherweise (unsicher gelesen): " if uncertain else ""
    return [
        Finding(
            ReasonCode.ID_EXPIRED,
            f"{prefix_de}„{_doc_name(reading.file)}“ ist seit {expires:%d.%m.%Y} abgelaufen "
            f"(Antrag vom {ctx.submitted_on:%d.%m.%Y}).",
            f"'{_doc_name(reading.file)}' expired on {expires.isoformat()}, before the "
            f"application date {ctx.submitted_on.isoformat()}.",
            person=person,
            document=reading.file,
            field="expiry_date",
            details={"expiry_date": expires.isoformat(), "uncertain": uncertain},
        )
    ]


def _check_zones_agree(reading: DocumentReading, person: int) -> list[Finding]:
    disagreement = reading.fields.get("mrz_viz_mismatch")
    if disagreement is None or disagreement.value in ("", []):
        return []
    value = disagreement.value
    fields = ", ".join(value) if isinstance(value, list) else value
    return [
        Finding(
            ReasonCode.UNREADABLE_DOCUMENT,
            f"In „{_doc_name(reading.file)}“ widersprechen sich Sichtzone und "
            f"maschinenlesbare Zone ({fields}).",
            f"In '{_doc_name(reading.file)}' the visual zone and the machine-readable zone "
            f"disagree ({fields}).",
            person=person,
            document=reading.file,
            field="mrz_viz_mismatch",
            details={"fields": value},
        )
    ]
