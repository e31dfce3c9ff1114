"""Cases, their truth, and the corpus on disk.

A case is drawn in three steps: the truth (people, flat, landlord, dates), a scenario
that changes exactly one thing about it (what the citizen typed, what the landlord
wrote, or a date), and the documents rendered from it. The expected reasons are then
computed from the truth with the rules of CONTRACTS §1 (14 days, the submission date,
the city's postal codes), not written by hand per scenario.
"""

from __future__ import annotations

import importlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from PIL import Image

from tests.corpusgen import degrade, landlord, people
from tests.corpusgen.landlord import Confirmation, Resident
from tests.corpusgen.people import Address, Person
from tests.corpusgen.render import image_bytes, to_image, to_pdf

BERLIN = ZoneInfo("Europe/Berlin")
DEADLINE_DAYS = 14

SCENARIOS: dict[str, float] = {
    "clean": 0.58,
    "late": 0.05,
    "future": 0.05,
    "address_mismatch": 0.05,
    "movein_mismatch": 0.05,
    "name_mismatch": 0.05,
    "not_listed": 0.05,
    "expired": 0.06,
    "outside_city": 0.06,
}
# How landlord confirmations arrive: born-digital PDFs, scans, phone photos.
OUTPUTS: dict[str, float] = {"textpdf": 0.3, "scan": 0.4, "photo": 0.3}
ID_QUALITIES: dict[str, float] = {"clean": 0.25, "scan": 0.35, "photo": 0.3, "degraded": 0.1}


class IdentityRenderer(Protocol):
    """:func:`tests.corpusgen.identity.render_identity_document`."""

    def __call__(
        self, person: dict[str, str], kind: str, rng: random.Random, quality: str, *, index: int
    ) -> list[tuple[str, bytes]]: ...


class IdentityRendererMissing(RuntimeError):
    """Cases with identity documents need ``tests/corpusgen/identity.py``."""


def identity_renderer() -> IdentityRenderer:
    try:
        module = importlib.import_module("tests.corpusgen.identity")
    except ModuleNotFoundError as error:
        if error.name != "tests.corpusgen.identity":
            raise
        raise IdentityRendererMissing(
            "tests/corpusgen/identity.py (render_identity_document) is not there yet: "
            "identity documents cannot be rendered; use --kinds landlord to write "
            "landlord confirmations only"
        ) from error
    renderer: IdentityRenderer = module.render_identity_document
    return renderer


@dataclass(slots=True)
class Case:
    name: str
    scenario: str
    layout: str
    output: str
    submitted: datetime
    persons: list[Person]
    form_persons: list[dict[str, Any]]
    move_in_form: date
    form_flat: Address
    confirmation: Confirmation
    previous: tuple[str, str, str]
    files: dict[str, bytes] = field(default_factory=dict)
    expected_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    declared: list[tuple[str, str]] = field(default_factory=list)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _submitted(rng: random.Random) -> datetime:
    day = date(2026, 9, 1) + timedelta(days=rng.randint(0, 100))
    return datetime(
        day.year, day.month, day.day, rng.randint(7, 21), rng.randint(0, 59), tzinfo=BERLIN
    )


