"""Serving: range requests, validators and caching, the API of CONTRACTS §6, search
over transcripts, anonymous counters, the catalogue sync and the player pages."""

from __future__ import annotations

import json
from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from servicepoint import db, events
from tests.tutorials.conftest import TRANSCRIPT_ONLY_WORD, Published, tiny_version
from tutorials import repository, service


def test_range_request_returns_206_with_the_right_bytes(
    tutorial_app: FastAPI, published: Published
) -> None:
    client = TestClient(tutorial_app)
    url = f"/tutorials/media/{published.slug}/video.mp4"
    data = published.mp4.read_bytes()
    response = client.get(url, headers={"Range": "bytes=100-1099"})
    assert response.status_code == 206
    assert response.content == data[100:1100]
    assert response.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "video/mp4"
    assert "max-age" in response.headers["cache-control"]

    tail = client.get(url, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206
    assert tail.content == data[-500:]

    bad = client.get(url, headers={"Range": f"bytes={len(data) + 10}-"})
    assert bad.status_code == 416
    assert bad.headers["content-range"] == f"bytes */{len(data)}"

    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.content == data
    again = client.get(url, headers={"If-None-Match": whole.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_captions_transcript_and_unknown_files(tutorial_app: FastAPI, published: Published) -> None:
    client = TestClient(tutorial_app)
    vtt = client.get(f"/tutorials/media/{published.slug}/captions.vtt")
    assert vtt.status_code == 200
    assert vtt.text.startswith("WEBVTT")
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert client.get(f"/tutorials/media/{published.slug}/meta.json").status_code == 404
    assert client.get(f"/tutorials/media/{published.slug}/../../x.mp4").status_code == 404
    assert client.get("/tutorials/media/no-such-tutorial/video.mp4").status_code == 404


def test_api_lists_and_searches_by_a_word_only_in_the_transcript(
    tutorial_app: FastAPI, published: Published
) -> None:
    client = TestClient(tutorial_app)
    listed = client.get("/api/v1/tutorials", params={"lang": "de", "service": "anmeldung"})
    assert listed.status_code == 200
    item = next(t for t in listed.json() if t["slug"] == published.slug)
    for key in (
        "id",
        "slug",
        "title",
        "language",
        "service",
        "duration_seconds",
        "video_url",
        "captions_url",
        "transcript_url",
        "thumbnail_url",
        "page_url",
    ):
        assert key in item
    assert item["video_url"] == f"/tutorials/media/{published.slug}/video.mp4"
    assert item["duration_seconds"] == published.result.duration

    assert TRANSCRIPT_ONLY_WORD not in published.version.title + published.version.summary
    found = client.get("/api/v1/tutorials", params={"q": TRANSCRIPT_ONLY_WORD.lower()}).json()
    slugs = [t["slug"] for t in found]
    assert published.slug in slugs
    # Only test tutorials carry the word; none of the shipped ones matches.
    assert all(slug.startswith("tiny-") for slug in slugs)
    prefix = client.get("/api/v1/tutorials", params={"q": "zwiebel"}).json()
    assert published.slug in [t["slug"] for t in prefix]
    assert client.get("/api/v1/tutorials", params={"q": "quantenschaum"}).json() == []
    assert client.get("/api/v1/tutorials", params={"q": '" OR * NEAR('}).status_code == 200


def test_views_and_completions_are_counted_per_day_without_personal_data(
    tutorial_app: FastAPI, published: Published
) -> None:
    client = TestClient(tutorial_app)
    with db.session_scope() as session:
        before = {f["day"]: f for f in repository.figures(session)}.get(date.today())
    for _ in range(3):
        assert client.post(f"/api/v1/tutorials/{published.slug}/views").status_code == 204
    assert client.post(f"/api/v1/tutorials/{published.slug}/completions").status_code == 204
    with db.session_scope() as session:
        today = {f["day"]: f for f in repository.figures(session)}[date.today()]
        per_tutorial = {f["slug"]: f for f in repository.figures_by_tutorial(session)}
    base_views = before["views"] if before else 0
    base_done = before["completions"] if before else 0
    assert (today["views"], today["completions"]) == (base_views + 3, base_done + 1)
    assert per_tutorial[published.slug]["views"] >= 3
    assert client.post("/api/v1/tutorials/unknown/views").status_code == 404


def test_webrtc_media_path_is_the_vp8_webm(published: Published) -> None:
    with db.session_scope() as session:
        path = service.webrtc_media_path(session, published.slug)
        tutorial = service.find(session, published.slug)
        assert tutorial is not None
        assert tutorial.id is not None
        assert service.webrtc_media_path(session, tutorial.id) == path
        assert service.webrtc_media_path(session, "unknown") is None
    assert path is not None
    assert path.name == "video.webm"
    assert path.is_file()


def test_sync_announces_changed_scripts_once(db_session: Session) -> None:
    version = tiny_version("sync-test")
    assert service.sync_scripts(db_session, [version]) == ["sync-test"]
    assert service.sync_scripts(db_session, [version]) == []  # unchanged: no second event
    rows = db_session.exec(
        select(events.OutboxEvent).where(
            events.OutboxEvent.resource_id == "servicepoint.tutorial.sync-test"
        )
    ).all()
    assert len(rows) == 1
    assert rows[0].event == events.TUTORIAL_PUBLISHED
    assert json.loads(rows[0].payload)["hash"] == version.content_hash
    row = repository.by_slug(db_session, "sync-test")
    assert row is not None
    assert row.status == "pending"
    assert not row.ready
    assert service.version_to_render(db_session, "sync-test") is None  # not a shipped script
    assert service.webrtc_media_path(db_session, "sync-test") is None


def test_shipped_scripts_sync_into_the_catalogue(db_session: Session) -> None:
    service.sync_scripts(db_session)  # announces what changed since the last sync
    for slug in ("anmeldung-online", "registering-online"):
        assert service.find(db_session, slug) is not None, slug
    # A second sync of unchanged scripts announces nothing.
    assert service.sync_scripts(db_session) == []


def test_library_and_player_pages(tutorial_app: FastAPI, published: Published) -> None:
    client = TestClient(tutorial_app)
    library = client.get("/tutorials", params={"q": TRANSCRIPT_ONLY_WORD})
    assert library.status_code == 200
    assert f'href="/tutorials/{published.slug}"' in library.text
    assert "Video-Anleitungen" in library.text
    english = client.get("/tutorials", params={"lang": "en", "language": ""})
    assert "Video tutorials" in english.text

    page = client.get(f"/tutorials/{published.slug}", params={"lang": "de"})
    assert page.status_code == 200
    assert '<track kind="captions"' in page.text
    second = published.result.steps[1].start
    assert f'href="/tutorials/{published.slug}?t={second}" data-start="{second}"' in page.text
    assert TRANSCRIPT_ONLY_WORD in page.text
    assert "<script>" not in page.text
    assert "style=" not in page.text
    assert client.get("/tutorials/no-such-tutorial").status_code == 404


def test_pending_tutorial_page_says_the_video_is_being_prepared(
    tutorial_app: FastAPI,
) -> None:
    with db.session_scope() as session:
        service.sync_scripts(session, [tiny_version("pending-page-test")])
    page = TestClient(tutorial_app).get("/tutorials/pending-page-test")
    assert page.status_code == 200
    assert "Das Video wird gerade vorbereitet" in page.text
    assert "<video" not in page.text
