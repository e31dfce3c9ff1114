"""Pages: the citizen's booking, cancellation and join pages; the clerk's overview,
"start now" from a case and the call page (back-office sign-in required)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from backoffice import staff_pages
from intake.applications.models import Application
from servicepoint.db import SessionDep
from servicepoint.errors import DomainError, Forbidden
from servicepoint.settings import OFFICE_TIME
from servicepoint.web import render, request_language
from video import api, service
from video.models import Consultation

router = APIRouter(include_in_schema=False)


def _lang(request: Request) -> str:
    return request_language(request)


# --- citizens ------------------------------------------------------------------------------
def _booking_form(
    request: Request,
    session: SessionDep,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "video/book.html",
        {
            "slots": service.free_slots(session),
            "values": values or {},
            "errors": errors or {},
            "has_errors": bool(errors),
        },
        status_code=status_code,
    )


@router.get("/video/termin")
def booking_page(request: Request, session: SessionDep) -> Response:
    return _booking_form(request, session)


@router.post("/video/termin")
def book(
    request: Request,
    session: SessionDep,
    slot_id: str = Form(""),
    name: str = Form(""),
    email: str = Form(""),
    topic: str = Form(""),
    application: str = Form(""),
) -> Response:
    values = {"slot_id": slot_id, "name": name, "email": email, "topic": topic}
    values["application"] = application
    en = _lang(request) == "en"
    errors: dict[str, str] = {}
    if not slot_id.isdigit():
        errors["slot_id"] = "Choose an appointment." if en else "Wählen Sie einen Termin."
    if not name.strip():
        errors["name"] = "Enter your name." if en else "Geben Sie Ihren Namen ein."
    if "@" not in email or "." not in email.rpartition("@")[2]:
        errors["email"] = (
            "Enter an e-mail address like name@example.org."
            if en
            else "Geben Sie eine E-Mail-Adresse wie name@example.org ein."
        )
    if not topic.strip():
        errors["topic"] = (
            "Tell us briefly what it is about." if en else "Nennen Sie kurz Ihr Anliegen."
        )
    application_id = None
    if application.strip():
        from sqlmodel import select

        found = session.exec(
            select(Application).where(Application.reference == application.strip().upper())
        ).first()
        if found is None:
            errors["application"] = (
                "We cannot find this case number."
                if en
                else "Diese Vorgangsnummer kennen wir nicht."
            )
        else:
            application_id = found.id
    if errors:
        return _booking_form(request, session, values, errors, status_code=422)
    try:
        consultation = service.book(
            session,
            service.Booking(
                slot_id=int(slot_id),
                name=name,
                email=email,
                topic=topic,
                application_id=application_id,
                language=_lang(request),
            ),
        )
    except DomainError as exc:
        errors["slot_id"] = exc.message(_lang(request))
        return _booking_form(request, session, values, errors, status_code=409)
    session.commit()
    api.send_booking_mail(consultation)
    token = service.join_token(consultation, service.Role.CITIZEN)
    return render(
        request,
        "video/booked.html",
        {
            "consultation": consultation,
            "join_url": service.join_url(consultation, token),
            "cancel_url": service.cancel_url(consultation, token),
        },
    )


def _citizen_consultation(session: SessionDep, consultation_id: str, token: str) -> Consultation:
    consultation = service.get(session, consultation_id)
    from servicepoint import auth

    payload = auth.unsign(service.JOIN_PURPOSE, token)
    if payload is None or payload.get("c") != consultation_id or payload.get("r") != "citizen":
        raise Forbidden()
    return consultation


@router.get("/video/termin/{consultation_id}/absagen")
def cancel_page(
    request: Request, session: SessionDep, consultation_id: str, token: str = ""
) -> Response:
    consultation = _citizen_consultation(session, consultation_id, token)
    return render(
        request,
        "video/cancel.html",
        {"consultation": consultation, "token": token, "done": False},
    )


@router.post("/video/termin/{consultation_id}/absagen")
def cancel(
    request: Request, session: SessionDep, consultation_id: str, token: str = Form("")
) -> Response:
    consultation = _citizen_consultation(session, consultation_id, token)
    service.cancel(session, consultation)
    return render(
        request, "video/cancel.html", {"consultation": consultation, "token": "", "done": True}
    )


@router.get("/video/teilnehmen/{consultation_id}")
def join_page(
    request: Request, session: SessionDep, consultation_id: str, token: str = ""
) -> Response:
    claim = service.verify_token(token, consultation_id=consultation_id, role=service.Role.CITIZEN)
    consultation = service.check_joinable(session, claim)
    manager = api.manager()
    if not manager.has_capacity(consultation_id):
        return render(
            request,
            "video/busy.html",
            {"minutes": manager.retry_minutes(), "retry_url": str(request.url)},
            status_code=503,
        )
    return render(
        request,
        "video/call.html",
        {"consultation": consultation, "token": token, "role": "citizen"},
    )


@router.get("/video/geraetetest")
def device_check_page(request: Request) -> Response:
    return render(request, "video/check.html", {})


# --- clerks --------------------------------------------------------------------------------
@router.get("/backoffice/video")
def clerk_overview(request: Request, session: SessionDep, user: staff_pages.PageStaff) -> Response:
    from video import repository

    now = datetime.now(UTC)
    assert user.id is not None
    return staff_pages.page(
        request,
        "video/clerk_overview.html",
        user,
        {
            "consultations": repository.consultations_of_clerk(session, user.id, now),
            "slots": repository.slots_of_clerk(session, user.id, now),
            "waiting": {row["consultation_id"] for row in api.manager().waiting(user.id)},
            "section": "video",
        },
    )


@router.post("/backoffice/video/sprechzeiten")
def publish_hours(
    session: SessionDep,
    user: staff_pages.PageStaff,
    day: str = Form(""),
    start: str = Form(""),
    end: str = Form(""),
) -> Response:
    try:
        # The clerk types the office's wall-clock time; it is stored in UTC.
        starts_at = datetime.fromisoformat(f"{day}T{start}").replace(tzinfo=OFFICE_TIME)
        ends_at = datetime.fromisoformat(f"{day}T{end}").replace(tzinfo=OFFICE_TIME)
    except ValueError as exc:
        from servicepoint.errors import InvalidInput

        raise InvalidInput(
            "Bitte geben Sie Tag, Beginn und Ende an.", "Please give day, start and end."
        ) from exc
    service.publish_slots(session, user, starts_at, ends_at)
    return RedirectResponse("/backoffice/video", status_code=303)


@router.get("/backoffice/video/neu")
def start_form(
    request: Request,
    session: SessionDep,
    user: staff_pages.PageStaff,
    application: str = "",
) -> Response:
    case = session.get(Application, application) if application else None
    values = {"application": application, "email": case.citizen_email if case else ""}
    if case is not None:
        values["topic"] = f"{case.reference}"
        data = case.data
        people = (data.get("residents") or data.get("persons") or [{}]) if data else [{}]
        person = people[0] if isinstance(people[0], dict) else {}
        names = [str(person.get(k, "")) for k in ("given_names", "surname") if person.get(k)]
        values["name"] = " ".join(names)
    return staff_pages.page(
        request,
        "video/clerk_start.html",
        user,
        {"values": values, "errors": {}, "case": case, "section": "video"},
    )


@router.post("/backoffice/video/neu")
def start_now(
    request: Request,
    session: SessionDep,
    user: staff_pages.PageStaff,
    name: str = Form(""),
    email: str = Form(""),
    topic: str = Form(""),
    application: str = Form(""),
) -> Response:
    case = session.get(Application, application) if application else None
    try:
        consultation = service.start_now(
            session,
            user,
            service.StartNow(
                citizen_name=name,
                citizen_email=email,
                topic=topic,
                application_id=case.id if case else None,
                language=case.language if case else "de",
            ),
        )
    except DomainError as exc:
        return staff_pages.page(
            request,
            "video/clerk_start.html",
            user,
            {
                "values": {
                    "name": name,
                    "email": email,
                    "topic": topic,
                    "application": application,
                },
                "errors": {"form": exc.message(_lang(request))},
                "has_errors": True,
                "case": case,
                "section": "video",
            },
            status_code=422,
        )
    session.commit()
    api.send_booking_mail(consultation)
    return RedirectResponse(f"/backoffice/video/{consultation.id}", status_code=303)


@router.get("/backoffice/video/{consultation_id}")
def clerk_call(
    request: Request, session: SessionDep, user: staff_pages.PageStaff, consultation_id: str
) -> Response:
    consultation = service.get(session, consultation_id)
    token = service.join_token(consultation, service.Role.CLERK)
    opens = service.aware(consultation.starts_at) - service.EARLY_JOIN
    return staff_pages.page(
        request,
        "video/clerk_call.html",
        user,
        {
            "consultation": consultation,
            "token": token,
            "role": "clerk",
            "too_early": opens > datetime.now(UTC) + timedelta(seconds=1),
            "section": "video",
        },
    )