def draw_case(name: str, rng: random.Random, layout: str, scenario: str) -> Case:
    submitted = _submitted(rng)
    on = submitted.date()
    count = rng.choices((1, 2, 3), (0.65, 0.25, 0.1))[0]
    first = people.person(rng, on)
    household = [first]
    for _ in range(count - 1):
        shared = first.surname if rng.random() < 0.6 else None
        other = people.person(rng, on, surname=shared if first.nationality == "D" else None)
        while other.given_names.split()[0] in {p.given_names.split()[0] for p in household}:
            other = people.person(rng, on, surname=shared if first.nationality == "D" else None)
        household.append(other)
    moved = on - timedelta(days=rng.randint(0, DEADLINE_DAYS))
    flat = people.flat(rng, outside=scenario == "outside_city")
    owner = people.landlord(rng, company=True if layout == "letter" else None)
    residents = [Resident(p.given_names, p.surname, p.birth_date, p.sex) for p in household]
    signed = moved + timedelta(days=rng.randint(0, 3))
    conf = Confirmation(
        owner,
        Address(flat.street, flat.house_number, flat.postal_code, flat.city, flat.suffix),
        moved,
        residents,
        signed,
    )
    form_persons = [_form_person(p) for p in household]
    move_in_form = moved
    form_flat = Address(flat.street, flat.house_number, flat.postal_code, flat.city, flat.suffix)
    if scenario == "late":
        move_in_form = conf.move_in = on - timedelta(days=rng.randint(DEADLINE_DAYS + 1, 60))
        conf.signed = conf.move_in + timedelta(days=1)
    elif scenario == "future":
        move_in_form = conf.move_in = on + timedelta(days=rng.randint(1, 25))
        conf.signed = on
    elif scenario == "address_mismatch":
        conf.flat.house_number = _other_number(rng, flat.house_number)
    elif scenario == "movein_mismatch":
        shift = rng.choice((-3, -2, -1, 1, 2, 5))
        conf.move_in = moved + timedelta(days=shift)
        if conf.move_in > on:
            conf.move_in = moved - timedelta(days=abs(shift))
    elif scenario == "name_mismatch":
        # The citizen typed the surname differently from both documents.
        target = rng.randrange(len(form_persons))
        form_persons[target]["surname"] = _misspelt(rng, form_persons[target]["surname"])
    elif scenario == "not_listed":
        # The landlord confirms someone else (the previous tenant's name, say).
        stranger = people.person(rng, on)
        while stranger.surname in {p.surname for p in household}:
            stranger = people.person(rng, on)
        target = rng.randrange(len(residents))
        conf.residents[target] = Resident(
            stranger.given_names, stranger.surname, stranger.birth_date, stranger.sex
        )
    elif scenario == "expired":
        victim = household[rng.randrange(len(household))]
        victim.expiry_date = on - timedelta(days=rng.randint(1, 400))
        victim.issue_date = victim.expiry_date - timedelta(days=10 * 365)
    output = "scan" if layout == "handwritten" and rng.random() < 0.6 else _pick(rng, OUTPUTS)
    if layout == "handwritten" and output == "textpdf":
        output = "photo"
    previous = rng.choice(people.PREVIOUS)
    return Case(
        name,
        scenario,
        layout,
        output,
        submitted,
        household,
        form_persons,
        move_in_form,
        form_flat,
        conf,
        previous,
    )


def _form_person(p: Person) -> dict[str, Any]:
    return {
        "surname": p.surname,
        "given_names": p.given_names,
        "birth_date": p.birth_date.isoformat(),
        "birth_place": p.birth_place,
        "nationality": p.nationality,
        "id_document_type": p.document_type,
        "id_document_number": p.document_number,
    }


def _other_number(rng: random.Random, number: str) -> str:
    digits = int("".join(c for c in number if c.isdigit()))
    return str(digits + rng.choice((1, 2, 4, 10, 11)))


def _misspelt(rng: random.Random, surname: str) -> str:
    """One letter more at the end or a letter doubled: a typing error, not another name."""
    if rng.random() < 0.5:
        return surname + rng.choice("enrs")
    index = rng.randrange(1, len(surname))
    return surname[:index] + surname[index] + surname[index:]


# ------------------------------------------------------------------ truth


def expected_reasons(case: Case) -> list[str]:
    """The reasons the rules must give, computed from the truth."""
    on = case.submitted.date()
    reasons: list[str] = []
    if any(p.expiry_date < on for p in case.persons):
        reasons.append("ID_EXPIRED")
    form_names = [f"{p['given_names']} {p['surname']}" for p in case.form_persons]
    true_names = [p.full_name for p in case.persons]
    listed = [r.full_name for r in case.confirmation.residents]
    if form_names != true_names:
        reasons.append("NAME_MISMATCH")
    elif any(name not in listed for name in form_names):
        reasons.append("PERSON_NOT_LISTED")
    conf_flat, form_flat = case.confirmation.flat, case.form_flat
    if (conf_flat.street, conf_flat.house_number, conf_flat.postal_code, conf_flat.city) != (
        form_flat.street, form_flat.house_number, form_flat.postal_code, form_flat.city
    ):  # fmt: skip
        reasons.append("ADDRESS_MISMATCH")
    if case.confirmation.move_in != case.move_in_form:
        reasons.append("MOVE_IN_DATE_MISMATCH")
    days = (on - case.move_in_form).days
    if days > DEADLINE_DAYS:
        reasons.append("LATE_REGISTRATION")
    if days < 0:
        reasons.append("FUTURE_MOVE_IN")
    if (
        form_flat.postal_code not in set(people.hannover_postal_codes())
        or form_flat.city != "Hannover"
    ):
        reasons.append("OUTSIDE_CITY")
    return reasons


def identity_fields(p: Person) -> dict[str, str]:
    return {
        "surname": p.surname.upper(),
        "given_names": p.given_names.upper(),
        "birth_date": p.birth_date.isoformat(),
        "document_number": p.document_number,
        "expiry_date": p.expiry_date.isoformat(),
        "nationality": p.nationality,
    }


