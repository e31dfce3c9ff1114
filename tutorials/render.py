"""Tutorials as code: a script (YAML) rendered into a video with PyAV.

A script has one or more versions (German, English, Leichte Sprache); each version has
steps with on-screen text and narration. Rendering a version produces, in one directory:

- ``video.mp4``   H.264/AAC with ``+faststart`` for the web player,
- ``video.webm``  VP8/Opus with short GOPs, sent pre-encoded over WebRTC,
- ``captions.vtt`` one cue per narration sentence, timed from the steps,
- ``transcript.txt``, ``thumbnail.jpg`` and ``meta.json`` (duration, chapters).

Slides are drawn with Pillow (DejaVu fonts). Narration is spoken by ``espeak-ng`` when it
is installed; otherwise the step is silent and the captions carry the text.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import yaml
from PIL import Image, ImageDraw, ImageFont

RENDERER_VERSION = "1"
WIDTH, HEIGHT = 960, 540
FPS = 10
GOP_SECONDS = 1
SAMPLE_RATE = 48_000
MIN_STEP_SECONDS = 2.0
PAUSE_SECONDS = 0.6  # silence after the narration of a step

# City colours: Hannover red on white, dark text.
CITY_RED = (204, 0, 0)
INK = (26, 26, 26)
PAPER = (255, 255, 255)
MUTED = (85, 85, 85)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
VOICES = {"de": "de", "en": "en-gb"}


class ScriptError(ValueError):
    """A tutorial script that cannot be rendered (missing fields, no steps)."""


@dataclass(frozen=True)
class Step:
    heading: str
    text: str
    narration: str
    seconds: float = 0.0  # a minimum duration set by the author


@dataclass(frozen=True)
class Version:
    script: str
    slug: str
    language: str
    easy_language: bool
    service: str
    title: str
    summary: str
    steps: tuple[Step, ...]

    @property
    def content_hash(self) -> str:
        """Changes whenever what the video shows or says changes (or the renderer)."""
        payload = json.dumps(
            {
                "renderer": RENDERER_VERSION,
                "title": self.title,
                "language": self.language,
                "steps": [s.__dict__ for s in self.steps],
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Timing:
    start: float
    end: float


@dataclass
class Rendered:
    directory: Path
    duration: float
    steps: list[Timing]
    chapters: list[dict[str, Any]]
    transcript: str
    narrated: bool
    cues: list[tuple[float, float, str]] = field(default_factory=list)


# --- scripts --------------------------------------------------------------------------------
def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScriptError(f"{where}: text missing")
    return " ".join(value.split())


def parse_script(data: dict[str, Any], name: str) -> list[Version]:
    service = _text(data.get("service"), f"{name}.service")
    versions = []
    for index, raw in enumerate(data.get("versions") or []):
        where = f"{name}.versions[{index}]"
        steps = []
        for number, step in enumerate(raw.get("steps") or []):
            at = f"{where}.steps[{number}]"
            steps.append(
                Step(
                    heading=_text(step.get("heading"), at + ".heading"),
                    text=str(step.get("text") or "").strip(),
                    narration=_text(step.get("narration"), at + ".narration"),
                    seconds=float(step.get("seconds") or 0.0),
                )
            )
        if not steps:
            raise ScriptError(f"{where}: no steps")
        language = str(raw.get("language") or "de")
        if language not in VOICES:
            raise ScriptError(f"{where}: language {language!r} not supported")
        versions.append(
            Version(
                script=name,
                slug=_text(raw.get("slug"), where + ".slug"),
                language=language,
                easy_language=bool(raw.get("easy_language", False)),
                service=service,
                title=_text(raw.get("title"), where + ".title"),
                summary=_text(raw.get("summary"), where + ".summary"),
                steps=tuple(steps),
            )
        )
    if not versions:
        raise ScriptError(f"{name}: no versions")
    return versions


def load_script(path: Path) -> list[Version]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise ScriptError(f"{path.name}: not a mapping")
    return parse_script(data, path.stem)


def shipped_versions(directory: Path = SCRIPTS_DIR) -> list[Version]:
    versions: list[Version] = []
    for path in sorted(directory.glob("*.yaml")):
        versions.extend(load_script(path))
    return versions


# --- slides -----------------------------------------------------------------------------------
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        words = paragraph.split()
        line = ""
        for word in words:
            candidate = f"{line} {word}".strip()
            if draw.textlength(candidate, font=font) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def draw_slide(version: Version, index: int) -> Image.Image:
    """One step as a slide: the city bar, a large heading, the on-screen text."""
    step = version.steps[index]
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 56), fill=CITY_RED)
    draw.text((32, 12), version.title, font=_font(26, bold=True), fill=PAPER)
    counter = f"{index + 1} / {len(version.steps)}"
    draw.text((WIDTH - 32, 14), counter, font=_font(22), fill=PAPER, anchor="ra")
    y = 96
    heading_font = _font(44, bold=True)
    for line in _wrap(draw, step.heading, heading_font, WIDTH - 64):
        draw.text((32, y), line, font=heading_font, fill=INK)
        y += 56
    y += 20
    body_font = _font(32)
    for line in _wrap(draw, step.text, body_font, WIDTH - 64):
        if y > HEIGHT - 60:
            break
        draw.text((32, y), line, font=body_font, fill=INK)
        y += 44
    draw.rectangle((0, HEIGHT - 8, WIDTH, HEIGHT), fill=CITY_RED)
    return image


# --- narration ---------------------------------------------------------------------------------
def narration_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, language: str, workdir: Path, name: str) -> bytes | None:
    """Mono 16-bit PCM at SAMPLE_RATE for the text, or None without espeak-ng."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return None
    wav_path = workdir / f"{name}.wav"
    subprocess.run(
        [binary, "-v", VOICES.get(language, "de"), "-s", "150", "-w", str(wav_path), text],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with wave.open(str(wav_path), "rb") as handle:
        rate = handle.getframerate()
        raw = handle.readframes(handle.getnframes())
    return _resample(raw, rate)


def _resample(pcm: bytes, rate: int) -> bytes:
    """Mono s16 PCM from ``rate`` to SAMPLE_RATE (PyAV's resampler, no numpy)."""
    if rate == SAMPLE_RATE:
        return pcm
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm)
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    out = bytearray()
    for chunk in [*resampler.resample(frame), *resampler.resample(None)]:
        out += bytes(chunk.planes[0])[: chunk.samples * 2]
    return bytes(out)


