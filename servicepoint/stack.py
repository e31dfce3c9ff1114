"""``servicepoint up``: the embedded stack under one supervisor.

Three children, each in its own process group so that stopping one stops everything it
spawned: the Prefect server (SQLite under the data directory, bound to 127.0.0.1), the
flow runner (serves every deployment of ``prefect.yaml`` with its triggers and relays the
outbox), and the web app (uvicorn). Their output is merged into one stream with a prefix
per part. SIGINT or SIGTERM stops the children in reverse order: SIGTERM to the group,
then SIGKILL to whatever is left after a grace period.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

import httpx

from servicepoint import domains
from servicepoint.settings import Settings

GRACE_SECONDS = 10.0
STARTUP_TIMEOUT = 90.0


class StackError(RuntimeError):
    """A problem that stops the stack from starting, with a message for the operator."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    pump: threading.Thread | None = None
    colour: str = ""
    expected_exit: bool = field(default=False)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def tesseract_problem(settings: Settings) -> str | None:
    """A message saying what is wrong with tesseract, or None when it is usable."""
    binary = shutil.which(settings.tesseract_cmd)
    if binary is None:
        return (
            f"tesseract was not found ('{settings.tesseract_cmd}'). Install it with: "
            "apt-get install -y tesseract-ocr tesseract-ocr-deu"
        )
    try:
        result = subprocess.run(
            [binary, "--list-langs"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"tesseract could not be run: {exc}"
    languages = set(result.stdout.split()) | set(result.stderr.split())
    if "deu" not in languages:
        return (
            "tesseract has no German language data ('deu'). Install it with: "
            "apt-get install -y tesseract-ocr-deu"
        )
    return None


PREFECT_SERVER_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # The late-runs service rewrites every run still waiting in a backlog as "Late"; on
    # SQLite those writes fail on the lock again and again during a burst (1,324 of
    # 1,327 "database is locked" errors in one) and make the real runs' state changes
    # wait for the client's retries (up to 62 s). A waiting run is still shown as
    # Scheduled with its time, and still runs.
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
}
"""How the embedded Prefect server runs (an environment variable already set wins).
Tests that start a Prefect server of their own use the same."""


def child_environment(settings: Settings) -> dict[str, str]:
    """Environment shared by every child: our settings and Prefect's, explicitly."""
    env = dict(os.environ)
    env.update(
        {
            "SERVICEPOINT_DATA_DIR": str(settings.data_dir),
            "SERVICEPOINT_HOST": settings.host,
            "SERVICEPOINT_PORT": str(settings.port),
            "SERVICEPOINT_PREFECT_PORT": str(settings.prefect_port),
            "SERVICEPOINT_DATABASE_URL": settings.effective_database_url,
            "PREFECT_HOME": str(settings.prefect_home),
            "PREFECT_API_URL": settings.effective_prefect_api_url,
            "PREFECT_UI_API_URL": settings.effective_prefect_api_url,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(settings.prefect_port),
            "PREFECT_API_DATABASE_CONNECTION_URL": settings.effective_prefect_database_url,
            **{name: env.get(name, value) for name, value in PREFECT_SERVER_DEFAULTS.items()},
            "PREFECT_RUNNER_POLL_FREQUENCY": env.get("PREFECT_RUNNER_POLL_FREQUENCY", "1"),
            "PREFECT_LOGGING_COLORS": "false",
            "PYTHONUNBUFFERED": "1",
            "OMP_THREAD_LIMIT": "1",
        }
    )
    # A CLI-level override of the data directory must win over a stale PREFECT_PROFILE.
    env.pop("PREFECT_PROFILE", None)
    return env


def build_children(settings: Settings) -> list[Child]:
    env = child_environment(settings)
    python = sys.executable
    return [
        Child(
            "prefect",
            [
                python,
                "-m",
                "servicepoint.prefect_server",  # Prefect's CLI, shorter SQLite lock wait
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(settings.prefect_port),
                "--analytics-off",
            ],
            env,
            colour="\033[35m",
        ),
        Child("flows", [python, "-m", domains.flow_runner_module()], env, colour="\033[36m"),
        Child(
            "web",
            [
                python,
                "-m",
                "uvicorn",
                "servicepoint.asgi:app",
                "--host",
                settings.host,
                "--port",
                str(settings.port),
                "--no-server-header",
                "--proxy-headers",
            ],
            env,
            colour="\033[32m",
        ),
    ]


class Supervisor:
    def __init__(self, settings: Settings, out: IO[str] | None = None) -> None:
        self.settings = settings
        self.out = out or sys.stdout
        self.children = build_children(settings)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._colour = self.out.isatty()

    # --- output --------------------------------------------------------------------------
    def say(self, part: str, line: str, colour: str = "") -> None:
        prefix = f"{part:>7} | "
        if self._colour and colour:
            prefix = f"{colour}{prefix}\033[0m"
        with self._lock:
            self.out.write(prefix + line.rstrip("\n") + "\n")
            self.out.flush()

    def _pump(self, child: Child) -> None:
        assert child.process is not None
        assert child.process.stdout is not None
        for raw in iter(child.process.stdout.readline, b""):
            self.say(child.name, raw.decode("utf-8", "replace"), child.colour)

    # --- life cycle ----------------------------------------------------------------------
    def start_child(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv,
            env=child.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: we stop the whole tree
        )
        child.pump = threading.Thread(target=self._pump, args=(child,), daemon=True)
        child.pump.start()

    def wait_http(self, url: str, name: str, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        child = next(c for c in self.children if c.name == name)
        while time.monotonic() < deadline and not self._stopping.is_set():
            if child.process is not None and child.process.poll() is not None:
                raise StackError(f"{name} exited during start-up (code {child.process.returncode})")
            try:
                if httpx.get(url, timeout=2.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        if not self._stopping.is_set():
            raise StackError(f"{name} did not answer at {url} within {timeout:.0f} s")

    def stop(self) -> None:
        self._stopping.set()
        for child in reversed(self.children):
            self._terminate(child)

    def _terminate(self, child: Child) -> None:
        proc = child.process
        if proc is None or proc.poll() is not None:
            self._kill_group(proc, signal.SIGKILL)  # strays of an exited leader
            return
        child.expected_exit = True
        self._kill_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.say("up", f"{child.name} did not stop in {GRACE_SECONDS:.0f} s; killing it")
        self._kill_group(proc, signal.SIGKILL)
        proc.wait()
        if child.pump is not None:
            child.pump.join(timeout=GRACE_SECONDS)  # relay its last lines

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes] | None, sig: signal.Signals) -> None:
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Start everything, block until a signal or a child dies, stop everything."""
        received: list[int] = []

        def handle(signum: int, _frame: object) -> None:
            received.append(signum)
            self._stopping.set()

        previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            prefect, flows, web = self.children
            self.start_child(prefect)
            self.wait_http(self.settings.effective_prefect_api_url + "/health", "prefect")
            self.start_child(flows)
            self.start_child(web)
            self.wait_http(f"http://{self.settings.host}:{self.settings.port}/healthz", "web")
            if on_ready and not self._stopping.is_set():
                on_ready()
            while not self._stopping.is_set():
                for child in self.children:
                    if child.process is not None and child.process.poll() is not None:
                        self.say(
                            "up",
                            f"{child.name} exited unexpectedly "
                            f"(code {child.process.returncode}); stopping",
                        )
                        self._stopping.set()
                        break
                self._stopping.wait(0.5)
        except StackError as exc:
            self.say("up", f"error: {exc}")
            self.stop()
            return 1
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        crashed = any(
            c.process is not None and not c.expected_exit and c.process.returncode not in (0, None)
            for c in self.children
        )
        self.say("up", "all parts stopped")
        return 1 if crashed and not received else 0
