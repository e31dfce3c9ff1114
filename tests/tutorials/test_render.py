"""A script renders to a playable MP4 (and a VP8 WebM) whose duration matches its steps
and whose WebVTT cues carry the steps' narration at the steps' times."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import av
import pytest
from PIL import Image

from tests.tutorials.conftest import Published, tiny_version
from tutorials import render


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    assert text.startswith("WEBVTT")
    cues = []
    pattern = re.compile(r"(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})\n(.+)")
    for match in pattern.finditer(text):
        g = [int(x) for x in match.groups()[:8]]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        cues.append((start, end, match.group(9)))
    return cues


def decoded_seconds(path: Path) -> tuple[float, int]:
    """Seconds of decoded video and the number of frames: the file really plays."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f for f in container.decode(stream)]
        last = frames[-1]
        assert last.time is not None
        return last.time + 1 / render.FPS, len(frames)


def test_script_renders_to_playable_mp4_matching_its_steps(published: Published) -> None:
    result = published.result
    steps = published.version.steps
    # Every step lasts at least its minimum, and at least its narration when spoken.
    assert len(result.steps) == len(steps) == 2
    for step, timing in zip(steps, result.steps, strict=True):
        assert timing.end - timing.start >= step.seconds - 1e-6
    expected = sum(t.end - t.start for t in result.steps)
    assert result.duration == pytest.approx(expected, abs=1e-3)

    with av.open(str(published.mp4)) as container:
        assert {s.codec_context.name for s in container.streams} == {"h264", "aac"}
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(expected, abs=0.15)
    seconds, frames = decoded_seconds(published.mp4)
    assert seconds == pytest.approx(expected, abs=0.15)
    assert frames == round(expected * render.FPS)
    # +faststart: the index (moov) comes before the media data, so playback starts early.
    head = published.mp4.read_bytes()[:4096]
    assert 0 <= head.find(b"moov") < max(head.find(b"mdat"), 4096)

    with av.open(str(result.directory / "video.webm")) as container:
        assert {s.codec_context.name for s in container.streams} == {"vp8", "opus"}
        assert container.duration / 1e6 == pytest.approx(expected, abs=0.15)


def test_captions_match_the_steps_text_and_times(published: Published) -> None:
    cues = parse_vtt((published.result.directory / "captions.vtt").read_text("utf-8"))
    steps = published.version.steps
    assert [c[2] for c in cues] == [s.narration for s in steps]
    for (start, end, _), timing in zip(cues, published.result.steps, strict=True):
        assert start == pytest.approx(timing.start, abs=1e-3)
        assert end == pytest.approx(timing.end, abs=1e-3)
    assert cues[0][0] == 0.0
    assert cues[-1][1] == pytest.approx(published.result.duration, abs=1e-3)
    chapters = published.result.chapters
    assert [c["title"] for c in chapters] == [s.heading for s in steps]
    transcript = (published.result.directory / "transcript.txt").read_text("utf-8")
    assert all(s.narration in transcript for s in steps)
    assert (published.result.directory / "thumbnail.jpg").stat().st_size > 1000


def test_without_narration_each_step_lasts_its_minimum(tmp_path: Path) -> None:
    version = tiny_version("silent-test")
    result = render.render_version(version, tmp_path / "out", narrate=False)
    assert not result.narrated
    assert [(t.start, t.end) for t in result.steps] == [(0.0, 2.0), (2.0, 4.0)]
    with av.open(str(result.directory / "video.mp4")) as container:
        assert container.duration / 1e6 == pytest.approx(4.0, abs=0.1)


def test_every_shipped_script_parses_with_german_english_and_easy_read() -> None:
    versions = render.shipped_versions()
    scripts = {v.script for v in versions}
    assert scripts >= {"anmeldung-online", "wohnungsgeberbestaetigung", "videosprechstunde-technik"}
    for script in scripts:
        languages = {v.language for v in versions if v.script == script}
        assert languages == {"de", "en"}, script
    assert any(v.easy_language for v in versions)
    assert len({v.slug for v in versions}) == len(versions)


def test_a_script_without_narration_is_refused() -> None:
    with pytest.raises(render.ScriptError, match="narration"):
        render.parse_script(
            {
                "service": "x",
                "versions": [
                    {"slug": "a", "title": "t", "summary": "s", "steps": [{"heading": "h"}]}
                ],
            },
            "broken",
        )


def _priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_render_flow_renders_at_a_lower_cpu_priority(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows import tutorials as render_flow

    seen: list[int] = []
    draw = render.draw_slide

    def drawing(version: render.Version, index: int) -> Image.Image:
        seen.append(_priority())
        return draw(version, index)

    monkeypatch.setattr(render, "draw_slide", drawing)
    own = _priority()
    result = render_flow.render_video.fn(tiny_version("priority-test"))
    assert (result.directory / "video.webm").exists()
    assert seen
    assert set(seen) == {min(19, own + render_flow.RENDER_NICENESS)}
    assert _priority() == own  # the caller's thread keeps its priority
