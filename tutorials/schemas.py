"""API shapes of the tutorial library (CONTRACTS §6)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class TutorialPublic(BaseModel):
    id: int
    slug: str
    title: str
    summary: str
    language: str
    easy_language: bool
    service: str
    status: str
    duration_seconds: float | None
    chapters: list[dict[str, Any]]
    video_url: str | None
    captions_url: str | None
    transcript_url: str | None
    thumbnail_url: str | None
    page_url: str
