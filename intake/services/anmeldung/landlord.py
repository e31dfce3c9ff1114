"""Rules on the landlord confirmation: the landlord's name, the address and move-in
date, every person registering listed among the residents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from intake.applications.documents import DocumentReading
from intake.reading.names import comparable, names_match
from intake.reading.normalize import (
    edit_distance,
)
from intake.services.anmeldung.findings import (
    _always_equal,
    _cities_equal,
    _compare,
    _dates_equal,
    _doc_name,
    _house_numbers_equal,
    _person_name,
    _postal_codes_equal,
    _streets_equal,
    _unreadable,
)
from intake.services.anmeldung.matching import _value, identity_match
from intake.services.anmeldung.required import _landlord_readings
from intake.services.base import (
    Finding,
    ReasonCode,
    RuleContext,
    rule,
)


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
