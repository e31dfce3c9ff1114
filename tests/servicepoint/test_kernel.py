"""Kernel behaviour: settings, secrets, migrations, accounts, outbox, pages, health."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from servicepoint import auth, db, events
from servicepoint.app import create_app
from servicepoint.settings import Settings


def test_secrets_are_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = settings.secret("session_key")
    assert len(first) >= 48
    assert settings.secret("session_key") == first
    mode = (tmp_path / "secrets" / "session_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_default_database_is_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'servicepoint.db'}"
    other = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u:p@h/db")
    assert other.effective_database_url.startswith("postgresql+psycopg://")


def test_migrations_reach_head_and_create_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision()
    with db.session_scope_for(url) as session:
        assert session.exec(select(auth.User)).all() == []


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[Session]:
    """A database of its own: first-start behaviour needs one without any account."""
    url = f"sqlite:///{tmp_path / 'first-start.db'}"
    db.upgrade(url)
    with db.session_scope_for(url) as session:
        yield session


def test_first_admin_from_environment_or_generated(empty_db: Session, tmp_path: Path) -> None:
    db_session = empty_db
    configured = Settings(data_dir=tmp_path, admin_username="chef", admin_password="s3cret-pass")
    assert auth.ensure_first_admin(db_session, configured) is None
    user = auth.get_user(db_session, "chef")
    assert user is not None
    assert user.role == auth.Role.ADMIN
    assert auth.verify_password(user.password_hash, "s3cret-pass")
    assert not auth.verify_password(user.password_hash, "wrong")
    # Only the very first start creates an account.
    assert auth.ensure_first_admin(db_session, Settings(data_dir=tmp_path)) is None


def test_generated_admin_password_must_be_changed(empty_db: Session, tmp_path: Path) -> None:
    db_session = empty_db
    password = auth.ensure_first_admin(db_session, Settings(data_dir=tmp_path))
    assert password is not None
    assert len(password) >= 12
    user = auth.get_user(db_session, "admin")
    assert user is not None
    assert user.must_change_password
    assert auth.verify_password(user.password_hash, password)


def test_signed_tokens_reject_forgery_and_other_purposes() -> None:
    token = auth.sign("join", {"consultation": 7, "role": "citizen"})
    assert auth.unsign("join", token) == {"consultation": 7, "role": "citizen"}
    assert auth.unsign("api", token) is None
    assert auth.unsign("join", token[:-2] + "xx") is None


def test_outbox_rows_wait_until_sent(db_session: Session) -> None:
    row = events.enqueue(
        db_session,
        events.APPLICATION_SUBMITTED,
        "servicepoint.application.abc",
        {"reference": "R-1"},
    )
    db_session.flush()
    assert row.id in [r.id for r in events.pending(db_session, limit=100_000)]
    event = events.to_prefect_event(row)
    assert event["event"] == "servicepoint.application.submitted"
    assert event["resource"]["prefect.resource.id"] == "servicepoint.application.abc"
    assert event["id"] == events.event_id(row)  # stable: a re-send is the same event


@pytest.fixture(scope="module")
def client(migrated_db: str) -> TestClient:
    return TestClient(create_app())


def test_pages_speak_german_by_default_and_english_on_request(client: TestClient) -> None:
    german = client.get("/")
    assert german.status_code == 200
    assert '<html lang="de">' in german.text
    assert "Erklärung zur Barrierefreiheit" in german.text
    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.text
    assert "Accessibility statement" in english.text
    # The choice is kept in a cookie for the rest of the journey.
    assert client.get("/barrierefreiheit").text.count("Accessibility statement") >= 1
    client.cookies.clear()


def test_footer_pages_exist_in_both_languages(client: TestClient) -> None:
    for slug in ("barrierefreiheit", "leichte-sprache", "gebaerdensprache", "datenschutz"):
        for lang in ("de", "en"):
            response = client.get(f"/{slug}?lang={lang}")
            assert response.status_code == 200, slug
            assert response.text.count("<h1>") == 1
    client.cookies.clear()


def test_security_headers_and_errors(client: TestClient) -> None:
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    missing = client.get("/gibt-es-nicht")
    assert missing.status_code == 404
    assert "nicht gefunden" in missing.text
    api_missing = client.get("/api/v1/gibt-es-nicht")
    assert api_missing.status_code == 404
    assert api_missing.json()["error"] == "not_found"


def test_healthz_names_the_failing_part(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICEPOINT_PREFECT_API_URL", "http://127.0.0.1:9/api")
    from servicepoint.settings import reset_settings

    reset_settings()
    try:
        response = client.get("/healthz")
    finally:
        monkeypatch.undo()
        reset_settings()
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "ok", "prefect": "unreachable"}


def test_healthz_green_with_a_real_prefect_server(client: TestClient, prefect_api_url: str) -> None:
    # The check gives Prefect 2 s; the session's server may be busy with other tests'
    # flow runs for a while, so green must show within some attempts.
    deadline = time.monotonic() + 90
    response = client.get("/healthz")
    while response.status_code != 200 and time.monotonic() < deadline:
        time.sleep(1)
        response = client.get("/healthz")
    if response.status_code != 200:  # slow or gone? ask the server itself, patiently
        try:
            direct = repr(httpx.get(f"{prefect_api_url}/health", timeout=30))
        except httpx.HTTPError as exc:
            direct = repr(exc)
        raise AssertionError(f"{response.json()}; the server itself answered: {direct}")
    assert response.json() == {"status": "ok", "database": "ok", "prefect": "ok"}


def test_migrations_and_accounts_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    db.upgrade(postgres_url)
    assert db.current_revision(postgres_url) == db.head_revision()
    with db.session_scope_for(postgres_url) as session:
        generated = auth.ensure_first_admin(session, Settings(data_dir=tmp_path))
        events.enqueue(session, events.APPLICATION_SUBMITTED, "servicepoint.application.pg")
    with db.session_scope_for(postgres_url) as session:
        user = auth.get_user(session, "admin")
        assert user is not None
        assert generated
        assert auth.verify_password(user.password_hash, generated)
        assert "servicepoint.application.pg" in [r.resource_id for r in events.pending(session)]


def test_the_embedded_prefect_server_gets_its_database_from_the_settings(tmp_path: Path) -> None:
    from servicepoint.stack import child_environment

    default = child_environment(Settings(data_dir=tmp_path))
    assert default["PREFECT_API_DATABASE_CONNECTION_URL"] == (
        f"sqlite+aiosqlite:///{tmp_path.resolve() / 'prefect' / 'prefect.db'}"
    )
    postgres = "postgresql+asyncpg://prefect:geheim@db.intern/prefect"
    chosen = child_environment(Settings(data_dir=tmp_path, prefect_database_url=postgres))
    assert chosen["PREFECT_API_DATABASE_CONNECTION_URL"] == postgres


async def test_the_embedded_prefect_server_waits_for_a_sqlite_lock_at_most_5_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import sqlalchemy
    from prefect.server.database.configurations import AioSqliteConfiguration

    from servicepoint import prefect_server

    monkeypatch.setattr(  # restored after the test
        AioSqliteConfiguration, "setup_sqlite", AioSqliteConfiguration.setup_sqlite
    )
    prefect_server.shorten_sqlite_busy_timeout()
    prefect_server.shorten_sqlite_busy_timeout()  # twice is once
    path = tmp_path / "prefect.db"
    config = AioSqliteConfiguration(f"sqlite+aiosqlite:///{path}")
    engine = await config.engine()
    try:
        async with engine.connect() as connection:
            busy = await connection.exec_driver_sql("PRAGMA busy_timeout")
            assert busy.scalar() == prefect_server.SQLITE_BUSY_MS
            await connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            await connection.commit()
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        started = time.monotonic()
        with pytest.raises(sqlalchemy.exc.OperationalError, match="database is locked"):
            async with engine.connect() as connection:
                await connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        waited = time.monotonic() - started
        holder.rollback()
        holder.close()
        assert 4.5 <= waited < 30  # Prefect's own setting would wait 60 s
    finally:
        await engine.dispose()
