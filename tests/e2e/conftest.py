"""Real-browser fixtures: the web app on a free port (uvicorn in a thread) and Debian's
chromium driven by Playwright (``executable_path``; no downloaded browser), plus axe-core
for accessibility checks."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from servicepoint.app import create_app
from tests.conftest import REPO_ROOT, free_port

CHROMIUM = os.environ.get("SERVICEPOINT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_source() -> str:
    candidates = [
        os.environ.get("SERVICEPOINT_AXE_JS", ""),
        str(REPO_ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text(encoding="utf-8")
    pytest.fail("axe-core is not installed (scripts/bootstrap.sh test installs it)")


class LiveServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the web app did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> LiveServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def live_server(migrated_db: str) -> Iterator[LiveServer]:
    server = LiveServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module: Playwright's sync API keeps an event loop running in this thread while
    it is open, which would break later tests that run their own asyncio code."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (scripts/bootstrap.sh test installs chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def open_page(browser: Any, base_url: str, **options: Any) -> Iterator[Any]:
    """A page in a fresh browser context (German locale; ``options`` for the context)."""
    context = browser.new_context(base_url=base_url, locale="de-DE", **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    with open_page(browser, live_server.url) as page:
        yield page


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core in the page: the WCAG 2.1 A/AA violations, with their targets."""
    # Evaluated through the DevTools protocol: the page's CSP (no inline script) stays on.
    page.evaluate("(source) => { (0, eval)(source); return true; }", axe_source())
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_TAGS,
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]
