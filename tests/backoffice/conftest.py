"""Back-office test helpers: accounts, signed-in clients, and cases in review.

A case in review is made the way production makes it: submitted through
``intake.applications.service.submit`` with the dev corpus files, its documents read by the real
reader (once per test session, cached) and concluded by ``intake.applications.processing`` (take,
save the readings, decide, conclude), so the case view shows real readings with real
word boxes. The web app uses its own database sessions, so everything here commits.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert
from sqlmodel import col

from backoffice.models import DocumentRequest
from intake.applications import processing
from intake.applications import service as intake_service
from intake.applications.documents import DocType, DocumentReading
from intake.applications.evaluate import DocumentTask, iter_readings
from intake.applications.models import Application
from intake.services.decision import decide
from servicepoint import auth, db
from servicepoint.app import create_app
from servicepoint.settings import get_settings
from tests.conftest import SHARED_CORPUS

CASES = SHARED_CORPUS / "anmeldung-dev"
PASSWORD = "a-long-test-password"


@pytest.fixture(scope="session")
def app(migrated_db: str) -> FastAPI:
    return create_app()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def new_user(role: str = "clerk", password: str = PASSWORD, **extra: Any) -> str:
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    with db.session_scope() as session:
        user = auth.create_user(
            session, username, password, role=auth.Role(role), display_name=f"{role} {username}"
        )
        for key, value in extra.items():
            setattr(user, key, value)
        session.add(user)
    return username


@dataclass
class Staff:
    username: str
    client: TestClient

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with the session's CSRF token (taken from the queue page)."""
        token = csrf_of(self.client.get("/backoffice/passwort").text)
        kwargs.setdefault("follow_redirects", False)
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def sign_in(app: FastAPI, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app)
    page = client.get("/backoffice/anmelden")
    response = client.post(
        "/backoffice/anmelden",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def staff(app: FastAPI) -> Callable[..., Staff]:
    def make(role: str = "clerk") -> Staff:
        username = new_user(role)
        return Staff(username, sign_in(app, username))

    return make


# --- cases in review ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def readings_cache() -> dict[str, list[DocumentReading]]:
    return {}


def read_case(case: str, cache: dict[str, list[DocumentReading]]) -> list[DocumentReading]:
    """The real reader's readings of a corpus case's documents (read once per session)."""
    if case not in cache:
        data = json.loads((CASES / case / "application.json").read_text(encoding="utf-8"))
        tasks = [
            DocumentTask(
                d["file"], d["file"], CASES / case / d["file"], DocType(d["declared_type"])
            )
            for d in data["documents"]
        ]
        results = dict((t.file, r) for t, r in iter_readings(tasks, workers=2))
        cache[case] = [results[t.file] for t in tasks]
    return cache[case]


@dataclass
class Case:
    id: str
    reference: str
    access_token: str

    def version(self) -> int:
        with db.session_scope() as session:
            application = session.get(Application, self.id)
            assert application is not None
            return application.version

    def load(self) -> Application:
        with db.session_scope() as session:
            application = session.get(Application, self.id)
            assert application is not None
            session.expunge(application)
            return application


def submit_case(case: str, email: str | None = None) -> tuple[str, str, str]:
    data = json.loads((CASES / case / "application.json").read_text(encoding="utf-8"))
    files = [
        intake_service.IncomingFile(Path(d["file"]).name, (CASES / case / d["file"]).read_bytes())
        for d in data["documents"]
    ]
    with db.session_scope() as session:
        submitted = intake_service.submit(
            session, data, files, intake_service.SubmissionOptions(email=email)
        )
        return submitted.application.id, submitted.application.reference, submitted.access_token


@pytest.fixture
def review_case(readings_cache: dict[str, list[DocumentReading]]) -> Callable[..., Case]:
    """Submit a corpus case and process it with the production steps (no flow run)."""

    def make(case: str = "case-007", email: str | None = "citizen@example.org") -> Case:
        readings = {r.file: r for r in read_case(case, readings_cache)}
        application_id, reference, token = submit_case(case, email)
        with db.session_scope() as session:
            application = processing.take(
                session, application_id, timedelta(minutes=5), "backoffice-tests"
            )
            assert application is not None
            settings = get_settings()
            for document_id, task in processing.document_tasks(session, application, settings):
                processing.save_reading(session, document_id, readings[task.file])
            status = processing.conclude(
                session, application, decide(application.data, list(readings.values()))
            )
            assert status == "review", f"{case} was not put in review"
        return Case(application_id, reference, token)

    return make


# --- many synthetic cases for the queue ---------------------------------------------------


@pytest.fixture
def seeded() -> Iterator[Callable[..., list[str]]]:
    """Insert bare cases in review (no documents); removed again after the test."""
    created: list[str] = []

    def seed(count: int = 1, **values: Any) -> list[str]:
        now = datetime.now(UTC)
        rows = []
        for _ in range(count):
            case_id = uuid.uuid4().hex
            received = values.get("received_at", now - timedelta(days=1))
            rows.append(
                {
                    "id": case_id,
                    "reference": f"T-{case_id[:12].upper()}",
                    "service": "anmeldung",
                    "status": "review",
                    "decision": "review",
                    "reasons_json": json.dumps(values.get("reasons", ["NAME_MISMATCH"])),
                    "findings_json": "[]",
                    "data_json": json.dumps({"service": "anmeldung", "persons": []}),
                    "citizen_token_hash": "0" * 64,
                    "language": "de",
                    "submitted_at": received,
                    "received_at": received,
                    "due_date": values.get("due_date", received + timedelta(days=14)),
                    "claimed_by": values.get("claimed_by"),
                    "claimed_at": now if values.get("claimed_by") else None,
                    "version": 2,
                    **{k: v for k, v in values.items() if k in ("status", "decided_at")},
                }
            )
            created.append(case_id)
        with db.session_scope() as session:
            session.execute(insert(Application), rows)
        return [row["id"] for row in rows]

    yield seed
    if created:
        with db.session_scope() as session:
            session.execute(
                delete(DocumentRequest).where(col(DocumentRequest.application_id).in_(created))
            )
            session.execute(delete(Application).where(col(Application.id).in_(created)))
