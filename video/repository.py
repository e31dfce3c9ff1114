"""All SQL of the video domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from servicepoint.auth import utcnow
from video.models import (
    Consultation,
    ConsultationSlot,
    ConsultationStatus,
    VideoNode,
    VideoPlacement,
)


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


# --- which process holds a call (scale-out) -------------------------------------------------
def report_node(session: Session, node: VideoNode) -> None:
    """Insert or refresh this process's row."""
    row = session.get(VideoNode, node.name)
    if row is None:
        session.add(node)
        return
    row.url, row.active_calls, row.max_calls = node.url, node.active_calls, node.max_calls
    row.seen_at = node.seen_at
    session.add(row)


def live_nodes(session: Session, seen_after: datetime) -> Sequence[VideoNode]:
    query = select(VideoNode).where(col(VideoNode.seen_at) > seen_after)
    return session.exec(query.order_by(col(VideoNode.name))).all()


def placement(session: Session, consultation_id: str) -> VideoPlacement | None:
    return session.get(VideoPlacement, consultation_id, populate_existing=True)


def place(session: Session, consultation_id: str, node: str) -> None:
    """Record the holder of a call; raises IntegrityError when another was first."""
    session.add(VideoPlacement(consultation_id=consultation_id, node=node))
    session.flush()


def move_placement(session: Session, consultation_id: str, old: str, new: str) -> bool:
    """Take a call over from a holder that stopped reporting; False when another did."""
    result = session.execute(
        update(VideoPlacement)
        .where(col(VideoPlacement.consultation_id) == consultation_id)
        .where(col(VideoPlacement.node) == old)
        .values(node=new, placed_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def release_placement(session: Session, consultation_id: str, node: str) -> None:
    session.execute(
        delete(VideoPlacement)
        .where(col(VideoPlacement.consultation_id) == consultation_id)
        .where(col(VideoPlacement.node) == node)
    )
