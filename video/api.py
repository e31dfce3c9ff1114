"""The consultation API (CONTRACTS §4): booking, tokens, admission, signalling.

Every 403 of a join token is decided in :func:`video.service.verify_token` *before* a
peer connection exists, so a refused token costs nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiortc import RTCSessionDescription
from anyio import from_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from intake.applications import service as intake_service
from intake.applications.models import Application
from intake.applications.uploads import UploadRejected
from servicepoint import auth, db
from servicepoint.db import SessionDep
from servicepoint.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)
from servicepoint.mail import MailError
from servicepoint.security import CurrentStaff, OptionalStaff
from servicepoint.settings import get_settings
from video import relay, routing, schemas, service
from video.models import Consultation

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["video"])

_manager: relay.CallManager | None = None

T = TypeVar("T")


async def _record(consultation_id: str, what: str) -> None:
    """Keep the call's metadata (who, when, how long) — in a thread: SQLite blocks."""

    def write() -> None:
        with db.session_scope() as session:
            if what == "started":
                service.mark_started(session, consultation_id)
            elif what == "admitted":
                service.mark_admitted(session, consultation_id)
            elif what == "ended":
                service.mark_ended(session, consultation_id)
        if what == "ended":
            routing.release(consultation_id)  # scale-out: no process holds it any more

    try:
        await asyncio.to_thread(write)
    except Exception:  # metadata must never break a call
        log.exception("could not record %s of consultation %s", what, consultation_id)


def manager() -> relay.CallManager:
    """The calls of this process (one manager per web process)."""
    global _manager
    if _manager is None:
        settings = get_settings()
        _manager = relay.CallManager(
            settings.max_calls_per_process,
            on_event=_record,
            forward_video=settings.video_forward_encoded,
        )
    return _manager


def on_loop(operation: Callable[..., T], *args: Any) -> T:
    """Run a call-manager operation from a sync endpoint on the event loop's thread.

    aiortc objects belong to the loop: a data channel send from a worker thread fails
    (no event loop there) and players must not be started or stopped under a running
    ``recv``. The endpoints stay sync so their database work stays off the loop."""
    return from_thread.run_sync(operation, *args)


def busy_response(request: Request, retry_minutes: int) -> JSONResponse:
    return JSONResponse(
        {
            "error": "busy",
            "message": "Alle Leitungen sind belegt. Bitte versuchen Sie es in "
            f"{retry_minutes} Minuten erneut.",
            "message_en": f"All lines are busy. Please try again in {retry_minutes} minutes.",
            "retry_after_minutes": retry_minutes,
        },
        status_code=503,
        headers={"Retry-After": str(retry_minutes * 60)},
    )


def created(consultation: Consultation) -> schemas.ConsultationCreated:
    token = service.join_token(consultation, service.Role.CITIZEN)
    return schemas.ConsultationCreated(
        id=consultation.id,
        reference=consultation.reference,
        citizen_token=token,
        join_url=service.join_url(consultation, token),
        starts_at=service.aware(consultation.starts_at),
    )


def send_booking_mail(consultation: Consultation) -> None:
    try:
        service.send_booking_mail(consultation)
    except MailError:  # the booking stands; the confirmation page shows the link too
        log.warning("booking mail for %s not delivered", consultation.reference)


def clerk_of(
    session: Session, consultation_id: str, staff: auth.User | None, token: str | None
) -> Consultation:
    """A signed-in clerk, or a clerk join token for exactly this consultation."""
    if token:
        service.verify_token(token, consultation_id=consultation_id, role=service.Role.CLERK)
    elif staff is None:
        raise NotAuthenticated()  # credentials first: no probing which ids exist
    return service.get(session, consultation_id)


# --- booking -------------------------------------------------------------------------------
@router.get("/video/slots", response_model=list[schemas.SlotPublic])
def list_slots(session: SessionDep) -> list[schemas.SlotPublic]:
    return [
        schemas.SlotPublic(
            id=slot.id or 0,
            starts_at=service.aware(slot.starts_at),
            ends_at=service.aware(slot.ends_at),
        )
        for slot in service.free_slots(session)
    ]


