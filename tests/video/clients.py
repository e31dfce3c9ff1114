"""An aiortc participant for tests and the capacity benchmark: sends a coloured pattern
(optionally with its frame number drawn as blocks), receives and classifies frames."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import httpx
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from PIL import Image, ImageDraw, ImageStat

RED = (210, 30, 30)
GREEN = (30, 190, 40)
CITY_BLUE = (0, 61, 122)
BITS = 16
BLOCK = 40


def classify(rgb: tuple[float, ...]) -> str:
    r, g, b = rgb[:3]
    if r > 120 and g < 90 and b < 90:
        return "red"
    if g > 120 and r < 90 and b < 100:
        return "green"
    if b > 70 and r < 70 and b > g:
        return "blue"
    return "other"


def draw_number(image: Image.Image, number: int) -> None:
    draw = ImageDraw.Draw(image)
    for bit in range(BITS):
        on = (number >> bit) & 1
        x = bit * BLOCK
        draw.rectangle((x, 0, x + BLOCK - 1, BLOCK - 1), fill=(255, 255, 255) if on else (0, 0, 0))


def read_number(image: Image.Image) -> int:
    gray = image.convert("L")
    number = 0
    for bit in range(BITS):
        x = bit * BLOCK + BLOCK // 2
        if gray.getpixel((x, BLOCK // 2)) > 128:  # type: ignore[operator]
            number |= 1 << bit
    return number


def read_number_y(frame: VideoFrame) -> int:
    """The frame number from the luma plane (cheap: no colour conversion)."""
    plane = frame.planes[0]
    data = memoryview(plane)
    number = 0
    row = (BLOCK // 2) * plane.line_size
    for bit in range(BITS):
        if data[row + bit * BLOCK + BLOCK // 2] > 128:
            number |= 1 << bit
    return number


class PatternTrack(VideoStreamTrack):
    """A solid colour, optionally with its frame number in the top row of blocks."""

    def __init__(
        self, colour: tuple[int, int, int], size: tuple[int, int], numbered: bool = False
    ) -> None:
        super().__init__()
        self.colour = colour
        self.size = size
        self.numbered = numbered
        self.sent_at: dict[int, float] = {}
        self.count = 0
        base = Image.new("RGB", size, colour)
        self._plain = VideoFrame.from_image(base)  # type: ignore[no-untyped-call]
        self._base = base

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        self.count += 1
        if self.numbered:
            image = self._base.copy()
            number = self.count % (1 << BITS)
            draw_number(image, number)
            frame: VideoFrame = VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            self.sent_at[number] = time.monotonic()
            if len(self.sent_at) > 600:
                self.sent_at.pop(next(iter(self.sent_at)))
        else:
            frame = self._plain
        frame.pts = pts
        frame.time_base = time_base
        return frame


class Participant:
    def __init__(
        self,
        base_url: str,
        colour: tuple[int, int, int],
        size: tuple[int, int] = (320, 240),
        numbered: bool = False,
        analyse: bool = True,
    ) -> None:
        self.base_url = base_url
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.outgoing = PatternTrack(colour, size, numbered)
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(self.outgoing)
        self.channel = self.pc.createDataChannel("chat")
        self.messages: list[dict[str, Any]] = []
        self.kinds: deque[str] = deque(maxlen=300)
        self.frames = 0
        self.first_frame_at: float | None = None
        self.latencies: list[float] = []
        self.frame_times: list[float] = []
        self.analyse = analyse
        self.peer: PatternTrack | None = None  # whose numbers we measure against
        self._tasks: list[asyncio.Task[None]] = []

        @self.channel.on("message")
        def on_message(message: object) -> None:
            if isinstance(message, str):
                import json

                self.messages.append(json.loads(message))

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind != "video" or not isinstance(frame, VideoFrame):
                continue
            now = time.monotonic()
            self.frames += 1
            self.frame_times.append(now)
            if self.first_frame_at is None:
                self.first_frame_at = now
            if not self.analyse:
                if self.peer is not None and self.peer.numbered:
                    sent = self.peer.sent_at.get(read_number_y(frame))
                    if sent is not None:
                        self.latencies.append(now - sent)
                continue
            image = frame.to_image()  # type: ignore[no-untyped-call]
            width, height = image.size
            centre = image.crop((width // 4, height // 2, 3 * width // 4, 7 * height // 8))
            self.kinds.append(classify(tuple(ImageStat.Stat(centre).mean)))
            if self.peer is not None and self.peer.numbered:
                sent = self.peer.sent_at.get(read_number(image))
                if sent is not None:
                    self.latencies.append(now - sent)

    async def join(self, token: str, path: str = "/api/v1/video/offer", **extra: Any) -> float:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            body = {"token": token, "sdp": self.pc.localDescription.sdp, "type": "offer", **extra}
            response = await client.post(path, json=body)
        response.raise_for_status()
        answer = response.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return started

    def send(self, message: dict[str, Any]) -> None:
        import json

        self.channel.send(json.dumps(message))

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.05)
        return False

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


def recent(kinds: deque[str], n: int = 15) -> list[str]:
    return list(kinds)[-n:]
