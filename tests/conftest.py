"""Session-wide fixtures: an isolated data directory, a migrated SQLite database with a
rollback per test, and one real Prefect server (``prefect_test_harness``) per session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

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
from servicepoint.stack import PREFECT_SERVER_DEFAULTS  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = (REPO_ROOT / ".." / "shared" / "corpus").resolve()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files run first, each file kept together.

    With the suite in two processes (``--dist loadfile --no-loadscope-reorder``) whole
    files are handed out in collection order as the processes become free; a long file
    handed out last would leave one process idle while the other finishes it. A file's
    length is what its ``slow(seconds=N)`` marks say (a bare ``slow`` counts 10 s).
    """
    seconds: dict[Path, float] = {}
    for item in items:
        marker = item.get_closest_marker("slow")
        if marker is not None and item.path not in seconds:
            seconds[item.path] = float(marker.kwargs.get("seconds", 10))
    items.sort(key=lambda item: -seconds.get(item.path, 0.0))  # stable within a file


def submit_corpus_case(name: str = "case-001") -> str:
    """Submit a dev corpus case through the intake service; its application id."""
    import json

    from intake.applications import service as intake_service

    case = SHARED_CORPUS / "anmeldung-dev" / name
    data = json.loads((case / "application.json").read_text(encoding="utf-8"))
    files = [
        intake_service.IncomingFile(Path(d["file"]).name, (case / d["file"]).read_bytes())
        for d in data["documents"]
    ]
    with db.session_scope() as session:
        return intake_service.submit(session, data, files).application.id


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
    # The flow runner of the session writes to the same file: wait for its locks.
    engine = create_engine(migrated_db, connect_args={"check_same_thread": False, "timeout": 60})

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


@contextmanager
def _harness_server_waits_5_seconds_for_sqlite_locks() -> Iterator[None]:
    """Start the harness's Prefect server through ``servicepoint.prefect_server:create_app``.

    The harness runs Prefect's server app on SQLite in a uvicorn subprocess, with
    Prefect's 60 s lock wait; the embedded stack waits 5 s (docs/operations.md: the
    60-second freezes). Only the factory argument of the harness's launch is swapped.
    """
    import prefect.server.api.server as prefect_server

    real = prefect_server.subprocess

    class _Launcher:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        @staticmethod
        def Popen(args: list[str], **options: Any) -> Any:  # noqa: N802 (subprocess's name)
            ours = "servicepoint.prefect_server:create_app"
            swapped = [ours if a == "prefect.server.api.server:create_app" else a for a in args]
            assert ours in swapped, "Prefect's harness no longer launches its app factory"
            return real.Popen(args=swapped, **options)

    prefect_server.subprocess = _Launcher()  # type: ignore[assignment]
    try:
        yield
    finally:
        prefect_server.subprocess = real


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
        _harness_server_waits_5_seconds_for_sqlite_locks(),
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


def _create_database(port: int, name: str) -> None:
    """A new database, owned by 'servicepoint', in the throw-away cluster on ``port``."""
    subprocess.run(
        [str(_pg_bin() / "createdb"), "-h", "127.0.0.1", "-p", str(port)]
        + ["-U", "servicepoint", name],
        check=True,
        capture_output=True,
    )


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
        _create_database(port, "servicepoint")
        yield f"postgresql+psycopg://servicepoint@127.0.0.1:{port}/servicepoint"
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