# --- captions ----------------------------------------------------------------------------------
def _sentences(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", text) if p.strip()]
    return parts or [text]


def cues_for(
    version: Version, timings: list[Timing], spoken: list[float]
) -> list[tuple[float, float, str]]:
    """Cues per sentence, spread over the spoken part of each step by length."""
    cues: list[tuple[float, float, str]] = []
    for step, timing, speech in zip(version.steps, timings, spoken, strict=True):
        sentences = _sentences(step.narration)
        span = speech if speech > 0 else timing.end - timing.start
        total = sum(len(s) for s in sentences)
        at = timing.start
        for number, sentence in enumerate(sentences):
            last = number == len(sentences) - 1
            end = timing.end if last else at + span * len(sentence) / total
            cues.append((round(at, 3), round(end, 3), sentence))
            at = end
    return cues


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def webvtt(cues: list[tuple[float, float, str]]) -> str:
    lines = ["WEBVTT", ""]
    for number, (start, end, text) in enumerate(cues, start=1):
        lines += [str(number), f"{_stamp(start)} --> {_stamp(end)}", text, ""]
    return "\n".join(lines)


def transcript_of(version: Version) -> str:
    parts = [version.title, ""]
    for step in version.steps:
        parts += [step.heading, step.narration, ""]
    return "\n".join(parts).strip() + "\n"


# --- encoding ----------------------------------------------------------------------------------
def _encode(
    path: Path,
    slides: list[Image.Image],
    frames_per_slide: list[int],
    audio: bytes,
    web: bool,
) -> None:
    options = {"movflags": "+faststart"} if web else {}
    with av.open(str(path), "w", options=options) as container:
        if web:
            video = container.add_stream("libx264", rate=FPS)
            video.options = {"preset": "veryfast", "crf": "26", "tune": "stillimage"}
            audio_stream = container.add_stream("aac", rate=SAMPLE_RATE)
        else:
            video = container.add_stream("libvpx", rate=FPS)
            video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
            video.bit_rate = 600_000
            audio_stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        video.width, video.height = WIDTH, HEIGHT
        video.pix_fmt = "yuv420p"
        video.gop_size = FPS * GOP_SECONDS
        video.time_base = Fraction(1, FPS)
        audio_stream.layout = "mono"  # type: ignore[attr-defined]
        audio_stream.time_base = Fraction(1, SAMPLE_RATE)

        pts = 0
        for slide, count in zip(slides, frames_per_slide, strict=True):
            picture = av.VideoFrame.from_image(slide)  # type: ignore[no-untyped-call]
            frame = picture.reformat(format="yuv420p")
            for _ in range(count):
                frame.pts = pts
                frame.time_base = Fraction(1, FPS)
                for packet in video.encode(frame):
                    container.mux(packet)
                pts += 1
        for packet in video.encode(None):
            container.mux(packet)

        chunk = 960 if not web else 1024
        samples = len(audio) // 2
        for offset in range(0, samples, chunk):
            size = min(chunk, samples - offset)
            aframe = av.AudioFrame(format="s16", layout="mono", samples=size)
            aframe.planes[0].update(audio[offset * 2 : (offset + size) * 2])
            aframe.sample_rate = SAMPLE_RATE
            aframe.pts = offset
            aframe.time_base = Fraction(1, SAMPLE_RATE)
            for packet in audio_stream.encode(aframe):
                container.mux(packet)
        for packet in audio_stream.encode(None):
            container.mux(packet)


def render_version(version: Version, target: Path, narrate: bool = True) -> Rendered:
    """Render one version into ``target`` (created atomically: all files or none)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".render-", dir=target.parent))
    try:
        return _render_into(version, target, work, narrate and narration_available())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _render_into(version: Version, target: Path, work: Path, narrate: bool) -> Rendered:
    slides: list[Image.Image] = []
    frames: list[int] = []
    timings: list[Timing] = []
    spoken: list[float] = []
    audio = bytearray()
    at = 0.0
    for index, step in enumerate(version.steps):
        pcm = speak(step.narration, version.language, work, f"step{index}") if narrate else None
        speech = len(pcm) / 2 / SAMPLE_RATE if pcm else 0.0
        wanted = max(MIN_STEP_SECONDS, step.seconds, speech + PAUSE_SECONDS if pcm else 0.0)
        count = max(1, round(wanted * FPS))  # whole video frames, audio padded to match
        seconds = count / FPS
        sample_count = round(seconds * SAMPLE_RATE)
        body = (pcm or b"")[: sample_count * 2]
        audio += body + b"\0" * (sample_count * 2 - len(body))
        slides.append(draw_slide(version, index))
        frames.append(count)
        timings.append(Timing(round(at, 3), round(at + seconds, 3)))
        spoken.append(min(speech, seconds))
        at += seconds

    out = work / "out"
    out.mkdir()
    _encode(out / "video.mp4", slides, frames, bytes(audio), web=True)
    _encode(out / "video.webm", slides, frames, bytes(audio), web=False)
    cues = cues_for(version, timings, spoken)
    (out / "captions.vtt").write_text(webvtt(cues), encoding="utf-8")
    transcript = transcript_of(version)
    (out / "transcript.txt").write_text(transcript, encoding="utf-8")
    slides[0].save(out / "thumbnail.jpg", quality=85)
    chapters = [
        {"title": step.heading, "start": timing.start}
        for step, timing in zip(version.steps, timings, strict=True)
    ]
    meta = {"duration": round(at, 3), "chapters": chapters, "narrated": narrate}
    (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    out.rename(target)
    return Rendered(target, round(at, 3), timings, chapters, transcript, narrate, cues)
