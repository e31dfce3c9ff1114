"""Citizen portal pages: the start page with the service catalogue and the Anmeldung
journey (one small group of questions per page, check your answers, confirmation). The
status page behind the case's secret link is in :mod:`intake.portal.status_views`.

The journey's state is the draft in the server-side session (:mod:`intake.portal.portal`);
forms post and redirect (:mod:`intake.portal.pages`), so reloads and the back button are safe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from intake.applications import service as applications
from intake.applications import uploads
from intake.portal import forms, portal, status_views
from intake.portal.pages import (
    action,
    changing,
    fail,
    flash,
    page,
    read_form,
    redirect,
    render_page,
    state_of,
    take_errors,
    take_flash,
    too_many,
    upload_error,
)
from servicepoint import db
from servicepoint.errors import DomainError
from servicepoint.settings import get_settings
from servicepoint.web import request_language

router = APIRouter(include_in_schema=False)
router.include_router(status_views.router)


@lru_cache(maxsize=1)
def catalogue() -> list[dict[str, Any]]:
    """The service catalogue of the start page (``intake/data/catalogue.json``)."""
    text = resources.files("intake").joinpath("data", "catalogue.json").read_text("utf-8")
    services: list[dict[str, Any]] = json.loads(text)["services"]
    return services


def _after_save(request: Request, step: str) -> RedirectResponse:
    if changing(request):
        return redirect(portal.STEP_URLS["check"])
    return redirect(portal.next_url(step))


def _journey_guard(draft: dict[str, Any]) -> RedirectResponse | None:
    """A submitted draft shows its confirmation (the back button after submitting)."""
    if portal.is_submitted(draft):
        return redirect(portal.CONFIRMATION_URL)
    return None


# --- start page -----------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse, name="start")
async def start(request: Request) -> HTMLResponse:
    last = state_of(request).get(portal.LAST_KEY)
    context = {"services": catalogue(), "last": last if isinstance(last, dict) else None}
    return render_page(request, "intake/start.html", context, 200)


@router.get("/anmeldung", response_class=HTMLResponse)
async def anmeldung_start(request: Request) -> Response:
    draft = portal.draft_of(state_of(request))
    entry = next(s for s in catalogue() if s["id"] == forms.SERVICE_ID)
    return page(
        request,
        "intake/anmeldung/start.html",
        {
            "entry": entry,
            "started": bool(draft.get("persons")) and not portal.is_submitted(draft),
            "submitted": portal.is_submitted(draft),
            "continue_url": portal.first_open_step(draft) or portal.STEP_URLS["check"],
        },
    )


@router.post("/anmeldung/neu")
async def anmeldung_new(request: Request) -> RedirectResponse:
    """Start a new application (after a submission, or to discard a draft)."""
    portal.save_draft(state_of(request), portal.new_draft())
    return redirect("/anmeldung/person/1")


# --- persons ------------------------------------------------------------------------


def _person_number(draft: dict[str, Any], number: int) -> int | None:
    """The 1-based person number if it names an existing person or the next new one."""
    count = len(draft.get("persons") or [])
    if 1 <= number <= min(count + 1, forms.max_persons()):
        return number
    return None


def _person_page(
    request: Request,
    draft: dict[str, Any],
    number: int,
    values: Mapping[str, Any],
    errors: Sequence[forms.FieldError] = (),
) -> HTMLResponse:
    persons = draft.get("persons") or []
    back = portal.START_URL if not persons else portal.STEP_URLS["persons"]
    if changing(request):
        back = portal.STEP_URLS["check"]
    shown_values = dict(values)
    shown_values["birth_date"] = forms.german_date(str(values.get("birth_date") or ""))
    return page(
        request,
        "intake/anmeldung/person.html",
        {
            "number": number,
            "values": shown_values,
            "fields": {f.name: f for f in forms.person_fields()},
            "back_url": back,
            "is_new": number > len(persons),
        },
        errors,
    )


@router.get("/anmeldung/person/{number}", response_class=HTMLResponse)
async def person_form(request: Request, number: int) -> Response:
    draft = portal.draft_of(state_of(request))
    if (guard := _journey_guard(draft)) is not None:
        return guard
    if _person_number(draft, number) is None:
        return redirect(portal.STEP_URLS["persons"])
    persons = draft.get("persons") or []
    errors, kept = take_errors(request)
    values = kept if kept is not None else (persons[number - 1] if number <= len(persons) else {})
    return _person_page(request, draft, number, values, errors)


@router.post("/anmeldung/person/{number}")
async def person_save(request: Request, number: int) -> Response:
    state = state_of(request)
    draft = portal.draft_of(state)
    if (guard := _journey_guard(draft)) is not None:
        return guard
    if _person_number(draft, number) is None:
        return redirect(portal.STEP_URLS["persons"])
    values, errors = forms.parse_person(await read_form(request), portal.today_in_berlin())
    if errors:
        return fail(request, errors, values)
    persons = list(draft.get("persons") or [])
    if number <= len(persons):
        persons[number - 1] = values
    else:
        persons.append(values)
        draft.pop("more_persons", None)
    draft["persons"] = persons
    portal.save_draft(state, draft)
    if changing(request):
        return redirect(portal.STEP_URLS["check"])
    return redirect(portal.STEP_URLS["persons"])


@router.post("/anmeldung/person/{number}/entfernen")
async def person_remove(request: Request, number: int) -> Response:
    state = state_of(request)
    draft = portal.draft_of(state)
    if (guard := _journey_guard(draft)) is not None:
        return guard
    portal.remove_person(draft, number - 1)
    portal.save_draft(state, draft)
    if not draft.get("persons"):
        return redirect("/anmeldung/person/1")
    return redirect(portal.STEP_URLS["persons"])


def _persons_page(
    request: Request, draft: dict[str, Any], errors: Sequence[forms.FieldError] = ()
) -> HTMLResponse:
    persons = draft.get("persons") or []
    return page(
        request,
        "intake/anmeldung/persons.html",
        {
            "persons": persons,
            "names": [portal.person_name(p) for p in persons],
            "can_add": len(persons) < forms.max_persons(),
            "back_url": f"/anmeldung/person/{len(persons)}",
        },
        errors,
    )


@router.get("/anmeldung/personen", response_class=HTMLResponse)
async def persons_list(request: Request) -> Response:
    draft = portal.draft_of(state_of(request))
    if (guard := _journey_guard(draft)) is not None:
        return guard
    if not draft.get("persons"):
        return redirect("/anmeldung/person/1")
    errors, _kept = take_errors(request)
    return _persons_page(request, draft, errors)


@router.post("/anmeldung/personen")
async def persons_answer(request: Request) -> Response:
    state = state_of(request)
    draft = portal.draft_of(state)
    if (guard := _journey_guard(draft)) is not None:
        return guard
    persons = draft.get("persons") or []
    if not persons:
        return redirect("/anmeldung/person/1")
    if len(persons) >= forms.max_persons():
        answer: str | None = "no"
    else:
        answer, errors = forms.parse_more_persons(await read_form(request))
        if errors:
            return fail(request, errors)
    if answer == "yes":
        return redirect(f"/anmeldung/person/{len(persons) + 1}")
    draft["more_persons"] = "no"
    portal.save_draft(state, draft)
    return _after_save(request, "persons")


# --- one group of questions per page ------------------------------------------------------


def _simple_page(
    request: Request,
    step: str,
    draft: dict[str, Any],
    values: Mapping[str, Any],
    errors: Sequence[forms.FieldError] = (),
    **extra: Any,
) -> HTMLResponse:
    back = portal.STEP_URLS["check"] if changing(request) else portal.previous_url(step)
    return page(
        request,
        f"intake/anmeldung/{step}.html",
        {"values": values, "back_url": back, "draft": draft, **extra},
        errors,
    )


def _group_fields(step: str) -> dict[str, Any]:
    if step == "address":
        return {"fields": {f.name: f for f in forms.address_fields()}}
    if step == "previous":
        return {"fields": {f.name: f for f in forms.previous_address_fields()}}
    if step == "move_in":
        return {"field": forms.form_field("move_in_date")}
    if step == "residence":
        return {"field": forms.form_field("residence_type")}
    return {}


def _stored_values(step: str, draft: dict[str, Any]) -> dict[str, Any]:
    if step == "address":
        return dict(draft.get("new_address") or {})
    if step == "previous":
        return dict(draft.get("previous_address") or {})
    if step == "move_in":
        return {"move_in_date": forms.german_date(draft.get("move_in_date"))}
    if step == "residence":
        return {"residence_type": draft.get("residence_type") or ""}
    if step == "contact":
        return {"email": draft.get("email") or ""}
    return {}


def _parse_step(step: str, form: FormData) -> tuple[Any, list[forms.FieldError]]:
    today = portal.today_in_berlin()
    if step == "address":
        return forms.parse_address(form)
    if step == "move_in":
        return forms.parse_move_in(form, today)
    if step == "residence":
        return forms.parse_residence(form)
    if step == "previous":
        return forms.parse_previous(form)
    return forms.parse_contact(form)


def _store_step(step: str, draft: dict[str, Any], value: Any) -> None:
    if step == "address":
        draft["new_address"] = value
    elif step == "move_in":
        draft["move_in_date"] = value["move_in_date"]
    elif step == "residence":
        draft["residence_type"] = value["residence_type"]
    elif step == "previous":
        draft["previous_address"] = value
        draft["previous_answered"] = True
    elif step == "contact":
        draft["email"] = value or None
        draft["contact_answered"] = True


def _shown_after_error(step: str, form: FormData, value: Any) -> dict[str, Any]:
    if step == "contact":
        return {"email": value}
    if step == "previous" and value is None:
        return {k: forms.clean(v) for k, v in form.items() if isinstance(v, str)}
    return dict(value or {})


SIMPLE_STEPS = {
    "adresse": "address",
    "einzug": "move_in",
    "wohnungsart": "residence",
    "bisherige-adresse": "previous",
    "kontakt": "contact",
}


def _simple_routes(slug: str, step: str) -> None:
    """GET and POST of one simple step (explicit paths: the footer pages' catch-all and
    the other journey pages must not be shadowed by a pattern)."""

    async def show(request: Request) -> Response:
        draft = portal.draft_of(state_of(request))
        if (guard := _journey_guard(draft)) is not None:
            return guard
        if not draft.get("persons"):
            return redirect("/anmeldung/person/1")
        errors, kept = take_errors(request)
        values = kept if kept is not None else _stored_values(step, draft)
        return _simple_page(request, step, draft, values, errors, **_group_fields(step))

    async def save(request: Request) -> Response:
        state = state_of(request)
        draft = portal.draft_of(state)
        if (guard := _journey_guard(draft)) is not None:
            return guard
        form = await read_form(request)
        value, errors = _parse_step(step, form)
        if errors:
            return fail(request, errors, _shown_after_error(step, form, value))
        _store_step(step, draft, value)
        portal.save_draft(state, draft)
        return _after_save(request, step)

    path = f"/anmeldung/{slug}"
    router.add_api_route(path, show, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(path, save, methods=["POST"])


for _slug, _step in SIMPLE_STEPS.items():
    _simple_routes(_slug, _step)


# --- documents ----------------------------------------------------------------------


def _documents_page(
    request: Request, draft: dict[str, Any], errors: Sequence[forms.FieldError] = ()
) -> HTMLResponse:
    persons = draft.get("persons") or []
    identity = forms.service().requirement(portal.SLOT_IDENTITY)
    landlord = forms.service().requirement(portal.SLOT_LANDLORD)
    back = portal.STEP_URLS["check"] if changing(request) else portal.previous_url("documents")
    return page(
        request,
        "intake/anmeldung/documents.html",
        {
            "persons": [
                {
                    "index": index,
                    "name": portal.person_name(person),
                    "input": portal.input_name(portal.SLOT_IDENTITY, index),
                    "uploads": portal.uploads_for(draft, portal.SLOT_IDENTITY, index),
                    "passport": person.get("id_document_type") == "passport",
                }
                for index, person in enumerate(persons)
            ],
            "landlord_uploads": portal.uploads_for(draft, portal.SLOT_LANDLORD, None),
            "identity": identity,
            "landlord": landlord,
            "accept": portal.ACCEPT_ATTRIBUTE,
            "back_url": back,
            "flash": take_flash(state_of(request)),
        },
        errors,
    )


@router.get("/anmeldung/dokumente", response_class=HTMLResponse)
async def documents_form(request: Request) -> Response:
    draft = portal.draft_of(state_of(request))
    if (guard := _journey_guard(draft)) is not None:
        return guard
    if not draft.get("persons"):
        return redirect("/anmeldung/person/1")
    errors, _kept = take_errors(request)
    return _documents_page(request, draft, errors)


def _missing_errors(draft: dict[str, Any]) -> list[forms.FieldError]:
    errors = []
    persons = draft.get("persons") or []
    for slot, person in portal.missing_documents(draft):
        target = portal.input_name(slot, person)
        if slot == portal.SLOT_IDENTITY and person is not None:
            name = portal.person_name(persons[person])
            errors.append(
                forms.FieldError(
                    target, "Upload the identity card or passport of %(name)s", {"name": name}
                )
            )
        else:
            errors.append(forms.FieldError(target, "Upload the landlord confirmation"))
    return errors


async def _read_uploads(form: FormData) -> list[tuple[str, str, bytes]]:
    """(input name, file name, content) of every file chosen in the form."""
    chosen = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile) and value.filename:
            chosen.append((key, value.filename, await value.read()))
    return chosen


@router.post("/anmeldung/dokumente")
async def documents_save(request: Request) -> Response:
    state = state_of(request)
    draft = portal.draft_of(state)
    if (guard := _journey_guard(draft)) is not None:
        return guard
    form = await read_form(request)
    remove = form.get("remove")
    if isinstance(remove, str) and remove:
        portal.remove_upload(draft, remove)
        portal.save_draft(state, draft)
        return redirect(action(request))
    settings = get_settings()
    errors: list[forms.FieldError] = []
    added: list[str] = []
    for key, filename, content in await _read_uploads(form):
        slot = portal.slot_of(key)
        if slot is None or (slot[1] is not None and slot[1] >= len(draft.get("persons") or [])):
            continue
        try:
            entry = await run_in_threadpool(
                portal.add_upload, draft, slot[0], slot[1], filename, content, settings
            )
        except uploads.UploadRejected as exc:
            errors.append(upload_error(key, exc))
            continue
        added.append(str(entry["name"]))
    portal.save_draft(state, draft)
    if added:
        flash(state, {"kind": "uploaded", "names": added})
    if errors:
        return fail(request, errors)
    if form.get("action") == "upload":
        return redirect(action(request))
    missing = _missing_errors(draft)
    if missing:
        return fail(request, missing)
    take_flash(state)  # moving on: the note about the upload is not needed
    return _after_save(request, "documents")


# --- check your answers and submit ----------------------------------------------------


def _check_page(
    request: Request, draft: dict[str, Any], errors: Sequence[forms.FieldError] = ()
) -> HTMLResponse:
    persons = draft.get("persons") or []
    service = forms.service()
    return page(
        request,
        "intake/anmeldung/check.html",
        {
            "draft": draft,
            "persons": persons,
            "person_fields": forms.person_fields(),
            "address_fields": forms.address_fields(),
            "previous_fields": forms.previous_address_fields(),
            "residence_field": forms.form_field("residence_type"),
            "move_in": forms.german_date(draft.get("move_in_date")),
            "uploads": portal.sorted_uploads(draft),
            "names": [portal.person_name(p) for p in persons],
            "late_days": portal.late_by(draft, portal.today_in_berlin()),
            "deadline_days": service.deadline_days or 14,
            "back_url": portal.previous_url("check"),
            "german_date": forms.german_date,
        },
        errors,
    )


@router.get("/anmeldung/pruefen", response_class=HTMLResponse)
async def check_answers(request: Request) -> Response:
    draft = portal.draft_of(state_of(request))
    if (guard := _journey_guard(draft)) is not None:
        return guard
    open_step = portal.first_open_step(draft)
    if open_step is not None:
        return redirect(open_step)
    errors, _kept = take_errors(request)
    return _check_page(request, draft, errors)


def _submit(draft: dict[str, Any], language: str) -> applications.Submitted:
    with db.session_scope() as session:
        return portal.submit_draft(session, draft, language)


def _problems(exc: DomainError) -> list[forms.FieldError]:
    details = exc.details if isinstance(exc.details, list) else []
    errors = []
    for problem in details:
        if not isinstance(problem, dict):
            continue
        field_path = str(problem.get("field") or "")
        errors.append(
            forms.FieldError(
                "declaration",
                text_de=str(problem.get("message_de") or exc.message_de),
                text_en=str(problem.get("message") or exc.message_en),
                url=portal.problem_url(field_path),
            )
        )
    return errors or [
        forms.FieldError("declaration", text_de=exc.message_de, text_en=exc.message_en)
    ]


@router.post("/anmeldung/pruefen")
async def submit_application(request: Request) -> Response:
    state = state_of(request)
    draft = portal.draft_of(state)
    if (guard := _journey_guard(draft)) is not None:
        return guard
    open_step = portal.first_open_step(draft)
    if open_step is not None:
        return redirect(open_step)
    errors = forms.parse_declaration(await read_form(request))
    if errors:
        return fail(request, errors)
    wait = portal.rate_limited(request.client.host if request.client else None)
    if wait:
        return too_many(request, wait, portal.STEP_URLS["check"])
    try:
        submitted = await run_in_threadpool(_submit, draft, request_language(request))
    except DomainError as exc:
        return fail(request, _problems(exc))
    application = submitted.application
    portal.remember_case(state, application.id, submitted.access_token)
    state[portal.LAST_KEY] = {"id": application.id, "reference": application.reference}
    portal.save_draft(
        state,
        {
            "id": draft["id"],
            "token": draft["token"],
            "submitted": {
                "id": application.id,
                "reference": application.reference,
                "email": draft.get("email"),
            },
        },
    )
    return redirect(portal.CONFIRMATION_URL)


def _public_base(request: Request) -> str:
    settings = get_settings()
    if settings.public_url:
        return settings.effective_public_url
    return str(request.base_url).rstrip("/")


@router.get("/anmeldung/bestaetigung", response_class=HTMLResponse)
async def confirmation(request: Request) -> Response:
    state = state_of(request)
    last = state.get(portal.LAST_KEY)
    if not isinstance(last, dict):
        return redirect(portal.START_URL)
    token = portal.case_token(state, str(last["id"]))
    if token is None:
        return redirect(portal.START_URL)
    secret_url = f"{_public_base(request)}/antrag/{last['id']}?token={token}"
    draft = portal.draft_of(state)
    return page(
        request,
        "intake/anmeldung/confirmation.html",
        {
            "reference": last["reference"],
            "status_url": f"/antrag/{last['id']}",
            "secret_url": secret_url,
            "email": (draft.get("submitted") or {}).get("email"),
            "back_url": None,
        },
    )