# ------------------------------------------------------------------ documents


def render_landlord(case: Case, rng: random.Random) -> None:
    page = landlord.render(case.confirmation, case.layout, rng)
    if case.output == "textpdf":
        name, content = "documents/wohnungsgeberbestaetigung.pdf", to_pdf(page)
    else:
        dpi = rng.choice((200, 250, 300))
        image: Image.Image = to_image(page, dpi, "RGB" if case.layout == "handwritten" else "L")
        image = degrade.degrade(image, rng, case.output)
        kind = "pdf" if case.output == "scan" and rng.random() < 0.4 else "jpg"
        name = f"documents/wohnungsgeberbestaetigung.{kind}"
        content = image_bytes(image, kind, rng.randint(80, 92), dpi)
    case.files[name] = content
    case.declared.append((name, "landlord_confirmation"))
    case.expected_documents[name] = {
        "type": "landlord_confirmation",
        "fields": case.confirmation.expected_fields(),
    }


def render_identities(case: Case, rng: random.Random, renderer: IdentityRenderer) -> None:
    for number, p in enumerate(case.persons, 1):
        quality = _pick(rng, ID_QUALITIES)
        for filename, content in renderer(
            p.identity_dict(), p.document_type, rng, quality, index=number
        ):
            name = f"documents/{_numbered(filename, number)}"
            case.files[name] = content
            case.declared.append((name, p.document_type))
            case.expected_documents[name] = {"type": p.document_type, "fields": identity_fields(p)}


def _numbered(filename: str, number: int) -> str:
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    if stem.rsplit("_", 1)[-1].isdigit():
        return filename
    return f"{stem}_{number}.{ext}" if ext else f"{stem}_{number}"


def application(case: Case) -> dict[str, Any]:
    flat = case.form_flat
    street, postal, city = case.previous
    return {
        "service": "anmeldung",
        "submitted_at": case.submitted.isoformat(timespec="seconds"),
        "persons": case.form_persons,
        "move_in_date": case.move_in_form.isoformat(),
        "new_address": {
            "street": flat.street,
            "house_number": flat.house_number,
            "address_suffix": flat.suffix,
            "postal_code": flat.postal_code,
            "city": flat.city,
        },
        "previous_address": {
            "street": f"{street} {case.name[-2:].lstrip('0') or '1'}",
            "postal_code": postal,
            "city": city,
        },
        "residence_type": "main",
        "documents": [{"file": f, "declared_type": t} for f, t in case.declared],
    }


def expected(case: Case) -> dict[str, Any]:
    reasons = expected_reasons(case)
    return {
        "scenario": case.scenario,
        "decision": "review" if reasons else "auto",
        "reasons": reasons,
        "documents": case.expected_documents,
        "layout": case.layout,
        "output": case.output,
    }


# ------------------------------------------------------------------ corpus


def plan(rng: random.Random, cases: int, kinds: Sequence[str]) -> list[tuple[str, str]]:
    """(layout, scenario) per case: layouts in turn, scenarios drawn by weight."""
    layouts = [kinds[i % len(kinds)] for i in range(cases)]
    rng.shuffle(layouts)
    return [(layout, _pick(rng, SCENARIOS)) for layout in layouts]


def write_corpus(
    out: Path, seed: int, cases: int, kinds: Sequence[str], identities: bool = True
) -> list[Path]:
    """Write ``cases`` cases into ``out`` (``identities=False``: landlord confirmations only)."""
    renderer = identity_renderer() if identities else None
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    names = []
    written = []
    for index, (layout, scenario) in enumerate(plan(rng, cases, kinds), 1):
        name = f"case-{index:03d}"
        case_rng = random.Random(f"{seed}:{name}")
        case = draw_case(name, case_rng, layout, scenario)
        if renderer is not None:
            render_identities(case, case_rng, renderer)
        render_landlord(case, case_rng)
        folder = out / name
        (folder / "documents").mkdir(parents=True, exist_ok=True)
        for file, content in case.files.items():
            (folder / file).write_bytes(content)
        (folder / "application.json").write_text(_json(application(case)), encoding="utf-8")
        truth = expected(case)
        if renderer is None:
            truth["identity_documents"] = "left out (--kinds landlord)"
        (folder / "expected.json").write_text(_json(truth), encoding="utf-8")
        names.append(name)
        written.append(folder)
    manifest = {
        "service": "anmeldung",
        "city": "Hannover",
        "cases": names,
        "note": f"Synthetic applications (tests.corpusgen, seed {seed}); "
        "every name, number and address is invented.",
    }
    (out / "manifest.json").write_text(_json(manifest), encoding="utf-8")
    return written


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
