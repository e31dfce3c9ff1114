"""A tutorial answer links to the chapter that answers (``/tutorials/SLUG?t=START``), the
starts read from ``chapters.yaml`` (the rendered videos' metadata) as data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from intake.assistant.knowledge import DATA_DIR, TUTORIAL_SCRIPTS, fingerprint, load
from intake.assistant.service import Assistant, compose


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "assistant"
    shutil.copytree(DATA_DIR, target)
    return target


def _chapters(data_dir: Path) -> dict[str, dict[str, object]]:
    data = yaml.safe_load((data_dir / "chapters.yaml").read_text(encoding="utf-8"))
    tutorials: dict[str, dict[str, object]] = data["tutorials"]
    return tutorials


def test_the_recorded_starts_are_those_of_every_shipped_version() -> None:
    recorded = _chapters(DATA_DIR)
    for path in sorted(TUTORIAL_SCRIPTS.glob("*.yaml")):
        for version in yaml.safe_load(path.read_text(encoding="utf-8"))["versions"]:
            entry = recorded[version["slug"]]
            assert entry["fingerprint"] == fingerprint(version), (
                f"{version['slug']}: script changed; run scripts/assistant_chapters.py"
            )
            starts = entry["starts"]
            assert isinstance(starts, list)
            assert len(starts) == len(version["steps"])
            assert starts[0] == 0.0
            assert starts == sorted(starts)


def test_a_chapter_links_to_its_start_and_the_first_to_the_tutorial() -> None:
    knowledge = load()
    starts = _chapters(DATA_DIR)["wohnungsgeberbestaetigung-hochladen"]["starts"]
    assert isinstance(starts, list)
    first = knowledge.sources["tutorial:wohnungsgeberbestaetigung-hochladen#1"]
    second = knowledge.sources["tutorial:wohnungsgeberbestaetigung-hochladen#2"]
    assert first.url == "/tutorials/wohnungsgeberbestaetigung-hochladen"
    assert second.url == f"/tutorials/wohnungsgeberbestaetigung-hochladen?t={starts[1]:g}"
    assert starts[1] > 0


def test_an_answer_cites_the_chapter_once_per_tutorial() -> None:
    knowledge = load()
    entry = knowledge.faq("wohnungsgeber-hochladen")
    assert entry is not None
    answer = compose(knowledge, entry, "de", 0.9)
    tutorial_links = [s["url"] for s in answer.sources if s["url"].startswith("/tutorials/")]
    assert len(tutorial_links) == 1
    assert tutorial_links[0].startswith("/tutorials/wohnungsgeberbestaetigung-hochladen?t=")


def test_an_answer_in_another_language_links_that_versions_chapter() -> None:
    knowledge = load()
    entry = knowledge.faq("anmeldung-unterlagen")
    assert entry is not None
    answer = compose(knowledge, entry, "en", 0.9)
    starts = _chapters(DATA_DIR)["registering-online"]["starts"]
    assert isinstance(starts, list)
    assert {"registering-online"} <= {
        s["url"].split("?")[0].rsplit("/", 1)[-1] for s in answer.sources
    }
    assert f"/tutorials/registering-online?t={starts[1]:g}" in [s["url"] for s in answer.sources]


def test_times_of_a_changed_text_are_not_used(data_dir: Path) -> None:
    chapters = data_dir / "chapters.yaml"
    text = chapters.read_text(encoding="utf-8")
    stale = _chapters(data_dir)["wohnungsgeberbestaetigung-hochladen"]["fingerprint"]
    chapters.write_text(text.replace(f"fingerprint: {stale}", "fingerprint: 0000"))
    knowledge = load(data_dir)
    second = knowledge.sources["tutorial:wohnungsgeberbestaetigung-hochladen#2"]
    assert second.url == "/tutorials/wohnungsgeberbestaetigung-hochladen"


def test_the_player_starts_at_the_linked_chapter(data_dir: Path) -> None:
    assistant = Assistant(data_dir, check_every=0)
    answer = assistant.ask("Foto der Vermieterbescheinigung machen", "de")
    assert answer.answered
    url = next(s["url"] for s in answer.sources if s["url"].startswith("/tutorials/"))
    assert "?t=" in url
    assert float(url.split("?t=")[1]) > 0
