"""Server-generated video and audio: the waiting screen, status screens and silence.

Screens are drawn once per distinct text with Pillow and reused (a frame is re-stamped,
never re-drawn, on every send)."""

from __future__ import annotations

from functools import lru_cache

from av import AudioFrame, VideoFrame
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 640, 480
SAMPLE_RATE = 48_000
AUDIO_SAMPLES = 960  # 20 ms, what the Opus encoder packs
# The city's blue: the waiting screen is recognisably "the city", not a person.
BACKGROUND = (0, 61, 122)
FOREGROUND = (255, 255, 255)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


@lru_cache(maxsize=64)
def screen(lines: tuple[str, ...]) -> VideoFrame:
    """A 640×480 frame with ``lines`` centred on the city's blue (cached)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    y = HEIGHT // 2 - 24 * len(lines)
    for index, line in enumerate(lines):
        font = _font(34 if index == 0 else 26)
        width = draw.textlength(line, font=font)
        draw.text(((WIDTH - width) / 2, y), line, fill=FOREGROUND, font=font)
        y += 48
    frame: VideoFrame = VideoFrame.from_image(image).reformat(  # type: ignore[no-untyped-call]
        format="yuv420p"
    )
    return frame


def waiting_screen(position: int, wait_minutes: int) -> VideoFrame:
    return screen(
        (
            "Bitte warten Sie / Please wait",
            f"Position in der Warteschlange: {position}",
            f"Queue position: {position}",
            f"Wartezeit ca. {wait_minutes} Min. / about {wait_minutes} min",
        )
    )


def clerk_waiting_screen() -> VideoFrame:
    return screen(("Noch niemand eingelassen", "Nobody admitted yet"))


def paused_screen() -> VideoFrame:
    return screen(("Kein Bild / No picture",))


def silence() -> AudioFrame:
    frame = AudioFrame(format="s16", layout="stereo", samples=AUDIO_SAMPLES)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = SAMPLE_RATE
    return frame
