"""``servicepoint up`` as a subprocess: healthy stack, clean stop, clear start-up errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow(seconds=40)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SERVICEPOINT_"))}
    env["SERVICEPOINT_ADMIN_USERNAME"] = "leitung"
    env["SERVICEPOINT_ADMIN_PASSWORD"] = "ein-langes-passwort"
    return env


def _scheduled_deployments(prefect_port: int, timeout: float) -> set[str]:
    api = f"http://127.0.0.1:{prefect_port}/api"
    names: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployments = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        by_id = {d["id"]: d["name"] for d in deployments}
        runs = httpx.post(
            f"{api}/flow_runs/filter",
            json={
                "limit": 200,
                "sort": "EXPECTED_START_TIME_ASC",
                "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            },
            timeout=10,
        ).json()
        names = {by_id.get(r["deployment_id"], "?") for r in runs if r.get("auto_scheduled")}
        if {"sweep-stuck", "purge-expired"} <= names:
            break
        time.sleep(1.0)
    return names


def test_up_runs_healthy_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    port, prefect_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servicepoint.cli",
            "up",
            "--port",
            str(port),
            "--prefect-port",
            str(prefect_port),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if response.status_code == 200:
                    body = response.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert body == {"status": "ok", "database": "ok", "prefect": "ok"}
        # The Prefect UI is reachable and the portal answers.
        assert httpx.get(f"http://127.0.0.1:{prefect_port}/", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
        # The server's scheduler plans the runs of the scheduled deployments (a broken
        # scheduler, e.g. under an incompatible SQLAlchemy, silently stops the sweeper).
        assert _scheduled_deployments(prefect_port, timeout=90) >= {"sweep-stuck", "purge-expired"}
        # ... and does not rewrite a backlog of waiting runs as "Late" (SQLite lock storms)
        server = httpx.get(f"http://127.0.0.1:{prefect_port}/api/admin/settings", timeout=10)
        assert server.json()["server"]["services"]["late_runs"]["enabled"] is False
        tree = _descendants(proc.pid)
        assert len(tree) >= 3  # prefect server, flow runner, web app (and their children)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    time.sleep(0.5)
    assert [pid for pid in tree if _alive(pid)] == []
    assert _port_free(port)
    assert _port_free(prefect_port)
    assert "citizen portal" in output
    assert f"127.0.0.1:{prefect_port}" in output
    assert "all parts stopped" in output
    assert "one-time password" not in output  # the admin came from the environment
    # Quiet operation: the runner's polling (a request a second) and its refusals of runs
    # waiting for their concurrency limit are not logged, and SIGTERM stops it cleanly.
    after_banner = output.split("Press Ctrl-C to stop.", 1)[1]
    assert "HTTP Request:" not in after_banner
    assert "Aborted submission" not in after_banner
    assert "never awaited" not in output
    assert "SIGTERM received; stopping the flow runner" in output


def test_up_refuses_a_taken_port_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "servicepoint.cli",
                "up",
                "--port",
                str(taken),
                "--prefect-port",
                str(free_port()),
                "--data-dir",
                str(tmp_path),
            ],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {taken}" in result.stderr
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_up_without_tesseract_says_how_to_install_it(tmp_path: Path) -> None:
    env = _env(tmp_path)
    env["SERVICEPOINT_TESSERACT_CMD"] = "tesseract-not-installed"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "servicepoint.cli",
            "up",
            "--data-dir",
            str(tmp_path),
            "--port",
            str(free_port()),
            "--prefect-port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "apt-get install" in result.stderr
    assert "Traceback" not in result.stderr


def test_first_start_prints_a_generated_admin_password_once(tmp_path: Path) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if not k.startswith("SERVICEPOINT_ADMIN")}
    env["SERVICEPOINT_DATA_DIR"] = str(tmp_path)
    from servicepoint.auth import ensure_first_admin, get_user, verify_password
    from servicepoint.db import session_scope_for, upgrade
    from servicepoint.settings import Settings

    url = f"sqlite:///{tmp_path / 'servicepoint.db'}"
    upgrade(url)
    settings = Settings(data_dir=tmp_path, admin_password=None)
    with session_scope_for(url) as session:
        password = ensure_first_admin(session, settings)
    with session_scope_for(url) as session:
        again = ensure_first_admin(session, settings)
        user = get_user(session, "admin")
        assert user is not None
        assert password is not None
        assert verify_password(user.password_hash, password)
    assert again is None


def test_cli_help_and_doctor(tmp_path: Path) -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "servicepoint.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for command in ("up", "doctor", "db", "evaluate", "read"):
        assert command in help_text
    env = _env(tmp_path)
    env["SERVICEPOINT_PREFECT_API_URL"] = "http://127.0.0.1:9/api"
    doctor = subprocess.run(
        [sys.executable, "-m", "servicepoint.cli", "doctor", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert doctor.returncode == 1  # no database migrated yet, no Prefect running
    assert "[  ok] tesseract with German data" in doctor.stdout
    assert "servicepoint db upgrade" in doctor.stdout
    assert "servicepoint up" in doctor.stdout
    subprocess.run(
        [sys.executable, "-m", "servicepoint.cli", "db", "upgrade", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    doctor = subprocess.run(
        [sys.executable, "-m", "servicepoint.cli", "doctor", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "[  ok] database" in doctor.stdout
