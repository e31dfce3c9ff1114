"""Session-wide fixtures: an isolated data directory, a migrated SQLite database with a
rollback per test, and one real Prefect server (``prefect_test_harness``) per session."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Isolate before any project module reads its settings.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="servicepoint-tests-"))
os.environ["SERVICEPOINT_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.pop("SERVICEPOINT_DATABASE_URL", None)

from sqlalchemy import Engine, event  # noqa: E402
from sqlmodel import Session, create_engine  # noqa: E402

from servicepoint import db  # noqa: E402
from servicepoint.settings import Settings, get_settings, reset_settings  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = (REPO_ROOT / ".." / "shared" / "corpus").resolve()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def settings() -> Settings:
    reset_settings()
    return get_settings()


@pytest.fixture(scope="session")
def migrated_db(settings: Settings) -> str:
    """A fresh SQLite database in the session's data directory, migrated to head."""
    settings.ensure_dirs()
    url = settings.effective_database_url
    db.upgrade(url)
    return url


@pytest.fixture(scope="session")
def savepoint_engine(migrated_db: str) -> Engine:
    """An engine on the test database whose transactions support SAVEPOINT properly."""
    engine = create_engine(migrated_db, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN")

    return engine


@pytest.fixture
def db_session(savepoint_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, even if the code commits."""
    connection = savepoint_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def prefect_api_url() -> Iterator[str]:
    """One real Prefect server for the whole session (it takes seconds to start)."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    # Flow heartbeats off: a synchronous flow run would otherwise pay ~1 s at exit.
    with (
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        url = str(PREFECT_API_URL.value())
        os.environ["SERVICEPOINT_PREFECT_API_URL"] = url
        os.environ["PREFECT_API_URL"] = url
        reset_settings()
        yield url
    os.environ.pop("SERVICEPOINT_PREFECT_API_URL", None)
    reset_settings()


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        pytest.fail("PostgreSQL is not installed (scripts/bootstrap.sh test installs it)")
    return versions[-1].parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on a free port, owned by the 'postgres' user."""
    import shutil
    import subprocess

    bin_dir = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="servicepoint-pg-"))
    base.chmod(0o777)
    data = base / "data"
    port = free_port()
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "servicepoint"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "servicepoint",
                "servicepoint",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://servicepoint@127.0.0.1:{port}/servicepoint"
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)
