"""Debian chromium with a fake camera joins as the citizen; an aiortc client is the clerk.
getStats() must show inbound video frames being decoded, i.e. the relayed call works."""

from __future__ import annotations

import array
import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame
from PIL import ImageStat

from servicepoint import auth
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, axe_violations
from tests.video.clients import GREEN, Participant, classify
from tests.video.conftest import clerk, consultation, tokens  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

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


def _citizen_page(media_browser: Any, live_server: LiveServer) -> tuple[Any, Any]:
    context = media_browser.new_context(base_url=live_server.url, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def test_chromium_citizen_receives_the_clerk(
    media_browser: Any,
    live_server: LiveServer,
    clerk: auth.User,  # noqa: F811
) -> None:
    item = consultation(clerk)
    citizen_token, clerk_token = tokens(item)
    context, page = _citizen_page(media_browser, live_server)
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


class ListeningClerk(Participant):
    """The clerk's aiortc peer that records, per received frame, the audio peak level and
    the picture's mean brightness and centre colour."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, GREEN, size=(640, 480))
        self.audio: list[tuple[float, int]] = []
        self.video: list[tuple[float, float, str]] = []

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if isinstance(frame, AudioFrame):
                size = frame.samples * len(frame.layout.channels) * 2
                samples = array.array("h", bytes(frame.planes[0])[:size])
                self.audio.append((now, max((abs(s) for s in samples), default=0)))
            elif isinstance(frame, VideoFrame):
                image = frame.to_image()  # type: ignore[no-untyped-call]
                width, height = image.size
                brightness = ImageStat.Stat(image.convert("L")).mean[0]
                centre = image.crop((width // 4, height // 4, 3 * width // 4, 3 * height // 4))
                self.frames += 1
                self.video.append((now, brightness, classify(tuple(ImageStat.Stat(centre).mean))))

    def audio_peak(self, since: float) -> int:
        return max((peak for at, peak in self.audio if at >= since), default=0)

    def pictures(self, since: float) -> list[tuple[float, float, str]]:
        return [entry for entry in self.video if entry[0] >= since]


class ListeningClerkThread(ClerkThread):
    async def _join(self) -> None:
        self.clerk = ListeningClerk(self.url)
        await self.clerk.join(self.token)


def recent_kinds(listener: ListeningClerk, seconds: float) -> list[str]:
    return [kind for _, _, kind in listener.pictures(time.monotonic() - seconds)]


def wait_until(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_chromium_mute_and_camera_off_reach_the_clerk(
    media_browser: Any,
    live_server: LiveServer,
    clerk: auth.User,  # noqa: F811
) -> None:
    item = consultation(clerk)
    citizen_token, clerk_token = tokens(item)
    context, page = _citizen_page(media_browser, live_server)
    officer = ListeningClerkThread(live_server.url, clerk_token, item.id)
    try:
        officer.join()
        listener = officer.clerk
        assert isinstance(listener, ListeningClerk)
        page.goto(f"/video/teilnehmen/{item.id}?token={citizen_token}")
        page.get_by_role("button", name="Teilnehmen").click()
        page.wait_for_function(
            "() => window.videoPeer && window.videoPeer.connectionState === 'connected'"
        )
        response = httpx.post(
            f"{live_server.url}/api/v1/consultations/{item.id}/admit", json={"token": clerk_token}
        )
        assert response.status_code == 200
        page.get_by_text("Sie sind verbunden").wait_for()
        # The fake microphone beeps twice a second, the fake camera is a green picture.
        assert wait_until(lambda: listener.audio_peak(time.monotonic() - 1.5) > 10_000)
        assert wait_until(lambda: recent_kinds(listener, 1.0).count("green") >= 10)

        mute = page.locator("#mute-button")
        camera = page.locator("#camera-button")
        assert mute.get_attribute("aria-pressed") == "false"
        assert camera.get_attribute("aria-pressed") == "false"
        page.get_by_role("button", name="Mikrofon aus", pressed=False).click()
        assert mute.get_attribute("aria-pressed") == "true"
        assert mute.inner_text().strip()  # a visible label in either state
        time.sleep(1.0)  # the beep already on its way drains
        muted_from = time.monotonic()
        time.sleep(1.5)
        assert listener.audio_peak(muted_from) < 100, listener.audio[-80:]
        assert len([at for at, _ in listener.audio if at >= muted_from]) > 40  # still flowing
        assert recent_kinds(listener, 1.0).count("green") >= 10  # the picture is untouched

        # The label stays the same (screen readers say "Mikrofon aus, gedrückt").
        page.get_by_role("button", name="Mikrofon aus", pressed=True).click()
        assert mute.get_attribute("aria-pressed") == "false"
        assert wait_until(lambda: listener.audio_peak(time.monotonic() - 1.0) > 10_000)

        page.get_by_role("button", name="Kamera aus", pressed=False).click()
        assert camera.get_attribute("aria-pressed") == "true"
        assert camera.inner_text().strip()
        time.sleep(1.0)
        dark_from = time.monotonic()
        time.sleep(1.5)
        pictures = listener.pictures(dark_from)
        # Black frames from the browser or the server's "no picture" screen: never the camera.
        assert pictures, "the clerk's video stalled"
        assert all(kind != "green" and brightness < 60 for _, brightness, kind in pictures), (
            pictures[-10:]
        )
        assert listener.audio_peak(dark_from) > 10_000  # the microphone is untouched

        page.get_by_role("button", name="Kamera aus", pressed=True).click()
        assert camera.get_attribute("aria-pressed") == "false"
        assert wait_until(lambda: recent_kinds(listener, 1.0).count("green") >= 10)
    finally:
        context.close()
        officer.close()
