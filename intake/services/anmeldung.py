"""The Anmeldung (residence registration, §§ 17, 19 BMG) as a service definition and rules.

Decisions documented here, because the clerk's queue depends on them:

* Identity slot: an ID card and a passport are interchangeable. A passport uploaded
  where the form said "id_card" is not WRONG_DOCUMENT_TYPE; the document number is
  still compared, so a form that names another document ends in review anyway.
* Every upload is used for what it *is* (its classified type), not for the slot it was
  put in: a landlord slot holding something else is WRONG_DOCUMENT_TYPE, and then the
  landlord confirmation is MISSING_DOCUMENT unless another upload is one.
* Persons are matched to identity documents by document number, birth date and name,
  never by upload order; a person may have several (front and back of an ID card).
  Only when content gives no clue is a left-over document paired with a left-over
  person, and the comparisons then tell the clerk what differs.
* Birth date, document number and expiry are protected by the MRZ check digits; an
  identity document without a readable MRZ, or with failing check digits, never passes.
* Anything read without enough confidence (see :meth:`RuleContext.judge`) ends in
  UNREADABLE_DOCUMENT; when the uncertain value also differs from the form, the
  specific mismatch is reported beside it, marked ``"uncertain": true``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from intake.applications.documents import PRINTED_NUMBER, DocType, DocumentReading, FieldValue
from intake.reading.names import comparable, names_match, normalize_street
from intake.reading.normalize import (
    edit_distance,
    normalize_house_number,
    normalize_postal_code,
    parse_date,
    postal_codes,
    same_city,
)
from intake.services.base import (
    DocumentRequirement,
    DocumentScope,
    FieldType,
    Finding,
    FormField,
    Judgement,
    ReasonCode,
    RuleContext,
    ServiceDefinition,
    Verdict,
    register_service,
    rule,
)

IDENTITY_TYPES = (DocType.ID_CARD, DocType.PASSPORT)
IDENTITY_FIELDS = (
    "surname",
    "given_names",
    "birth_date",
    "document_number",
    "expiry_date",
    "nationality",
)
LANDLORD_FIELDS = (
    "landlord_name",
    "move_in_date",
    "street",
    "house_number",
    "postal_code",
    "city",
    "residents",
)

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "surname": ("Familienname", "surname"),
    "given_names": ("Vornamen", "given names"),
    "birth_date": ("Geburtsdatum", "date of birth"),
    "document_number": ("Ausweisnummer", "document number"),
    "expiry_date": ("Gültig bis", "date of expiry"),
    "nationality": ("Staatsangehörigkeit", "nationality"),
    "landlord_name": ("Name des Wohnungsgebers", "landlord's name"),
    "move_in_date": ("Einzugsdatum", "move-in date"),
    "street": ("Straße", "street"),
    "house_number": ("Hausnummer", "house number"),
    "postal_code": ("Postleitzahl", "postal code"),
    "city": ("Ort", "city"),
    "residents": ("einziehende Personen", "persons moving in"),
}


# --- the definition -------------------------------------------------------------------


def _text(name: str, de: str, en: str, **extra: Any) -> FormField:
    return FormField(name=name, type=FieldType.TEXT, label_de=de, label_en=en, **extra)


def _date(name: str, de: str, en: str, **extra: Any) -> FormField:
    return FormField(
        name=name,
        type=FieldType.DATE,
        label_de=de,
        label_en=en,
        pattern=r"\d{4}-\d{2}-\d{2}",
        **extra,
    )


_PERSON_FIELDS = (
    _text("surname", "Familienname", "Surname", max_length=80,
          hint_de="So wie im Ausweis oder Pass geschrieben.",
          hint_en="As written in your ID card or passport."),
    _text("given_names", "Vornamen", "Given names", max_length=120,
          hint_de="Alle Vornamen, wie im Ausweis oder Pass.",
          hint_en="All given names, as in your ID card or passport."),
    _date("birth_date", "Geburtsdatum", "Date of birth",
          hint_de="Zum Beispiel 16.07.1990.", hint_en="For example 16 July 1990."),
    _text("birth_place", "Geburtsort", "Place of birth", max_length=80),
    _text("nationality", "Staatsangehörigkeit", "Nationality", max_length=40,
          hint_de="Bei mehreren Staatsangehörigkeiten: alle angeben.",
          hint_en="If you have more than one nationality, give all of them."),
    FormField(
        name="id_document_type", type=FieldType.CHOICE,
        label_de="Ausweisdokument", label_en="Identity document",
        choices=(("id_card", "Personalausweis", "Identity card"),
                 ("passport", "Reisepass", "Passport")),
    ),
    _text("id_document_number", "Ausweisnummer", "Document number", max_length=20,
          pattern=r"[A-Za-z0-9 ]{5,20}",
          hint_de="Steht oben rechts auf dem Ausweis bzw. auf der Datenseite des Passes.",
          hint_en="Top right on the ID card, or on the passport's data page."),
)  # fmt: skip

_ADDRESS_FIELDS = (
    _text("street", "Straße", "Street", max_length=120),
    _text("house_number", "Hausnummer", "House number", max_length=12,
          hint_de="Mit Zusatz, zum Beispiel 12a.", hint_en="Including a suffix, e.g. 12a."),
    _text("address_suffix", "Adresszusatz", "Address addition", required=False,
          max_length=80, hint_de="Zum Beispiel Stockwerk oder Hinterhaus.",
          hint_en="For example floor or rear building."),
    _text("postal_code", "Postleitzahl", "Postal code", pattern=r"\d{5}"),
    _text("city", "Ort", "City", max_length=80),
)  # fmt: skip

_PREVIOUS_ADDRESS_FIELDS = (
    _text("street", "Straße und Hausnummer", "Street and house number", max_length=120),
    _text("postal_code", "Postleitzahl", "Postal code", required=False, max_length=12),
    _text("city", "Ort (und Staat, falls im Ausland)", "City (and country, if abroad)",
          max_length=80),
)  # fmt: skip

FORM_FIELDS = (
    FormField(
        name="persons", type=FieldType.LIST, label_de="Personen, die sich anmelden",
        label_en="People registering", fields=_PERSON_FIELDS, min_items=1, max_items=10,
        hint_de="Alle Personen, die gemeinsam in die Wohnung einziehen.",
        hint_en="Everyone moving into the flat together.",
    ),
    _date("move_in_date", "Einzugsdatum", "Move-in date",
          hint_de="Der Tag, an dem Sie eingezogen sind. Die Anmeldung muss innerhalb von "
                  "zwei Wochen danach erfolgen.",
          hint_en="The day you moved in. You must register within two weeks of it."),
    FormField(
        name="new_address", type=FieldType.GROUP, label_de="Neue Wohnung",
        label_en="New home", fields=_ADDRESS_FIELDS,
        hint_de="Die Adresse in Hannover, in die Sie eingezogen sind.",
        hint_en="The address in Hannover you moved into.",
    ),
    FormField(
        name="previous_address", type=FieldType.GROUP, label_de="Bisherige Wohnung",
        label_en="Previous home", fields=_PREVIOUS_ADDRESS_FIELDS, required=False,
        hint_de="Leer lassen, wenn Sie bisher keine Wohnung hatten (zum Beispiel bei Geburt).",
        hint_en="Leave empty if you had no home before (for example at birth).",
    ),
    FormField(
        name="residence_type", type=FieldType.CHOICE, label_de="Art der Wohnung",
        label_en="Type of residence",
        choices=(("main", "Hauptwohnung", "Main residence"),
                 ("secondary", "Nebenwohnung", "Secondary residence")),
    ),
)  # fmt: skip

DOCUMENTS = (
    DocumentRequirement(
        slot="identity", scope=DocumentScope.PERSON, accepted_types=IDENTITY_TYPES,
        label_de="Personalausweis oder Reisepass", label_en="Identity card or passport",
        hint_de="Beim Personalausweis Vorder- und Rückseite. Gut lesbar, nicht abgelaufen.",
        hint_en="For an identity card both sides. Clearly legible, not expired.",
    ),
    DocumentRequirement(
        slot="landlord_confirmation", scope=DocumentScope.HOUSEHOLD,
        accepted_types=(DocType.LANDLORD_CONFIRMATION,),
        label_de="Wohnungsgeberbestätigung", label_en="Landlord confirmation",
        hint_de="Die Bestätigung Ihres Vermieters oder Wohnungsgebers nach § 19 BMG.",
        hint_en="Your landlord's confirmation under § 19 BMG (Federal Registration Act).",
    ),
)  # fmt: skip


# --- identity documents: which belongs to whom ------------------------------------------


@dataclass(slots=True)
class IdentityMatch:
    by_person: dict[int, list[DocumentReading]] = field(default_factory=dict)
    unassigned: list[DocumentReading] = field(default_factory=list)


def _doc_number(text: Any) -> str:
    return "".join(ch for ch in str(text or "").upper() if ch.isalnum())


def _value(reading: DocumentReading, name: str) -> Any:
    found = reading.fields.get(name)
    return found.value if found else None


def _match_score(person: Mapping[str, Any], reading: DocumentReading) -> int:
    """How strongly the content of an identity document points at a person."""
    score = 0
    number = _doc_number(_value(reading, "document_number"))
    if number and number == _doc_number(person.get("id_document_number")):
        score += 4
    born = parse_date(str(_value(reading, "birth_date") or ""))
    if born is not None and born == parse_date(str(person.get("birth_date") or "")):
        score += 3
    surname = str(_value(reading, "surname") or "")
    if surname and names_match(str(person.get("surname") or ""), surname):
        score += 2
    given = str(_value(reading, "given_names") or "")
    if given and names_match(str(person.get("given_names") or ""), given):
        score += 1
    return score


def _identity_candidates(ctx: RuleContext) -> list[DocumentReading]:
    """Uploads that are, or were meant to be and may still be, identity documents."""
    identity_slot = {str(t) for t in IDENTITY_TYPES}
    candidates = []
    for reading in ctx.readings:
        if reading.type in IDENTITY_TYPES:
            candidates.append(reading)
        elif ctx.declared_type(reading.file) in identity_slot and not _type_is_known(ctx, reading):
            candidates.append(reading)
    return candidates


def _type_is_known(ctx: RuleContext, reading: DocumentReading) -> bool:
    return not reading.problems and ctx.type_is_confident(reading)


def identity_match(ctx: RuleContext) -> IdentityMatch:
    cached = ctx.memo.get("anmeldung.identity")
    if isinstance(cached, IdentityMatch):
        return cached
    persons = ctx.persons()
    match = IdentityMatch(by_person={i: [] for i in range(len(persons))})
    for reading in _identity_candidates(ctx):
        scores = [_match_score(person, reading) for person in persons]
        best = max(scores, default=0)
        if best > 0 and scores.count(best) == 1:
            match.by_person[scores.index(best)].append(reading)
        else:
            match.unassigned.append(reading)
    for index in range(len(persons)):
        if not match.by_person[index] and match.unassigned:
            match.by_person[index].append(match.unassigned.pop(0))
    ctx.memo["anmeldung.identity"] = match
    return match


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
    return findings


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


@rule("anmeldung.landlord_confirmation")
def check_landlord_confirmation(ctx: RuleContext) -> list[Finding]:
    """The landlord confirmation agrees with the form on address and move-in date."""
    address = ctx.application.get("new_address") or {}
    comparisons: tuple[tuple[str, ReasonCode | None, Any, Any], ...] = (
        ("move_in_date", ReasonCode.MOVE_IN_DATE_MISMATCH,
         ctx.application.get("move_in_date"), _dates_equal),
        ("street", ReasonCode.ADDRESS_MISMATCH, address.get("street"), _streets_equal),
        ("house_number", ReasonCode.ADDRESS_MISMATCH, address.get("house_number"),
         _house_numbers_equal),
        ("postal_code", ReasonCode.ADDRESS_MISMATCH, address.get("postal_code"),
         _postal_codes_equal),
        ("city", ReasonCode.ADDRESS_MISMATCH, address.get("city"), _cities_equal),
    )  # fmt: skip
    findings: list[Finding] = []
    for reading in _landlord_readings(ctx):
        findings.extend(_check_landlord_name(ctx, reading))
        for name, code, form_value, equal in comparisons:
            findings.extend(
                _compare(ctx, reading, name, code=code, form_value=form_value, equal=equal)[1]
            )
    return findings


def _check_landlord_name(ctx: RuleContext, reading: DocumentReading) -> list[Finding]:
    """The landlord's name has nothing on the form to agree with, so besides its
    confidence it must at least be spelled plausibly (OCR debris such as ``wWilkens``
    has been seen read with high word confidence)."""
    judged, findings = _compare(
        ctx, reading, "landlord_name", code=None, form_value=None, equal=_always_equal
    )
    if judged.trusted and not plausible_name(judged.text):
        doc = _doc_name(reading.file)
        findings.append(
            Finding(
                ReasonCode.UNREADABLE_DOCUMENT,
                f"Der Name des Wohnungsgebers in „{doc}“ sieht verlesen aus: „{judged.text}“.",
                f"The landlord's name in '{doc}' looks misread: '{judged.text}'.",
                document=reading.file,
                field="landlord_name",
                details={"document_value": judged.value, "implausible": True},
            )
        )
    return findings


# Legal-form tokens that mix cases by convention.
_LEGAL_FORMS = {"gmbh", "mbh", "eg", "ag", "kg", "ohg", "ug", "gbr", "se", "kgaa", "ev", "e.v"}
_NAME_CHARS = re.compile(r"[^\W\d_][\w .,'’&()/+-]*")
_CASE_BREAK = re.compile(r"[a-zäöüßà-ÿ][A-ZÄÖÜÀ-Þ]")
_CAMEL_PREFIXES = ("Mc", "Mac", "De", "Di", "Da", "La", "Le", "Van", "Von", "O'", "D'")


def plausible_name(text: str) -> bool:
    """A person's or company's name as people write it: letters first, no stray
    symbols, no case change inside a word unless it is a legal form or a known prefix."""
    if not _NAME_CHARS.fullmatch(text.strip()):
        return False
    for word in re.split(r"[\s/&-]+", text.strip()):
        core = word.strip(".,()'’")
        if core.casefold().rstrip(".") in _LEGAL_FORMS or core.startswith(_CAMEL_PREFIXES):
            continue
        if _CASE_BREAK.search(core):
            return False
    return True


@rule("anmeldung.residents")
def check_residents(ctx: RuleContext) -> list[Finding]:
    """Every person registering is named on the landlord confirmation."""
    findings: list[Finding] = []
    readings = _landlord_readings(ctx)
    if not readings:
        return findings
    listed: list[str] = []
    trusted = True
    for reading in readings:
        verdict, names, found = _read_residents(ctx, reading)
        findings.extend(found)
        listed.extend(names)
        trusted = trusted and verdict
    for index, person in enumerate(ctx.persons()):
        findings.extend(_check_listed(ctx, index, person, listed, trusted, readings[0]))
    return findings


def _read_residents(
    ctx: RuleContext, reading: DocumentReading
) -> tuple[bool, list[str], list[Finding]]:
    """The residents of one confirmation, trusted alone or because they match the form."""
    found = reading.fields.get("residents")
    names = _as_names(found.value if found else None)
    form_names = [_person_name(p) for p in ctx.persons()]
    every_person_listed = all(any(_same_person(n, r) for r in names) for n in form_names)
    judged = ctx.judge(
        reading,
        "residents",
        expected=form_names if every_person_listed else None,
        equal=lambda _value, _expected: every_person_listed,
    )
    if judged.trusted:
        return True, names, []
    return False, names, [_unreadable(reading, judged, None)]


def _as_names(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else value.replace(";", "\n").splitlines()
    return [_resident_name(item) for item in items if item.strip()]


_TITLES = {"frau", "herr", "herrn", "dr", "dr.", "prof", "prof.", "mr", "mrs", "ms"}


def _resident_name(text: str) -> str:
    """``Müller, Anna`` → ``Anna Müller``; salutations and titles dropped."""
    if "," in text:
        surname, _, given = text.partition(",")
        text = f"{given.strip()} {surname.strip()}"
    words = [w for w in text.split() if w.casefold() not in _TITLES]
    return " ".join(words)


def _same_person(full_name: str, resident: str) -> bool:
    return bool(full_name.strip()) and names_match(full_name, resident)


def _similar_person(full_name: str, resident: str) -> bool:
    """Same person, spelled differently: few edits, or same surname and first name."""
    a, b = comparable(full_name), comparable(resident)
    if not a or not b:
        return False
    if edit_distance(a, b) <= max(1, min(len(a), len(b)) // 8):
        return True
    words_a, words_b = a.split(), b.split()
    return words_a[-1] == words_b[-1] and words_a[0] == words_b[0]


def _check_listed(
    ctx: RuleContext,
    index: int,
    person: Mapping[str, Any],
    listed: list[str],
    trusted: bool,
    reading: DocumentReading,
) -> list[Finding]:
    form_name = _person_name(person)
    if any(_same_person(form_name, r) for r in listed):
        return []
    id_names = _identity_names(ctx, index)
    spelled_differently = any(_same_person(n, r) for n in id_names for r in listed) or any(
        _similar_person(n, r) for n in [form_name, *id_names] for r in listed
    )
    uncertain = not trusted
    prefix_de = "Möglicherweise (unsicher gelesen): " if uncertain else ""
    prefix_en = "Possibly (read with low confidence): " if uncertain else ""
    details = {"form_value": form_name, "document_value": listed, "uncertain": uncertain}
    doc = _doc_name(reading.file)
    if spelled_differently:
        return [
            Finding(
                ReasonCode.NAME_MISMATCH,
                f"{prefix_de}Der Name „{form_name}“ ist in „{doc}“ anders geschrieben "
                f"({', '.join(listed)}).",
                f"{prefix_en}The name '{form_name}' is spelled differently in '{doc}' "
                f"({', '.join(listed)}).",
                person=index, document=reading.file, field="residents", details=details,
            )
        ]  # fmt: skip
    return [
        Finding(
            ReasonCode.PERSON_NOT_LISTED,
            f"{prefix_de}{form_name} steht nicht auf der Wohnungsgeberbestätigung "
            f"(dort: {', '.join(listed) or 'niemand'}).",
            f"{prefix_en}{form_name} is not named on the landlord confirmation "
            f"(it names: {', '.join(listed) or 'nobody'}).",
            person=index, document=reading.file, field="residents", details=details,
        )
    ]  # fmt: skip


def _identity_names(ctx: RuleContext, index: int) -> list[str]:
    names = []
    for reading in identity_match(ctx).by_person.get(index, []):
        given, surname = _value(reading, "given_names"), _value(reading, "surname")
        if isinstance(given, str) and isinstance(surname, str) and given and surname:
            names.append(f"{given} {surname}")
    return names


@rule("anmeldung.deadline")
def check_deadline(ctx: RuleContext) -> list[Finding]:
    """Registration within 14 days of moving in (§ 17 (1) BMG), and not before it."""
    moved_in = parse_date(str(ctx.application.get("move_in_date") or ""))
    if moved_in is None:
        return []  # reported by the form validation
    days = (ctx.submitted_on - moved_in).days
    deadline = int(ctx.service.deadline_days or 0)
    details = {"move_in_date": moved_in.isoformat(), "submitted_on": ctx.submitted_on.isoformat()}
    if days < 0:
        return [
            Finding(
                ReasonCode.FUTURE_MOVE_IN,
                f"Das Einzugsdatum {moved_in:%d.%m.%Y} liegt nach dem Antragsdatum "
                f"{ctx.submitted_on:%d.%m.%Y}.",
                f"The move-in date {moved_in.isoformat()} is after the application date "
                f"{ctx.submitted_on.isoformat()}.",
                field="move_in_date", details=details,
            )
        ]  # fmt: skip
    if deadline and days > deadline:
        return [
            Finding(
                ReasonCode.LATE_REGISTRATION,
                f"Anmeldung {days} Tage nach dem Einzug ({moved_in:%d.%m.%Y}); die Frist "
                f"beträgt {deadline} Tage (§ 17 Abs. 1 BMG).",
                f"Registered {days} days after moving in ({moved_in.isoformat()}); the "
                f"deadline is {deadline} days (§ 17 (1) BMG).",
                field="move_in_date", details={**details, "days": days},
            )
        ]  # fmt: skip
    return []


@rule("anmeldung.city")
def check_city(ctx: RuleContext) -> list[Finding]:
    """The new address lies in the city: its postal code and its city name."""
    address = ctx.application.get("new_address") or {}
    findings = _city_findings(ctx, address.get("postal_code"), address.get("city"), None)
    for reading in _landlord_readings(ctx):
        postal = ctx.judge(reading, "postal_code", equal=_always_equal)
        city = ctx.judge(reading, "city", equal=_always_equal)
        if postal.trusted and city.trusted:
            findings.extend(_city_findings(ctx, postal.text, city.text, reading.file))
    return findings


def _city_findings(
    ctx: RuleContext, postal_code: Any, city: Any, document: str | None
) -> list[Finding]:
    city_name = str(ctx.service.settings["city"])
    codes = postal_codes(str(ctx.service.settings["postal_codes"]))
    aliases = [city_name, *ctx.service.settings.get("city_aliases", ())]
    code_ok = normalize_postal_code(str(postal_code or "")) in codes
    city_ok = any(same_city(str(city or ""), alias) for alias in aliases)
    if code_ok and city_ok:
        return []
    where = f" laut „{_doc_name(document)}“" if document else ""
    return [
        Finding(
            ReasonCode.OUTSIDE_CITY,
            f"Die neue Adresse{where} ({postal_code} {city}) liegt nicht in {city_name}.",
            f"The new address ({postal_code} {city}) is not in {city_name}.",
            document=document,
            field="postal_code" if not code_ok else "city",
            details={"postal_code": postal_code, "city": city},
        )
    ]


ANMELDUNG = register_service(
    ServiceDefinition(
        id="anmeldung",
        name_de="Anmeldung einer Wohnung",
        name_en="Registering your address",
        legal_basis="§§ 17, 19 Bundesmeldegesetz (BMG)",
        form_fields=FORM_FIELDS,
        documents=DOCUMENTS,
        rules=(
            "anmeldung.document_types",
            "anmeldung.required_documents",
            "anmeldung.identity",
            "anmeldung.landlord_confirmation",
            "anmeldung.residents",
            "anmeldung.deadline",
            "anmeldung.city",
        ),
        deadline_days=14,
        # Calibrated on anmeldung-dev (2 runs, 499 extracted values each): every value the
        # reader got wrong was either below 0.75 (OCR debris in a landlord's name at 0.07,
        # a nationality at 0.30, a street at 0.73) or was caught by the comparison with the
        # form (a resident's name misread at 0.97). 0.9 keeps every uncorroborated wrong
        # value out with a wide margin and costs no correct value of a truth-"auto" case
        # that the form does not corroborate; 0.5 is the floor for a value the form (or the
        # other zone of an ID) agrees with, below which values were mostly debris.
        min_field_confidence=0.9,
        min_corroborated_confidence=0.5,
        min_type_confidence=0.6,
        settings={
            "city": "Hannover",
            "city_aliases": ("Hanover",),
            "postal_codes": "hannover_postal_codes.csv",
            "document_fields": {
                str(DocType.ID_CARD): IDENTITY_FIELDS,
                str(DocType.PASSPORT): IDENTITY_FIELDS,
                str(DocType.LANDLORD_CONFIRMATION): LANDLORD_FIELDS,
            },
        },
    )
)
