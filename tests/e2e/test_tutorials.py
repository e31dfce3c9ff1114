"""The tutorial player in a real browser: it plays, shows the first caption cue, and a
chapter link seeks; the library pages have no WCAG 2.1 A/AA violations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import axe_violations
from tests.tutorials.conftest import Published, published  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


def test_player_plays_shows_captions_and_chapters_seek(page: Any, published: Published) -> None:  # noqa: F811
    page.goto(f"/tutorials/{published.slug}")
    video = page.locator("#tutorial-video")
    video.wait_for()
    page.wait_for_function("() => document.getElementById('tutorial-video').readyState >= 1")
    page.evaluate(
        "() => { const v = document.getElementById('tutorial-video'); v.muted = true;"
        " return v.play(); }"
    )
    page.wait_for_function(
        "() => document.getElementById('tutorial-video').currentTime > 0.3", timeout=15_000
    )
    first_cue = page.evaluate(
        """() => new Promise((resolve) => {
            const track = document.getElementById('tutorial-video').textTracks[0];
            const check = () => {
                const cues = track.activeCues;
                if (cues && cues.length) { resolve(cues[0].text); } else { setTimeout(check, 50); }
            };
            check();
        })"""
    )
    assert first_cue == published.version.steps[0].narration

    second = published.result.steps[1].start
    page.locator(".chapter-link").nth(1).click()
    page.wait_for_function(
        f"() => document.getElementById('tutorial-video').currentTime >= {second}"
    )
    assert page.url.endswith(f"/tutorials/{published.slug}")  # seeked in place, no reload

    page.select_option("#playback-rate", "1.5")
    assert page.evaluate("() => document.getElementById('tutorial-video').playbackRate") == 1.5
    assert axe_violations(page) == []


def test_library_pages_have_no_accessibility_violations(
    page: Any,
    published: Published,  # noqa: F811
) -> None:
    page.goto("/tutorials")
    assert axe_violations(page) == []
    page.goto("/tutorials?q=Zwiebelturm&lang=en&language=")
    assert page.locator(f'a[href="/tutorials/{published.slug}"]').count() == 1
    assert axe_violations(page) == []
