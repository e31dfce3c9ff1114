"""A live web app for the video tests and helpers to set up consultations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from servicepoint import auth, db
from tests.conftest import free_port
from tests.e2e.conftest import LiveServer
from video import service
from video.models import Consultation


@pytest.fixture(scope="session")
def video_server(migrated_db: str) -> Iterator[LiveServer]:
    server = LiveServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def clerk(migrated_db: str) -> auth.User:
    with db.session_scope() as session:
        return auth.create_user(session, f"clerk-{uuid.uuid4().hex[:6]}", "geheim-geheim-123")


def consultation(
    clerk: auth.User, starts_in: timedelta = timedelta(0), application_id: str | None = None
) -> Consultation:
    with db.session_scope() as session:
        user = session.get(auth.User, clerk.id)
        assert user is not None
        return service.start_now(
            session,
            user,
            service.StartNow(
                citizen_name="Erika Mustermann",
                citizen_email="erika@example.org",
                topic="Anmeldung",
                starts_at=datetime.now(UTC) + starts_in,
                application_id=application_id,
            ),
        )


def tokens(item: Consultation) -> tuple[str, str]:
    return (
        service.join_token(item, service.Role.CITIZEN),
        service.join_token(item, service.Role.CLERK),
    )
