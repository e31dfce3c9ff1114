"""A citizen completes the Anmeldung in Debian chromium with a corpus case's files and
watches the status page reach the decision: a real flow runner reads and decides the
case behind the scenes; the page updates itself without a reload. When the case goes to
review, a clerk approves it through the API and the page follows to the letter."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from intake.applications.models import Application
from intake.portal import portal
from servicepoint import auth, db
from tests.conftest import Mailbox, Runner
from tests.e2e.conftest import LiveServer
from tests.e2e.portal_steps import answer_everything, no_axe_violations, press, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CASE = "case-018"  # scanned identity card and landlord confirmation (OCR)
LABELS = {
    "submitted": "Eingegangen",
    "processing": "Wird geprüft",
    "review": "In Bearbeitung bei einer Sachbearbeiterin / einem Sachbearbeiter",
    "approved": "Abgeschlossen",
    "rejected": "Abgeschlossen",
}


def database_status(reference: str) -> tuple[str, str, int]:
    with db.session_scope() as session:
        from sqlmodel import select

        row = session.exec(select(Application).where(Application.reference == reference)).one()
        return row.id, row.status, row.version


def wait_for_page_status(page: Any, wanted: set[str], timeout: float = 300) -> str:
    """Wait, without reloading, until the page shows one of the ``wanted`` statuses."""
    labels = {LABELS[s] for s in wanted}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = str(page.locator(".status-current").inner_text()).strip()
        if shown in labels:
            return shown
        page.wait_for_timeout(500)
    raise AssertionError(f"the page still shows {shown!r}, not one of {labels}")


def clerk_token(live_server: LiveServer) -> str:
    with db.session_scope() as session:
        if auth.get_user(session, "clerk.portal") is None:
            auth.create_user(session, "clerk.portal", "Portal-Test-2026!", auth.Role.CLERK)
    response = httpx.post(
        f"{live_server.url}/api/v1/auth/token",
        data={"username": "clerk.portal", "password": "Portal-Test-2026!"},
        timeout=30,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def test_a_citizen_applies_and_watches_the_status_page_reach_the_decision(
    record_property: Any,
    page: Any,
    live_server: LiveServer,
    runner: Runner,
    smtp_server: tuple[Mailbox, int],
) -> None:
    portal.submissions.reset()
    mailbox, _ = smtp_server
    page.goto("/anmeldung?lang=de")
    press(page, "main a.button")
    answer_everything(page, CASE, email="journey@example.org")
    page.check("#declaration")
    sent = time.monotonic()
    press(page)
    reference = page.locator(".reference").inner_text()
    assert reference.startswith("HSP-")
    press(page, "main a.button")  # "Stand meines Antrags anzeigen"
    application_id = page.url.rsplit("/", 1)[-1]
    assert len(application_id) == 32
    no_axe_violations(page)
    page.evaluate("window.servicepointNoReload = true")

    # The flow runner reads the documents and decides; the page follows on its own.
    shown = wait_for_page_status(page, {"review", "approved"})
    record_property("seconds_until_the_page_shows_the_decision", round(time.monotonic() - sent, 1))
    _, status, version = database_status(reference)
    assert shown == LABELS[status]
    timeline = page.locator(".timeline").inner_text()
    assert "Antrag eingegangen" in timeline
    assert "Automatische Prüfung der Dokumente begonnen" in timeline
    if status == "review":
        assert "An die Sachbearbeitung übergeben" in timeline
        no_axe_violations(page)
        shoot(page, "status-review")
        decision = httpx.post(
            f"{live_server.url}/api/v1/applications/{application_id}/decision",
            json={"outcome": "approved", "reason": "", "version": version},
            headers={"Authorization": f"Bearer {clerk_token(live_server)}"},
            timeout=30,
        )
        assert decision.status_code == 200, decision.text
        wait_for_page_status(page, {"approved"})

    # The finishing flow writes the letter; the download appears without a reload.
    letter = page.locator("a[href$='/schreiben.pdf']")
    letter.wait_for(timeout=120_000)
    record_property("seconds_until_the_letter_is_offered", round(time.monotonic() - sent, 1))
    record_property("path", status)
    assert page.evaluate("window.servicepointNoReload === true")
    assert database_status(reference)[1] == "approved"
    assert "Anmeldung bestätigt" in page.locator(".timeline").inner_text()
    assert (
        page.locator("#status-announcer")
        .inner_text()
        .startswith("Der Stand Ihres Antrags hat sich geändert.")
    )
    no_axe_violations(page)
    shoot(page, "status-approved")
    page.goto(f"/antrag/{application_id}?lang=en")
    assert page.locator(".status-current").inner_text().strip() == "Completed"
    no_axe_violations(page)
    pdf = page.request.get(letter.get_attribute("href"))
    assert pdf.status == 200
    assert pdf.body().startswith(b"%PDF")
    # The e-mail links to the same status page.
    deadline = time.monotonic() + 30
    while not mailbox.to("journey@example.org") and time.monotonic() < deadline:
        time.sleep(0.2)
    mails = mailbox.to("journey@example.org")
    assert len(mails) == 1
    assert reference in mails[0]["Subject"]
