"""The assistant's one table: questions it could not answer, masked, counted per day."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class UnansweredQuestion(SQLModel, table=True):
    """A question without an answer, with numbers, e-mail addresses and codes masked
    (``intake.assistant.service.mask``); no client, no session, no time of day."""

    __tablename__ = "assistant_unanswered"

    day: date = Field(primary_key=True)
    lang: str = Field(primary_key=True, max_length=8)
    question: str = Field(primary_key=True, max_length=300)
    count: int = 1
