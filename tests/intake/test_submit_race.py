"""Two requests submit the same application with the same ``Idempotency-Key`` at the same
moment, over HTTP to the real app on a real uvicorn server, on SQLite and on PostgreSQL:
one case, two 2xx answers naming it, never a 5xx.

To make the two requests meet on every run, the test holds the database's write access
while both are in flight (SQLite: its one write lock; PostgreSQL: a table lock that lets
reads through but no insert), so both have looked for an earlier submission with that key
and found none before either can write; then it lets go.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlmodel import col, select

from intake.applications.models import Application, AuditEntry, Document
from servicepoint import db
from servicepoint.events import APPLICATION_SUBMITTED, OutboxEvent
from servicepoint.settings import reset_settings
from tests.conftest import SHARED_CORPUS, _create_database, free_port
from tests.e2e.conftest import LiveServer

CASE = SHARED_CORPUS / "anmeldung-dev" / "case-024"
HOLD_SECONDS = 2.0

Hold = Callable[[], AbstractContextManager[Callable[[], int | None]]]


def _form() -> tuple[dict[str, str], list[Any]]:
    data = json.loads((CASE / "application.json").read_text(encoding="utf-8"))
    files = [
        ("files", (Path(d["file"]).name, (CASE / d["file"]).read_bytes()))
        for d in data["documents"]
    ]
    return {"application": json.dumps(data)}, files


@contextmanager
def _serving(database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """The web app on a free port, on ``database_url`` (None: the session's SQLite)."""
    if database_url is not None:
        monkeypatch.setenv("SERVICEPOINT_DATABASE_URL", database_url)
    reset_settings()
    try:
        with LiveServer(free_port()) as server:
            yield server
    finally:
        monkeypatch.delenv("SERVICEPOINT_DATABASE_URL", raising=False)
        reset_settings()


def _sqlite_hold(path: str) -> Hold:
    @contextmanager
    def hold() -> Iterator[Callable[[], int | None]]:
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # the write lock, until COMMIT
            yield lambda: None  # SQLite cannot tell who waits for its lock
            blocker.execute("COMMIT")
        finally:
            blocker.close()

    return hold


def _postgres_hold(url: str) -> Hold:
    @contextmanager
    def hold() -> Iterator[Callable[[], int | None]]:
        engine = create_engine(url)
        try:
            with engine.connect() as watcher, engine.connect() as blocker:
                watcher.execution_options(isolation_level="AUTOCOMMIT")
                with blocker.begin():
                    # Reads pass (ACCESS SHARE); inserts (ROW EXCLUSIVE) wait.
                    blocker.execute(text("LOCK TABLE applications IN SHARE ROW EXCLUSIVE MODE"))

                    def waiting() -> int:
                        return int(
                            watcher.execute(
                                text(
                                    "SELECT count(*) FROM pg_stat_activity"
                                    " WHERE datname = current_database()"
                                    " AND wait_event_type = 'Lock'"
                                )
                            ).scalar_one()
                        )

                    yield waiting
        finally:
            engine.dispose()

    return hold


def _race(url: str, key: str, hold: Hold) -> tuple[list[httpx.Response], float, list[float]]:
    """Two submissions with ``key`` at once while ``hold`` keeps writers waiting; the
    answers, when the hold ended, and when each answer arrived."""
    form, files = _form()
    answers: dict[int, httpx.Response | BaseException] = {}
    arrived: dict[int, float] = {}
    start = threading.Barrier(2)

    def post(index: int) -> None:
        try:
            start.wait(10)
            answers[index] = httpx.post(
                f"{url}/api/v1/applications",
                data=form,
                files=files,
                headers={"Idempotency-Key": key},
                timeout=120,
            )
        except BaseException as exc:  # reported below, not lost in the thread
            answers[index] = exc
        arrived[index] = time.monotonic()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    with hold() as waiting:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        time.sleep(HOLD_SECONDS)
        while (count := waiting()) is not None and count < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count is None or count >= 2, f"only {count} request(s) waited for the lock"
        assert not answers, f"answered while writers were held back: {answers}"
        released = time.monotonic()
    for thread in threads:
        thread.join(120)
    failures = [a for a in answers.values() if isinstance(a, BaseException)]
    assert not failures, failures
    responses = [a for _, a in sorted(answers.items()) if isinstance(a, httpx.Response)]
    return responses, released, list(arrived.values())


def _assert_one_case(responses: list[httpx.Response], key: str) -> None:
    assert [r.status_code < 500 for r in responses] == [True, True], [
        (r.status_code, r.text[:300]) for r in responses
    ]
    assert sorted(r.status_code for r in responses) == [200, 202], [r.text for r in responses]
    named = {r.json()["id"] for r in responses}
    assert len(named) == 1, named
    (application_id,) = named
    with db.session_scope() as session:
        cases = session.exec(select(Application).where(Application.idempotency_key == key)).all()
        assert [c.id for c in cases] == [application_id]
        assert {r.json()["reference"] for r in responses} == {cases[0].reference}
        documents = session.exec(
            select(Document).where(Document.application_id == application_id)
        ).all()
        assert len(documents) == len(_form()[1])
        audit = session.exec(
            select(AuditEntry).where(
                AuditEntry.application_id == application_id, AuditEntry.action == "submitted"
            )
        ).all()
        assert len(audit) == 1
        announced = session.exec(
            select(OutboxEvent).where(
                OutboxEvent.resource_id == f"servicepoint.application.{application_id}",
                col(OutboxEvent.event) == APPLICATION_SUBMITTED,
            )
        ).all()
        assert len(announced) == 1


def test_a_concurrent_double_submit_on_sqlite_gives_one_case(
    migrated_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"race-sqlite-{uuid.uuid4().hex}"
    path = make_url(migrated_db).database
    assert path
    with _serving(None, monkeypatch) as server:
        responses, released, arrived = _race(server.url, key, _sqlite_hold(path))
    assert min(arrived) >= released  # both requests were in flight during the hold
    _assert_one_case(responses, key)


@pytest.fixture(scope="module")
def postgres_app_db(postgres_url: str) -> str:
    """A fresh, migrated application database on the session's PostgreSQL cluster."""
    cluster = make_url(postgres_url)
    name = f"race_{uuid.uuid4().hex[:10]}"
    assert cluster.port is not None
    _create_database(cluster.port, name)
    url = cluster.set(database=name).render_as_string(hide_password=False)
    db.upgrade(url)
    return url


def test_a_concurrent_double_submit_on_postgresql_gives_one_case(
    postgres_app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"race-postgres-{uuid.uuid4().hex}"
    with _serving(postgres_app_db, monkeypatch) as server:
        responses, released, arrived = _race(server.url, key, _postgres_hold(postgres_app_db))
        assert min(arrived) >= released
        _assert_one_case(responses, key)  # read while the app is on PostgreSQL
