"""One scaled-out office for the scale tests: ``servicepoint up --scale`` as an operator
starts it (Prefect server on PostgreSQL, two Prefect workers, the outbox relay, two web
processes, nginx), with the application database on PostgreSQL too."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import REPO_ROOT, _create_database, free_port

ADMIN_PASSWORD = "scale-admin-password"
CALLS_PER_PROCESS = 1  # so that "every line busy" is two calls away
ATTEMPTS_PER_MINUTE = 5
START_TIMEOUT = 420.0


@dataclass
class Office:
    root: Path
    url: str  # nginx
    prefect_api_url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def parts(self) -> dict[str, int]:
        parts: dict[str, int] = json.loads((self.root / "parts.json").read_text())
        return parts

    def node_urls(self) -> dict[str, str]:
        """Each web process's direct address, as it reported itself."""
        from servicepoint import db
        from video.models import VideoNode

        with db.session_scope_for(self.database_url) as session:
            return {n.name: n.url for n in session.query(VideoNode).all()}

    def kill_worker_host(self, number: int, timeout: float = 30.0) -> None:
        """SIGKILL worker N, its warm process and everything they started (a host that
        dies), and return once none of it runs any more.

        Prefect starts a flow run in a session of its own (so that a group-wide signal
        does not reach it), so killing the two process groups alone would leave a run
        started without the warm process running and deciding cases: the whole process
        tree goes. A signal takes effect when the kernel next schedules the process,
        which on a loaded machine can be a while after ``kill`` returned."""
        roots = {
            pid
            for name, pid in self.parts().items()
            if name in (f"worker-{number}", f"warm-{number}")
        }
        doomed: set[int] = set()
        while True:  # until the tree stops growing (a process may be forking right now)
            tree = _tree(roots) - doomed
            if not tree:
                break
            for pid in tree:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)  # no more forks from it
            doomed |= tree
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while _running(doomed):
            if time.monotonic() > deadline:
                raise AssertionError(f"{sorted(_running(doomed))} still run after SIGKILL")
            time.sleep(0.05)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, state)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        table[int(stat.parent.name)] = (int(fields[1]), fields[0])
    return table


def _tree(roots: set[int]) -> set[int]:
    """``roots`` and all their descendants that still run (zombies excepted)."""
    table = _processes()
    found = {pid for pid in roots if pid in table}
    grew = True
    while grew:
        children = {pid for pid, (ppid, _) in table.items() if ppid in found} - found
        found |= children
        grew = bool(children)
    return {pid for pid in found if table[pid][1] not in ("Z", "X")}


def _running(pids: set[int]) -> set[int]:
    table = _processes()
    return {pid for pid in pids if pid in table and table[pid][1] not in ("Z", "X")}


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def office(postgres_url: str, tmp_path_factory: Any) -> Iterator[Office]:
    cluster = make_url(postgres_url)
    suffix = uuid.uuid4().hex[:10]
    for name in (f"app_{suffix}", f"prefect_{suffix}"):
        _create_database(cluster.port or 5432, name)
    app_url = cluster.set(database=f"app_{suffix}").render_as_string(hide_password=False)
    prefect_url = cluster.set(drivername="postgresql+asyncpg", database=f"prefect_{suffix}")
    root = tmp_path_factory.mktemp("office")
    port, prefect_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SERVICEPOINT_", "PREFECT_"))
        or k == "PREFECT_SERVER_ANALYTICS_ENABLED"
    }
    env.update(
        {
            "SERVICEPOINT_DATABASE_URL": app_url,
            "SERVICEPOINT_PREFECT_DATABASE_URL": prefect_url.render_as_string(hide_password=False),
            "SERVICEPOINT_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "SERVICEPOINT_STUCK_AFTER_MINUTES": "0.2",
            "SERVICEPOINT_MAX_CALLS_PER_PROCESS": str(CALLS_PER_PROCESS),
            "SERVICEPOINT_SUBMISSIONS_PER_MINUTE": str(ATTEMPTS_PER_MINUTE),
        }
    )
    log = root / "office.log"
    argv = [sys.executable, "-m", "servicepoint.cli", "up", "--scale", "--data-dir", str(root)]
    argv += ["--port", str(port), "--prefect-port", str(prefect_port)]
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=REPO_ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    office = Office(
        root,
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{prefect_port}/api",
        app_url,
        process,
        log,
    )
    started = time.monotonic()
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"servicepoint up --scale exited:\n{office.log_tail()}")
            if time.monotonic() - started > START_TIMEOUT:
                pytest.fail(f"servicepoint up --scale did not start:\n{office.log_tail()}")
            if "Press Ctrl-C to stop." in log.read_text(errors="replace"):
                break
            time.sleep(1)
        sys.stderr.write(f"scaled-out office started in {time.monotonic() - started:.0f} s\n")
        assert httpx.get(office.url + "/healthz", timeout=10).status_code == 200
        yield office
    finally:
        _stop(process)
