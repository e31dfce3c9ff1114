"""Consultations: publishing slots, booking, starting at once, cancelling, join tokens,
the booking e-mail with an .ics file, reminders and the call's metadata.

The caller owns the transaction (a request dependency or a flow task).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from servicepoint import auth, events, mail
from servicepoint.errors import Conflict, Forbidden, InvalidInput, NotFound
from servicepoint.settings import Settings, get_settings, local_time
from video import repository
from video.models import Consultation, ConsultationSlot, ConsultationStatus

JOIN_PURPOSE = "join"
# A token opens the call from shortly before the slot until its end.
EARLY_JOIN = timedelta(minutes=15)
START_NOW_LENGTH = timedelta(minutes=30)
REMINDER_BEFORE = timedelta(hours=1)
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Role(StrEnum):
    CITIZEN = "citizen"
    CLERK = "clerk"


@dataclass(frozen=True, slots=True)
class JoinClaim:
    consultation_id: str
    role: Role


@dataclass(slots=True)
class Booking:
    slot_id: int
    name: str
    email: str
    topic: str
    application_id: str | None = None
    language: str = "de"


@dataclass(slots=True)
class StartNow:
    citizen_name: str
    citizen_email: str
    topic: str
    starts_at: datetime | None = None
    application_id: str | None = None
    language: str = "de"


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- slots ---------------------------------------------------------------------------------
def publish_slots(
    session: Session, clerk: auth.User, starts_at: datetime, ends_at: datetime, minutes: int = 30
) -> list[ConsultationSlot]:
    """Cut a clerk's home-office hours into bookable slots of ``minutes``."""
    starts_at, ends_at = aware(starts_at), aware(ends_at)
    if ends_at <= starts_at or minutes < 10 or (ends_at - starts_at) > timedelta(hours=12):
        raise InvalidInput(
            "Bitte geben Sie einen gültigen Zeitraum (höchstens 12 Stunden) an.",
            "Please give a valid period (at most 12 hours).",
        )
    assert clerk.id is not None
    slots: list[ConsultationSlot] = []
    cursor = starts_at
    while cursor + timedelta(minutes=minutes) <= ends_at:
        slot = ConsultationSlot(
            clerk_id=clerk.id, starts_at=cursor, ends_at=cursor + timedelta(minutes=minutes)
        )
        session.add(slot)
        slots.append(slot)
        cursor += timedelta(minutes=minutes)
    session.flush()
    return slots


def free_slots(session: Session, now: datetime | None = None) -> list[ConsultationSlot]:
    return list(repository.free_slots(session, now or utcnow()))


# --- consultations -------------------------------------------------------------------------
def _new_reference(session: Session, now: datetime) -> str:
    while True:
        suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
        reference = f"VID-{now:%Y}-{suffix}"
        if not repository.reference_taken(session, reference):
            return reference


def _check_person(name: str, email: str, topic: str) -> None:
    if not name.strip() or "@" not in email or not topic.strip():
        raise InvalidInput(
            "Bitte geben Sie Ihren Namen, eine gültige E-Mail-Adresse und Ihr Anliegen an.",
            "Please give your name, a valid e-mail address and your topic.",
        )


def book(session: Session, booking: Booking, now: datetime | None = None) -> Consultation:
    """A citizen books a published slot; the slot is taken in the same transaction."""
    now = now or utcnow()
    _check_person(booking.name, booking.email, booking.topic)
    slot = repository.slot_for_update(session, booking.slot_id)
    if slot is None:
        raise NotFound()
    if slot.consultation_id is not None or aware(slot.starts_at) <= now:
        raise Conflict(
            "Dieser Termin ist leider nicht mehr frei. Bitte wählen Sie einen anderen.",
            "This slot is no longer free. Please choose another one.",
        )
    consultation = Consultation(
        id=uuid.uuid4().hex,
        reference=_new_reference(session, now),
        slot_id=slot.id,
        clerk_id=slot.clerk_id,
        citizen_name=booking.name.strip(),
        citizen_email=booking.email.strip(),
        topic=booking.topic.strip(),
        application_id=booking.application_id or None,
        language=booking.language,
        starts_at=aware(slot.starts_at),
        ends_at=aware(slot.ends_at),
        created_at=now,
    )
    slot.consultation_id = consultation.id
    session.add(consultation)
    session.add(slot)
    _enqueue(session, events.CONSULTATION_BOOKED, consultation)
    session.flush()
    return consultation


