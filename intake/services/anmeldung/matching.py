"""Identity documents: which belongs to whom (document number, birth date, name; never
the upload order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from intake.applications.documents import DocumentReading
from intake.reading.names import names_match
from intake.reading.normalize import (
    parse_date,
)
from intake.services.anmeldung.fields import IDENTITY_TYPES
from intake.services.base import (
    RuleContext,
)

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