@router.post("/video/slots", status_code=201, response_model=list[schemas.SlotPublic])
def publish_slots(
    body: schemas.SlotPublish, session: SessionDep, staff: CurrentStaff
) -> list[schemas.SlotPublic]:
    slots = service.publish_slots(session, staff, body.starts_at, body.ends_at, body.minutes)
    return [
        schemas.SlotPublic(
            id=slot.id or 0,
            starts_at=service.aware(slot.starts_at),
            ends_at=service.aware(slot.ends_at),
        )
        for slot in slots
    ]


@router.post("/consultations", status_code=201, response_model=schemas.ConsultationCreated)
def create_consultation(
    body: schemas.ConsultationCreate, session: SessionDep, staff: OptionalStaff
) -> schemas.ConsultationCreated:
    if body.slot_id is not None:
        consultation = service.book(
            session,
            service.Booking(
                slot_id=body.slot_id,
                name=body.name or "",
                email=body.email or "",
                topic=body.topic,
                application_id=body.application_id,
                language=body.language,
            ),
        )
    elif staff is not None:
        consultation = service.start_now(
            session,
            staff,
            service.StartNow(
                citizen_name=body.citizen_name or "",
                citizen_email=body.citizen_email or "",
                topic=body.topic,
                starts_at=body.starts_at,
                application_id=body.application_id,
                language=body.language,
            ),
        )
    else:
        raise InvalidInput("Bitte wählen Sie einen Termin.", "Please choose a slot.")
    session.commit()
    send_booking_mail(consultation)
    return created(consultation)


@router.post("/consultations/{consultation_id}/cancel", status_code=204)
def cancel_consultation(consultation_id: str, body: schemas.TokenBody, session: SessionDep) -> None:
    consultation = service.get(session, consultation_id)
    payload = auth.unsign(service.JOIN_PURPOSE, body.token or "")
    if payload is None or payload.get("c") != consultation_id or payload.get("r") != "citizen":
        raise Forbidden()
    service.cancel(session, consultation)


@router.post("/consultations/{consultation_id}/clerk-token")
def clerk_token(consultation_id: str, session: SessionDep, staff: CurrentStaff) -> dict[str, str]:
    consultation = service.get(session, consultation_id)
    return {"clerk_token": service.join_token(consultation, service.Role.CLERK)}


# --- signalling ------------------------------------------------------------------------------
@router.post("/video/offer", response_model=schemas.Answer)
async def offer(body: schemas.SessionDescription, request: Request, session: SessionDep) -> Any:
    claim = service.verify_token(body.token, consultation_id=body.consultation_id)
    consultation = service.check_joinable(session, claim)
    try:
        answer = await manager().join(
            claim.consultation_id,
            str(claim.role),
            RTCSessionDescription(sdp=body.sdp, type=body.type),
            clerk_id=consultation.clerk_id,
            starts_at=service.aware(consultation.starts_at),
            ends_at=service.aware(consultation.ends_at),
        )
    except relay.Busy as busy:
        return busy_response(request, busy.retry_minutes)
    return schemas.Answer(sdp=answer.sdp, type=answer.type)


@router.post("/video/check", response_model=schemas.Answer)
async def device_check(body: schemas.CheckOffer, request: Request) -> Any:
    try:
        answer = await manager().check(RTCSessionDescription(sdp=body.sdp, type=body.type))
    except relay.Busy as busy:
        return busy_response(request, busy.retry_minutes)
    return schemas.Answer(sdp=answer.sdp, type=answer.type)


@router.post("/video/hangup", status_code=204)
async def hangup(body: schemas.HangupBody) -> None:
    claim = service.verify_token(body.token or "")
    if body.leave_only:  # the tab closes: this participant leaves, the other may stay
        await manager().leave(claim.consultation_id, str(claim.role))
    else:
        await manager().end(claim.consultation_id)