def start_now(
    session: Session, clerk: auth.User, request: StartNow, now: datetime | None = None
) -> Consultation:
    """A clerk starts a consultation at once from a case ("let's talk now")."""
    now = now or utcnow()
    _check_person(request.citizen_name, request.citizen_email, request.topic)
    starts_at = aware(request.starts_at) if request.starts_at else now
    consultation = Consultation(
        id=uuid.uuid4().hex,
        reference=_new_reference(session, now),
        clerk_id=clerk.id,
        citizen_name=request.citizen_name.strip(),
        citizen_email=request.citizen_email.strip(),
        topic=request.topic.strip(),
        application_id=request.application_id or None,
        language=request.language,
        starts_at=starts_at,
        ends_at=starts_at + START_NOW_LENGTH,
        created_at=now,
    )
    session.add(consultation)
    _enqueue(session, events.CONSULTATION_BOOKED, consultation)
    session.flush()
    return consultation


def get(session: Session, consultation_id: str) -> Consultation:
    consultation = session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound()
    return consultation


def cancel(session: Session, consultation: Consultation, now: datetime | None = None) -> None:
    if consultation.status not in (ConsultationStatus.BOOKED,):
        raise Conflict(
            "Dieser Termin kann nicht mehr abgesagt werden.",
            "This appointment can no longer be cancelled.",
        )
    consultation.status = ConsultationStatus.CANCELLED
    consultation.cancelled_at = now or utcnow()
    if consultation.slot_id is not None:
        slot = session.get(ConsultationSlot, consultation.slot_id)
        if slot is not None:
            slot.consultation_id = None  # the slot is free again
            session.add(slot)
    session.add(consultation)
    _enqueue(session, events.CONSULTATION_ENDED, consultation, cancelled=True)


def mark_started(session: Session, consultation_id: str, now: datetime | None = None) -> None:
    consultation = session.get(Consultation, consultation_id)
    if consultation is None or consultation.started_at is not None:
        return
    consultation.started_at = now or utcnow()
    consultation.status = ConsultationStatus.LIVE
    session.add(consultation)
    _enqueue(session, events.CONSULTATION_STARTED, consultation)


def mark_admitted(session: Session, consultation_id: str, now: datetime | None = None) -> None:
    consultation = session.get(Consultation, consultation_id)
    if consultation is not None and consultation.admitted_at is None:
        consultation.admitted_at = now or utcnow()
        session.add(consultation)


def mark_ended(session: Session, consultation_id: str, now: datetime | None = None) -> None:
    """The last participant left: keep who, when and how long; nothing else."""
    consultation = session.get(Consultation, consultation_id)
    if consultation is None or consultation.started_at is None:
        return
    now = now or utcnow()
    consultation.ended_at = now
    consultation.duration_seconds = int((now - aware(consultation.started_at)).total_seconds())
    if now >= aware(consultation.ends_at):
        consultation.status = ConsultationStatus.ENDED
    session.add(consultation)
    _enqueue(
        session,
        events.CONSULTATION_ENDED,
        consultation,
        duration_seconds=consultation.duration_seconds,
    )


def _enqueue(session: Session, event: str, consultation: Consultation, **extra: object) -> None:
    payload: dict[str, object] = {
        "reference": consultation.reference,
        "starts_at": aware(consultation.starts_at).isoformat(),
        "application_id": consultation.application_id,
        **extra,
    }
    events.enqueue(session, event, f"servicepoint.consultation.{consultation.id}", payload)


# --- join tokens ---------------------------------------------------------------------------
def join_token(consultation: Consultation, role: Role) -> str:
    """A token bound to the consultation, the role and the time window of the slot."""
    opens = aware(consultation.starts_at) - EARLY_JOIN
    closes = aware(consultation.ends_at)
    return auth.sign(
        JOIN_PURPOSE,
        {
            "c": consultation.id,
            "r": str(role),
            "nb": int(opens.timestamp()),
            "na": int(closes.timestamp()),
        },
    )


def verify_token(
    token: str,
    *,
    consultation_id: str | None = None,
    role: Role | None = None,
    now: datetime | None = None,
) -> JoinClaim:
    """The claim of a valid token, or :class:`Forbidden` (forged, other consultation,
    other role, outside its window)."""
    payload = auth.unsign(JOIN_PURPOSE, token) if token else None
    if payload is None:
        raise Forbidden()
    try:
        claim = JoinClaim(str(payload["c"]), Role(payload["r"]))
        opens, closes = float(payload["nb"]), float(payload["na"])
    except (KeyError, ValueError, TypeError) as exc:
        raise Forbidden() from exc
    moment = (now or utcnow()).timestamp()
    if consultation_id is not None and claim.consultation_id != consultation_id:
        raise Forbidden()
    if role is not None and claim.role != role:
        raise Forbidden()
    if not opens <= moment <= closes:
        raise Forbidden(
            "Der Link ist zu diesem Zeitpunkt nicht gültig. Sie können ab 15 Minuten vor "
            "dem Termin bis zu seinem Ende teilnehmen.",
            "The link is not valid at this time. You can join from 15 minutes before the "
            "appointment until its end.",
        )
    return claim


