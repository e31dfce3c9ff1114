"""Debian chromium with a fake camera joins as the citizen; an aiortc client is the clerk.
getStats() must show inbound video frames being decoded, i.e. the relayed call works."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from servicepoint import auth
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, axe_violations
from tests.video.clients import GREEN, Participant
from tests.video.conftest import clerk, consultation, tokens  # noqa: F401  (fixture)

FRAMES_DECODED = """async () => {
  if (!window.videoPeer) { return -1; }
  const stats = await window.videoPeer.getStats();
  let decoded = -1;
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") { decoded = s.framesDecoded || 0; }
  });
  return decoded;
}"""


@pytest.fixture(scope="module")
def media_browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield instance
        finally:
            instance.close()


class ClerkThread:
    """The aiortc clerk in its own event loop (Playwright's sync API owns this thread)."""

    def __init__(self, url: str, token: str, consultation_id: str) -> None:
        self.url, self.token, self.consultation_id = url, token, consultation_id
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clerk: Participant | None = None

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    async def _join(self) -> None:
        self.clerk = Participant(self.url, GREEN, size=(640, 480))
        await self.clerk.join(self.token)

    def join(self) -> None:
        self.run(self._join())

    def close(self) -> None:
        if self.clerk is not None:
            self.run(self.clerk.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_chromium_citizen_receives_the_clerk(
    media_browser: Any,
    live_server: LiveServer,
    clerk: auth.User,  # noqa: F811
) -> None:
    item = consultation(clerk)
    citizen_token, clerk_token = tokens(item)
    context = media_browser.new_context(base_url=live_server.url, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    officer = ClerkThread(live_server.url, clerk_token, item.id)
    try:
        officer.join()
        page.goto(f"/video/teilnehmen/{item.id}?token={citizen_token}")
        assert axe_violations(page) == []
        page.get_by_role("button", name="Teilnehmen").click()
        page.wait_for_function(
            "() => window.videoPeer && window.videoPeer.connectionState === 'connected'"
        )
        page.get_by_text("Bitte warten").wait_for()
        response = httpx.post(
            f"{live_server.url}/api/v1/consultations/{item.id}/admit", json={"token": clerk_token}
        )
        assert response.status_code == 200
        page.get_by_text("Sie sind verbunden").wait_for()
        first = page.evaluate(FRAMES_DECODED)
        time.sleep(2)
        second = page.evaluate(FRAMES_DECODED)
        assert first >= 0
        assert second > first + 10, (first, second)
        # the clerk receives the browser's fake camera, too
        assert officer.clerk is not None
        count = officer.clerk.frames
        time.sleep(1)
        assert officer.clerk.frames > count + 10
        page.get_by_label("Nachricht").fill("Guten Tag")
        page.get_by_role("button", name="Senden").click()
        deadline = time.monotonic() + 5
        expected = {"type": "chat", "from": "citizen", "text": "Guten Tag"}
        while time.monotonic() < deadline and expected not in officer.clerk.messages:
            time.sleep(0.1)
        assert expected in officer.clerk.messages
        page.get_by_role("button", name="Auflegen").click()
        page.get_by_text("Die Videosprechstunde ist beendet").wait_for()
    finally:
        context.close()
        officer.close()
