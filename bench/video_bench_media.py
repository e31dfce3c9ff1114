"""The media of the relay capacity bench (bench/video_capacity.py): one VP8 + Opus file
rendered once, sent as its packets on one continuous clock, each video frame numbered in
luma blocks in its top row so that a receiver can tell which frame it got.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame
from av.packet import Packet
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.video.clients import BITS, BLOCK, RED, draw_number, read_number_y  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 480, 30
LOOP_SECONDS = 24
VIDEO_BITRATE = 1_000_000  # what a browser sends for 640×480 once it has ramped up
VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_STEP = 960  # 20 ms per Opus packet
AUDIO_BITRATE = 48_000
INDEX_BITS = 12  # the low 12 of the 16 blocks: the frame's index in the loop
SIGNATURE = 0b1010  # the high 4 blocks: tells bench frames from status screens


# --- media: rendered once, sent as packets ---------------------------------------------------
def _camera_scene(rng: np.random.Generator) -> Callable[[int], np.ndarray]:
    """A webcam-like picture: a soft textured background, a person swaying in front of it
    and a little sensor noise, so the server's decoder and encoder get realistic work."""
    grid = (HEIGHT // 24, WIDTH // 24)
    shade = rng.integers(60, 190, size=(*grid, 1)) + rng.integers(-25, 26, size=(*grid, 3))
    coarse = np.clip(shade, 0, 255).astype(np.uint8)
    smooth = Image.fromarray(coarse).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    background = np.asarray(smooth).astype(np.int16)
    # Noise from a small pool of frames: no two neighbouring frames share it.
    noisy = [
        np.clip(background + rng.integers(-6, 7, background.shape), 0, 255).astype(np.uint8)
        for _ in range(7)
    ]
    # The person: a head over shoulders, drawn once into a patch with a mask.
    ph, pw = 300, 340
    rows, cols = np.mgrid[0:ph, 0:pw]
    head = ((cols - pw / 2) / 75) ** 2 + ((rows - 100) / 100) ** 2 <= 1
    body = ((cols - pw / 2) / 170) ** 2 + ((rows - ph - 10) / 120) ** 2 <= 1
    mask = head | body
    patch = np.where(head[..., None], (220, 170, 140), (40, 60, 110)).astype(np.int16)
    patch = np.clip(patch + rng.integers(-6, 7, patch.shape), 0, 255).astype(np.uint8)

    def frame(index: int) -> np.ndarray:
        t = index / FPS
        x = int((WIDTH - pw) / 2 + 70 * math.sin(2 * math.pi * t / 5))
        y = int(HEIGHT - ph + 8 + 8 * math.sin(2 * math.pi * t / 3))
        image: np.ndarray = noisy[index % len(noisy)].copy()
        window = image[y : y + ph, x : x + pw]
        visible = mask[: window.shape[0]]
        window[visible] = patch[: window.shape[0]][visible]
        return image

    return frame


def _flat_scene(_: np.random.Generator) -> Callable[[int], np.ndarray]:
    """One solid colour: the content of earlier runs of this benchmark."""
    image = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    image[:] = RED
    return lambda index: image.copy()


SCENES = {"camera": _camera_scene, "flat": _flat_scene}


def render_media(path: Path, scene: str) -> None:
    """LOOP_SECONDS of numbered VP8 video and Opus audio, written to a WebM file."""
    frames = LOOP_SECONDS * FPS
    assert frames < 1 << INDEX_BITS
    rng = np.random.default_rng(2024)
    picture = SCENES[scene](rng)
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = VIDEO_BITRATE
        video.gop_size = FPS  # a keyframe every second: nobody can ask for one
        video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        audio = out.add_stream("libopus", rate=AUDIO_RATE)
        audio.bit_rate = AUDIO_BITRATE
        audio.layout = "stereo"
        audio.format = "s16"
        for index in range(frames):
            image = Image.fromarray(picture(index))
            draw_number(image, SIGNATURE << INDEX_BITS | index)
            frame = VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode())

        t = np.arange(LOOP_SECONDS * AUDIO_RATE + AUDIO_STEP) / AUDIO_RATE
        voice = np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
        voice = voice * 0.2 + rng.normal(0, 0.005, t.size)
        pcm = np.repeat((voice * 32767).astype(np.int16), 2)  # interleaved stereo
        for start in range(0, LOOP_SECONDS * AUDIO_RATE, AUDIO_STEP):
            chunk = pcm[2 * start : 2 * (start + AUDIO_STEP)].reshape(1, -1)
            sound = AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            sound.sample_rate = AUDIO_RATE
            sound.pts = start
            out.mux(audio.encode(sound))
        out.mux(audio.encode())


RENDER_VERSION = 1  # bump when render_media changes what it writes


def media_file(scene: str) -> Path:
    """The rendered file for ``scene``, rendered on first use and kept for later runs."""
    key = f"{scene}-{WIDTH}x{HEIGHT}-{FPS}fps-{LOOP_SECONDS}s-{VIDEO_BITRATE}-v{RENDER_VERSION}"
    path = Path(tempfile.gettempdir()) / "servicepoint-video-bench" / f"{key}.webm"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        render_media(partial, scene)
        partial.rename(path)
    return path


@dataclass
class Media:
    video: list[bytes]
    audio: list[bytes]


def load_media(path: Path) -> Media:
    media = Media([], [])
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                kind = packet.stream.type
                (media.video if kind == "video" else media.audio).append(bytes(packet))
    # The encoder's final Opus packet is padding; keep whole 20 ms packets only.
    media.audio = media.audio[: LOOP_SECONDS * AUDIO_RATE // AUDIO_STEP]
    assert len(media.video) == LOOP_SECONDS * FPS, "one packet per frame expected"
    return media


class LoopedPackets(MediaStreamTrack):
    """Pre-encoded packets, paced in real time and looped on one continuous clock.

    aiortc's RTCRtpSender packetises an ``av.Packet`` as it is (no encoder involved).
    Timestamps never restart at the loop point, or receivers would drop frames."""

    def __init__(self, kind: str, packets: list[bytes], clock: int, step: int) -> None:
        super().__init__()
        self.kind = kind
        self.packets = packets
        self.time_base = Fraction(1, clock)
        self.step = step
        self.period = step / clock
        self.sent_at: dict[int, float] = {}  # loop index → when it was handed to the sender
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        delay = self._start + self._count * self.period - now
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.25:  # fell behind (a busy client): resume the pace, do not burst
            self._start -= delay
        index = self._count % len(self.packets)
        packet = Packet(self.packets[index])
        packet.pts = self._count * self.step
        packet.time_base = self.time_base
        self.sent_at[index] = time.monotonic()
        self._count += 1
        return packet


def frame_index(frame: VideoFrame) -> int | None:
    """The loop index drawn into a bench frame, or None for anything else (status screens)."""
    if frame.width < BITS * BLOCK or frame.height < BLOCK or frame.format.name != "yuv420p":
        return None
    value = read_number_y(frame)  # 16 luma bytes, no conversion of the frame
    if value >> INDEX_BITS != SIGNATURE:
        return None
    return value & ((1 << INDEX_BITS) - 1)