def check_joinable(session: Session, claim: JoinClaim) -> Consultation:
    consultation = session.get(Consultation, claim.consultation_id)
    if consultation is None or consultation.status in (
        ConsultationStatus.CANCELLED,
        ConsultationStatus.ENDED,
    ):
        raise Forbidden()
    return consultation


def join_url(consultation: Consultation, token: str, settings: Settings | None = None) -> str:
    base = (settings or get_settings()).effective_public_url
    return f"{base}/video/teilnehmen/{consultation.id}?token={token}"


def cancel_url(consultation: Consultation, token: str, settings: Settings | None = None) -> str:
    base = (settings or get_settings()).effective_public_url
    return f"{base}/video/termin/{consultation.id}/absagen?token={token}"


# --- e-mail --------------------------------------------------------------------------------
def _ics_time(value: datetime) -> str:
    return aware(value).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ics(consultation: Consultation, url: str, settings: Settings | None = None) -> bytes:
    settings = settings or get_settings()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//{settings.office_name}//Videosprechstunde//DE",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{consultation.id}@{settings.mail_from.rpartition('@')[2]}",
        f"DTSTAMP:{_ics_time(utcnow())}",
        f"DTSTART:{_ics_time(consultation.starts_at)}",
        f"DTEND:{_ics_time(consultation.ends_at)}",
        f"SUMMARY:{_ics_escape('Videosprechstunde ' + settings.office_name)}",
        f"DESCRIPTION:{_ics_escape(consultation.topic + chr(10) + url)}",
        f"URL:{url}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _when(consultation: Consultation, english: bool = False) -> str:
    """The start in the office's time (Hannover), as citizens read it."""
    day = local_time(consultation.starts_at).strftime("%d.%m.%Y %H:%M")
    return f"{day} (German time)" if english else f"{day} Uhr"


def send_booking_mail(consultation: Consultation, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    token = join_token(consultation, Role.CITIZEN)
    url = join_url(consultation, token, settings)
    text = (
        f"Guten Tag {consultation.citizen_name},\n\n"
        f"Ihre Videosprechstunde ({consultation.reference}) ist gebucht: {_when(consultation)}.\n"
        f"Anliegen: {consultation.topic}\n\nTeilnehmen: {url}\n"
        f"Absagen: {cancel_url(consultation, token, settings)}\n\n"
        "Wir zeichnen weder Bild noch Ton auf.\n\n"
        f"--\nYour video consultation ({consultation.reference}) is booked for "
        f"{_when(consultation, english=True)}. Join: {url}\n"
    )
    message = mail.Mail(
        to=consultation.citizen_email,
        subject=f"Ihre Videosprechstunde {consultation.reference}",
        text=text,
        attachments=[
            mail.Attachment("termin.ics", ics(consultation, url, settings), "text/calendar")
        ],
        message_id_key=f"consultation-{consultation.id}-booked",
    )
    return mail.send(message, settings)


def send_reminders(session: Session, now: datetime | None = None) -> list[str]:
    """Remind every citizen whose consultation starts within the next hour (once)."""
    now = now or utcnow()
    sent: list[str] = []
    for consultation in repository.due_for_reminder(session, now, now + REMINDER_BEFORE):
        url = join_url(consultation, join_token(consultation, Role.CITIZEN))
        mail.send(
            mail.Mail(
                to=consultation.citizen_email,
                subject=f"Erinnerung: Videosprechstunde {consultation.reference}",
                text=(
                    f"Guten Tag {consultation.citizen_name},\n\nIhre Videosprechstunde beginnt "
                    f"{_when(consultation)}.\nTeilnehmen: {url}\n\n--\nReminder: your video "
                    f"consultation starts {_when(consultation, english=True)}. Join: {url}\n"
                ),
                message_id_key=f"consultation-{consultation.id}-reminder",
            )
        )
        consultation.reminder_sent_at = now
        session.add(consultation)
        sent.append(consultation.reference)
    return sent
