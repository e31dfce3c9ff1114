"""The administrator's upload page for a finished video in a real browser (Debian
chromium): a small MP4 made with PyAV is published and listed with its thumbnail; a
truncated one is refused with the German message beside the field and in the error
summary; both states of the page have no WCAG 2.1 A/AA violations, nor has the dashboard
that then counts the new tutorial's view."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from servicepoint import auth, db
from tests.e2e.conftest import axe_violations
from tests.tutorials.test_upload import encode
from tutorials import repository

pytestmark = [pytest.mark.e2e]
PASSWORD = "a-long-test-password"
BROKEN = "Die Videodatei ist beschädigt oder unvollständig und kann nicht gelesen werden."


def new_admin() -> str:
    username = f"admin-{uuid.uuid4().hex[:8]}"
    with db.session_scope() as session:
        auth.create_user(session, username, PASSWORD, role=auth.Role.ADMIN)
    return username


def sign_in(page: Any, username: str) -> None:
    page.goto("/backoffice/anmelden")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.narrow-form button").click()
    page.wait_for_url("**/backoffice/vorgaenge")


def fill_upload_form(page: Any, slug: str, title: str, video: Path) -> None:
    page.get_by_label("Kurzbezeichnung (für die Adresse)").fill(slug)
    page.get_by_label("Titel", exact=True).fill(title)
    page.get_by_label("Dienstleistung").fill("anmeldung")
    page.get_by_label("Zusammenfassung").fill("Ein fertiges Video, im Browser hochgeladen.")
    page.get_by_label("Transkript").fill("Das Video zeigt eine rote Fläche.")
    page.get_by_label("Sprache", exact=True).select_option("de")
    page.get_by_label("Videodatei").set_input_files(str(video))


def thumbnail_colour(page: Any, slug: str) -> list[int]:
    """The loaded thumbnail's centre pixel (RGB), read back through a canvas."""
    selector = f'img[src="/tutorials/media/{slug}/thumbnail.jpg"]'
    page.wait_for_function(
        "(s) => { const i = document.querySelector(s); return i && i.complete"
        " && i.naturalWidth > 0; }",
        arg=selector,
    )
    colour: list[int] = page.evaluate(
        """(s) => {
            const img = document.querySelector(s);
            const canvas = document.createElement('canvas');
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const context = canvas.getContext('2d');
            context.drawImage(img, 0, 0);
            const x = Math.floor(img.naturalWidth / 2), y = Math.floor(img.naturalHeight / 2);
            return Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
        }""",
        selector,
    )
    return colour


def test_admin_uploads_a_video_and_a_truncated_one_is_refused(page: Any, tmp_path: Path) -> None:
    video = encode(tmp_path / "rot.mp4", "libx264", 2.0)
    truncated = tmp_path / "abgeschnitten.mp4"
    truncated.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    slug = f"browser-upload-{uuid.uuid4().hex[:6]}"
    title = f"Im Browser hochgeladen {slug[-6:]}"

    sign_in(page, new_admin())
    page.goto("/backoffice/tutorials")
    assert page.locator("h1").inner_text() == "Video-Anleitungen"
    assert axe_violations(page) == []

    fill_upload_form(page, slug, title, video)
    page.get_by_role("button", name="Veröffentlichen").click()
    page.wait_for_url("**/backoffice/tutorials")
    notice = page.locator(".notice[role=status]")
    assert notice.inner_text().strip() == f"Die Anleitung {title} wurde veröffentlicht."
    row = page.locator("tbody tr", has=page.get_by_role("link", name=title))
    assert row.locator("td").nth(4).inner_text() == "Bereit"
    assert row.locator("td").nth(3).inner_text() == "Hochgeladen"
    red, green, blue = thumbnail_colour(page, slug)
    assert red > 150  # the red frames of the uploaded video
    assert max(green, blue) < 60
    with db.session_scope() as session:
        stored = repository.by_slug(session, slug)
        assert stored is not None
        assert stored.ready
        assert stored.source == "upload"
    assert axe_violations(page) == []

    broken_slug = f"{slug}-kaputt"
    fill_upload_form(page, broken_slug, "Abgeschnittenes Video", truncated)
    page.get_by_role("button", name="Veröffentlichen").click()
    page.locator("#video-error").wait_for()
    assert page.title().startswith("Fehler: ")
    assert BROKEN in page.locator("#video-error").inner_text()
    summary = page.locator("#error-summary")
    assert summary.get_by_role("link", name=BROKEN).get_attribute("href") == "#video"
    assert page.get_by_label("Videodatei").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Kurzbezeichnung (für die Adresse)").input_value() == broken_slug
    assert page.get_by_role("link", name="Abgeschnittenes Video").count() == 0
    with db.session_scope() as session:
        assert repository.by_slug(session, broken_slug) is None
    assert axe_violations(page) == []

    # A citizen's view of the new tutorial shows up on the dashboard.
    assert page.request.post(f"/api/v1/tutorials/{slug}/views").status == 204
    page.goto("/backoffice/verwaltung")
    cells = page.locator(f'#tutorial-figures tr[data-slug="{slug}"] td')
    assert cells.all_inner_texts() == ["1", "0", "0 %"]
    assert axe_violations(page) == []
