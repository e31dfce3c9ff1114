"""The web app's access log leaves out successful routine polling (real uvicorn)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from servicepoint.access_log import quiet_routine_polling
from tests.conftest import free_port

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    status = 503 if scope["query_string"] == b"fail" else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def server() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(_app, host="127.0.0.1", port=port, lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    quiet_routine_polling()  # after uvicorn configured its loggers, as in servicepoint.asgi
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)
        logging.getLogger("uvicorn.access").filters.clear()


def _logged(
    caplog: pytest.LogCaptureFixture, requests: list[tuple[str, dict[str, str]]], expected: int
) -> list[str]:
    """The access lines the requests leave, waiting for the ``expected`` number."""
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        for url, params in requests:
            httpx.get(url, params=params or None, timeout=10)
        deadline = time.monotonic() + 5
        while len(caplog.records) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
    logged = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(logged) == expected, logged
    return logged


def test_health_and_status_polling_are_not_logged_but_their_failures_and_pages_are(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    paths = ["/healthz", "/antrag/abc123/status.json", "/healthz?fail", "/antrag/abc123", "/"]
    logged = _logged(caplog, [(server + path, {}) for path in paths], 3)
    assert '"GET /healthz?fail HTTP/1.1" 503' in logged[0]
    assert '"GET /antrag/abc123 HTTP/1.1" 200' in logged[1]
    assert '"GET / HTTP/1.1" 200' in logged[2]


def test_the_assistants_question_is_not_written_to_the_log(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    question = "Ich bin Erika Mustermann, Lindenallee 5, wo ist mein Antrag?"
    requests = [
        (server + "/assistent", {"q": question, "lang": "de"}),
        (server + "/assistent/antrag", {"lang": "de", "q": question}),
        (server + "/tutorials", {"q": "anmeldung"}),
    ]
    logged = _logged(caplog, requests, 3)
    assert '"GET /assistent?q=[masked]&lang=de HTTP/1.1" 200' in logged[0]
    assert '"GET /assistent/antrag?lang=de&q=[masked] HTTP/1.1" 200' in logged[1]
    assert "Mustermann" not in "\n".join(logged)
    assert '"GET /tutorials?q=anmeldung HTTP/1.1" 200' in logged[2]  # not a question