# --- the clerk's controls --------------------------------------------------------------------
@router.post("/consultations/{consultation_id}/admit")
async def admit(
    consultation_id: str,
    session: SessionDep,
    staff: OptionalStaff,
    body: schemas.TokenBody | None = None,
) -> dict[str, Any]:
    clerk_of(session, consultation_id, staff, body.token if body else None)
    if not await manager().admit(consultation_id):
        raise Conflict(
            "Die Bürgerin oder der Bürger ist nicht im Warteraum.",
            "The citizen is not in the waiting room.",
        )
    return manager().room_state(consultation_id)


@router.get("/consultations/{consultation_id}/state")
def call_state(
    consultation_id: str, session: SessionDep, staff: OptionalStaff, token: str | None = None
) -> dict[str, Any]:
    clerk_of(session, consultation_id, staff, token)
    return manager().room_state(consultation_id)


@router.get("/video/waiting")
def waiting_room(staff: CurrentStaff) -> list[dict[str, Any]]:
    return manager().waiting(staff.id)


@router.post("/consultations/{consultation_id}/tutorial")
def play_tutorial(
    consultation_id: str,
    body: schemas.TutorialBody,
    session: SessionDep,
    staff: OptionalStaff,
) -> dict[str, Any]:
    from tutorials import service as tutorials_service

    clerk_of(session, consultation_id, staff, body.token)
    key: int | str = int(body.tutorial) if body.tutorial.isdigit() else body.tutorial
    path = tutorials_service.webrtc_media_path(session, key)
    if path is None:
        raise NotFound()
    try:
        on_loop(manager().play, consultation_id, path)
    except relay.NotInCall as exc:
        raise Conflict() from exc
    return manager().room_state(consultation_id)


@router.post("/consultations/{consultation_id}/camera")
def back_to_camera(
    consultation_id: str, session: SessionDep, staff: OptionalStaff, body: schemas.TokenBody
) -> dict[str, Any]:
    clerk_of(session, consultation_id, staff, body.token)
    on_loop(manager().stop_playing, consultation_id)
    return manager().room_state(consultation_id)


@router.post("/consultations/{consultation_id}/capture-request", status_code=202)
def capture_request(
    consultation_id: str, session: SessionDep, staff: OptionalStaff, body: schemas.TokenBody
) -> dict[str, str]:
    clerk_of(session, consultation_id, staff, body.token)
    try:
        on_loop(manager().request_consent, consultation_id)
    except relay.NotInCall as exc:
        raise Conflict() from exc
    return {"status": "asked"}


@router.post("/consultations/{consultation_id}/capture", status_code=201)
def capture(
    consultation_id: str, session: SessionDep, staff: OptionalStaff, body: schemas.CaptureBody
) -> dict[str, Any]:
    """One still frame of a document the citizen holds to the camera, attached to the case
    like an upload (with the citizen's consent, given in the call just before)."""
    consultation = clerk_of(session, consultation_id, staff, body.token)
    if consultation.application_id is None:
        raise Conflict(
            "Die Videosprechstunde gehört zu keinem Antrag.",
            "The consultation is not linked to an application.",
        )
    application = session.get(Application, consultation.application_id)
    if application is None:
        raise NotFound()
    try:
        jpeg = on_loop(manager().capture, consultation_id).jpeg()
    except relay.NoConsent as exc:
        raise Forbidden(
            "Die Bürgerin oder der Bürger hat der Aufnahme nicht zugestimmt.",
            "The citizen has not consented to the capture.",
            code="no_consent",
        ) from exc
    except relay.NotInCall as exc:
        raise Conflict() from exc
    actor = staff.username if staff is not None else f"clerk:{consultation.reference}"
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    try:
        document = intake_service.add_document(
            session,
            application,
            intake_service.IncomingFile(f"video-{stamp}.jpg", jpeg),
            body.slot,
            actor,
            source="video",
        )
    except UploadRejected as exc:
        raise InvalidInput(str(exc)) from exc
    # Stored, audited and announced like an upload: the read-added-document flow reads it;
    # deciding on the case stays with the clerk.
    return {"document_id": document.id, "file": document.file, "size": len(jpeg)}
