"""Rules on the registration itself: the deadline (§ 17 (1) BMG) and the city of the new
address.
"""

from __future__ import annotations

from typing import Any

from intake.reading.normalize import (
    normalize_postal_code,
    parse_date,
    postal_codes,
    same_city,
)
from intake.services.anmeldung.findings import _always_equal, _doc_name
from intake.services.anmeldung.required import _landlord_readings
from intake.services.base import (
    Finding,
    ReasonCode,
    RuleContext,
    rule,
)


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
