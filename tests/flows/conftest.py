"""A real flow runner (``python -m flows.runner``) against the session's Prefect server,
and a real local SMTP server that records what it receives."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import REPO_ROOT, free_port


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


def wait_for_deployments(api_url: str, names: set[str], timeout: float = 90) -> None:
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
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
    )
    log = tmp_path_factory.mktemp("runner") / "runner.log"
    flow_runner = Runner(env, log)
    flow_runner.start()
    try:
        wait_for_deployments(prefect_api_url, {"process-application", "finish-application"})
        yield flow_runner
    finally:
        flow_runner.stop()


@dataclass
class PrefectServer:
    """A Prefect server of its own (not the session harness), so a test can stop it."""

    home: Path
    port: int
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
                "PREFECT_API_DATABASE_CONNECTION_URL": "sqlite+aiosqlite:///"
                + str(self.home / "prefect.db"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
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
def own_prefect(tmp_path: Path) -> Iterator[PrefectServer]:
    server = PrefectServer(tmp_path / "prefect", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def runner_for(server: PrefectServer, smtp_port: int, log: Path, **extra: str) -> Runner:
    env = server.env()
    env.update(
        {
            "SERVICEPOINT_PREFECT_API_URL": server.api_url,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "SERVICEPOINT_SMTP_HOST": "127.0.0.1",
            "SERVICEPOINT_SMTP_PORT": str(smtp_port),
            "SERVICEPOINT_STUCK_AFTER_MINUTES": "0.2",
        }
    )
    env.update(extra)
    return Runner(env, log)
