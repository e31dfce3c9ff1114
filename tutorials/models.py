"""Tables of the tutorial library: the catalogue and anonymous daily counters."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from servicepoint.auth import utcnow


class MediaStatus(StrEnum):
    PENDING = "pending"  # the script is known; the video is being prepared
    READY = "ready"
    FAILED = "failed"


class Source(StrEnum):
    SCRIPT = "script"  # rendered from tutorials/scripts/*.yaml
    UPLOAD = "upload"  # a finished video uploaded by an administrator


class Tutorial(SQLModel, table=True):
    __tablename__ = "tutorials"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    script: str | None = Field(default=None, max_length=100, index=True)
    source: str = Field(default=Source.SCRIPT, max_length=16)
    language: str = Field(max_length=2, index=True)
    easy_language: bool = False
    service: str = Field(max_length=64, index=True)
    title: str = Field(max_length=200)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    transcript: str = Field(default="", sa_column=Column(Text, nullable=False))
    chapters_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    duration_seconds: float | None = None
    status: str = Field(default=MediaStatus.PENDING, max_length=16)
    content_hash: str = Field(max_length=64)  # what the script asks for
    rendered_hash: str | None = Field(default=None, max_length=64)  # what media_dir holds
    media_dir: str | None = Field(default=None, max_length=500)
    error: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def chapters(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(self.chapters_json or "[]")
        return data

    @property
    def ready(self) -> bool:
        return self.status == MediaStatus.READY and self.media_dir is not None


class TutorialDailyCount(SQLModel, table=True):
    """Views and completions per tutorial and day: counters only, no personal data."""

    __tablename__ = "tutorial_daily_counts"

    tutorial_id: int = Field(foreign_key="tutorials.id", primary_key=True)
    day: date = Field(primary_key=True)
    views: int = 0
    completions: int = 0
