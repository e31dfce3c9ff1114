"""Consultation slots and consultations. Only metadata is kept (who, when, how long):
audio and video are relayed, never recorded."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from servicepoint.auth import utcnow


class ConsultationStatus(StrEnum):
    BOOKED = "booked"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class ConsultationSlot(SQLModel, table=True):
    """A window of a clerk's home-office hours that a citizen can book."""

    __tablename__ = "consultation_slots"

    id: int | None = Field(default=None, primary_key=True)
    clerk_id: int = Field(foreign_key="users.id", index=True)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    consultation_id: str | None = Field(default=None, max_length=32, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Consultation(SQLModel, table=True):
    __tablename__ = "consultations"

    id: str = Field(primary_key=True, max_length=32)
    reference: str = Field(index=True, unique=True, max_length=32)
    slot_id: int | None = Field(default=None, foreign_key="consultation_slots.id")
    clerk_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    citizen_name: str = Field(max_length=200)
    citizen_email: str = Field(max_length=254)
    topic: str = Field(max_length=500)
    application_id: str | None = Field(default=None, max_length=32, index=True)
    language: str = Field(default="de", max_length=2)
    status: str = Field(default=ConsultationStatus.BOOKED, index=True, max_length=16)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
    reminder_sent_at: datetime | None = None
    admitted_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    cancelled_at: datetime | None = None


class VideoNode(SQLModel, table=True):
    """A web process that holds calls, as it last reported itself (scale-out only)."""

    __tablename__ = "video_nodes"

    name: str = Field(primary_key=True, max_length=64)
    url: str = Field(max_length=255)  # where the other processes reach it directly
    active_calls: int = 0
    max_calls: int = 0
    seen_at: datetime = Field(default_factory=utcnow, index=True)


class VideoPlacement(SQLModel, table=True):
    """Which web process holds a consultation's call (scale-out only)."""

    __tablename__ = "video_placements"

    consultation_id: str = Field(primary_key=True, max_length=32)
    node: str = Field(max_length=64, index=True)
    placed_at: datetime = Field(default_factory=utcnow)