# --- a real flow runner and a real SMTP server (shared by flows and e2e tests) ----
@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Runner:
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.runner"],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the runner and every flow run it started (a crashed machine)."""
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for_deployments(api_url: str, names: set[str], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.post(f"{api_url}/deployments/filter", json={}, timeout=10)
        if response.status_code == 200 and names <= {d["name"] for d in response.json()}:
            return
        time.sleep(0.5)
    raise AssertionError(f"deployments {names} were not served within {timeout} s")


@pytest.fixture(scope="session")
def runner(
    prefect_api_url: str, migrated_db: str, smtp_server: tuple[Mailbox, int], tmp_path_factory: Any
) -> Iterator[Runner]:
    _, smtp_port = smtp_server
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_API_URL": prefect_api_url,
            "SERVICEPOINT_PREFECT_API_URL": prefect_api_url,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "SERVICEPOINT_SMTP_HOST": "127.0.0.1",
            "SERVICEPOINT_SMTP_PORT": str(smtp_port),
            "SERVICEPOINT_STUCK_AFTER_MINUTES": "0.2",
            # More runs at once than the default (cores + 2) keeps the batches of the fault
            # tests short; the exactly-once checks only get harder with more concurrency.
            "SERVICEPOINT_FLOW_RUNS_PER_RUNNER": "8",
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
    )
    log = tmp_path_factory.mktemp("runner") / "runner.log"
    flow_runner = Runner(env, log)
    flow_runner.start()
    _SESSION_RUNNERS.append((flow_runner, prefect_api_url))
    try:
        wait_for_deployments(prefect_api_url, {"process-application", "finish-application"})
        yield flow_runner
    finally:
        _SESSION_RUNNERS.remove((flow_runner, prefect_api_url))
        flow_runner.stop()


# The session's runner shares the application database; a test that runs a runner of its
# own (against its own Prefect server) pauses it, or both would relay the same outbox.
_SESSION_RUNNERS: list[tuple[Runner, str]] = []


@dataclass
class PrefectServer:
    """A Prefect server of its own (not the session harness), so a test can stop it."""

    home: Path
    port: int
    database_url: str | None = None  # Prefect's own database; SQLite under ``home`` if None
    process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PREFECT_HOME": str(self.home),
                "PREFECT_API_URL": self.api_url,
                "PREFECT_API_DATABASE_CONNECTION_URL": self.database_url
                or "sqlite+aiosqlite:///" + str(self.home / "prefect.db"),
                **PREFECT_SERVER_DEFAULTS,  # as the embedded stack runs it
            }
        )
        return env

    def start(self, timeout: float = 90) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        log = (self.home / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--analytics-off",
            ],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.api_url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("the Prefect server did not start")

    def stop(self) -> None:
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def own_prefect(tmp_path: Path, postgres_url: str) -> Iterator[PrefectServer]:
    """A Prefect server of the test's own, on a fresh PostgreSQL database.

    PostgreSQL, as docs/operations.md runs Prefect beyond a pilot: on SQLite the server
    stalled for 60 s (SQLite's busy timeout in Prefect) now and then while several flow
    runs reported at once, which made these tests' times vary between 1 and 5 minutes.
    """
    import uuid

    from sqlalchemy.engine import make_url

    paused = list(_SESSION_RUNNERS)
    for session_runner, _ in paused:
        session_runner.stop()
    cluster = make_url(postgres_url)
    name = f"prefect_{uuid.uuid4().hex[:12]}"
    _create_database(cluster.port or 5432, name)
    database = cluster.set(drivername="postgresql+asyncpg", database=name)
    server = PrefectServer(
        tmp_path / "prefect", free_port(), database.render_as_string(hide_password=False)
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
        for session_runner, api_url in paused:
            session_runner.start()
            wait_for_deployments(api_url, {"process-application", "finish-application"})


def runner_for(server: PrefectServer, smtp_port: int, log: Path, **extra: str) -> Runner:
    env = server.env()
    env.update(
        {
            "SERVICEPOINT_PREFECT_API_URL": server.api_url,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "SERVICEPOINT_SMTP_HOST": "127.0.0.1",
            "SERVICEPOINT_SMTP_PORT": str(smtp_port),
            "SERVICEPOINT_STUCK_AFTER_MINUTES": "0.2",
            # More runs at once than the default (cores + 2) keeps the batches of the fault
            # tests short; the exactly-once checks only get harder with more concurrency.
            "SERVICEPOINT_FLOW_RUNS_PER_RUNNER": "8",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return Runner(env, log)
