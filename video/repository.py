"""All SQL of the video domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from video.models import Consultation, ConsultationSlot, ConsultationStatus


def free_slots(session: Session, after: datetime, limit: int = 50) -> Sequence[ConsultationSlot]:
    query = (
        select(ConsultationSlot)
        .where(ConsultationSlot.consultation_id == None)  # noqa: E711  (SQL IS NULL)
        .where(ConsultationSlot.starts_at > after)
        .order_by(col(ConsultationSlot.starts_at))
        .limit(limit)
    )
    return session.exec(query).all()


def slot_for_update(session: Session, slot_id: int) -> ConsultationSlot | None:
    query = select(ConsultationSlot).where(ConsultationSlot.id == slot_id).with_for_update()
    return session.exec(query).first()


def slots_of_clerk(session: Session, clerk_id: int, after: datetime) -> Sequence[ConsultationSlot]:
    query = (
        select(ConsultationSlot)
        .where(ConsultationSlot.clerk_id == clerk_id)
        .where(ConsultationSlot.ends_at > after)
        .order_by(col(ConsultationSlot.starts_at))
    )
    return session.exec(query).all()


def consultations_of_clerk(
    session: Session, clerk_id: int, after: datetime
) -> Sequence[Consultation]:
    query = (
        select(Consultation)
        .where(Consultation.clerk_id == clerk_id)
        .where(Consultation.ends_at > after)
        .where(col(Consultation.status).in_([ConsultationStatus.BOOKED, ConsultationStatus.LIVE]))
        .order_by(col(Consultation.starts_at))
    )
    return session.exec(query).all()


def due_for_reminder(session: Session, start: datetime, end: datetime) -> Sequence[Consultation]:
    query = (
        select(Consultation)
        .where(Consultation.status == ConsultationStatus.BOOKED)
        .where(Consultation.reminder_sent_at == None)  # noqa: E711
        .where(Consultation.starts_at > start)
        .where(Consultation.starts_at <= end)
    )
    return session.exec(query).all()


def reference_taken(session: Session, reference: str) -> bool:
    query = select(Consultation.id).where(Consultation.reference == reference)
    return session.exec(query).first() is not None
