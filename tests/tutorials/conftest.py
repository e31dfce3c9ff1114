"""Tutorial test helpers: a tiny two-step script rendered once per test session and
published in the catalogue (committed, so the web app's own sessions see it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from servicepoint import db
from servicepoint.app import create_app
from tutorials import render, service

TRANSCRIPT_ONLY_WORD = "Zwiebelturm"


def tiny_version(slug: str, language: str = "de") -> render.Version:
    return render.parse_script(
        {
            "service": "anmeldung",
            "versions": [
                {
                    "slug": slug,
                    "language": language,
                    "title": "Kleiner Test",
                    "summary": "Ein kurzes Video für die Tests.",
                    "steps": [
                        {
                            "heading": "Erster Schritt",
                            "text": "Hallo",
                            "narration": f"Hier steht der {TRANSCRIPT_ONLY_WORD}.",
                            "seconds": 2,
                        },
                        {
                            "heading": "Zweiter Schritt",
                            "text": "Ende",
                            "narration": "Das war es schon.",
                            "seconds": 2,
                        },
                    ],
                }
            ],
        },
        "tiny",
    )[0]


@dataclass
class Published:
    slug: str
    version: render.Version
    result: render.Rendered

    @property
    def mp4(self) -> Path:
        return self.result.directory / "video.mp4"


@pytest.fixture(scope="session")
def tutorial_app(migrated_db: str) -> FastAPI:
    return create_app()


@pytest.fixture(scope="session")
def published(migrated_db: str) -> Published:
    """The tiny script, rendered and recorded as a ready tutorial."""
    slug = f"tiny-{uuid.uuid4().hex[:8]}"
    version = tiny_version(slug)
    with db.session_scope() as session:
        service.sync_scripts(session, [version])
    target = service.target_dir(slug, "de", version.content_hash)
    result = render.render_version(version, target)
    with db.session_scope() as session:
        service.record_render(session, version, result)
    return Published(slug, version, result)
