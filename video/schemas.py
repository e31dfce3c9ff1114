"""Request and response bodies of the consultation API (CONTRACTS §4)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ConsultationCreate(BaseModel):
    """A citizen books ``slot_id``; a clerk (bearer token) starts one at once."""

    slot_id: int | None = None
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    topic: str = Field(max_length=500)
    application_id: str | None = Field(default=None, max_length=32)
    starts_at: datetime | None = None
    citizen_name: str | None = Field(default=None, max_length=200)
    citizen_email: str | None = Field(default=None, max_length=254)
    language: str = Field(default="de", pattern="^(de|en)$")


class ConsultationCreated(BaseModel):
    id: str
    reference: str
    citizen_token: str
    join_url: str
    starts_at: datetime


class SlotPublish(BaseModel):
    starts_at: datetime
    ends_at: datetime
    minutes: int = Field(default=30, ge=10, le=120)


class SlotPublic(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime


class TokenBody(BaseModel):
    token: str | None = Field(default=None, max_length=2000)


class SessionDescription(BaseModel):
    token: str = Field(max_length=2000)
    sdp: str = Field(max_length=100_000)
    type: str = Field(pattern="^offer$")
    consultation_id: str | None = Field(default=None, max_length=32)


class CheckOffer(BaseModel):
    sdp: str = Field(max_length=100_000)
    type: str = Field(pattern="^offer$")


class Answer(BaseModel):
    sdp: str
    type: str


class TutorialBody(TokenBody):
    tutorial: str = Field(max_length=200)


class CaptureBody(TokenBody):
    slot: str | None = Field(default=None, max_length=64)


class HangupBody(TokenBody):
    leave_only: bool = False
