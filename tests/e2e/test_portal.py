"""The citizen portal in Debian chromium: every page and every error state in German and
English without WCAG 2.1 A/AA violations (axe-core), error summaries whose links move
focus to the field, hostile files refused with their specific message, drafts that
survive reloads and the back button, one application for a double click."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from intake.applications import service as applications
from intake.applications.models import Application, Status
from intake.portal import portal
from servicepoint import db
from tests.e2e.portal_steps import (
    BAD,
    answer_everything,
    case_application,
    case_files,
    check_error_summary,
    fill_address,
    fill_person,
    fill_previous,
    german,
    no_axe_violations,
    press,
    shoot,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow(seconds=35)]

TEXT = {
    "de": {
        "start": "Online starten",
        "begin": "Jetzt starten",
        "received": "Eingegangen",
        "checking": "Wird geprüft",
        "review": "In Bearbeitung bei einer Sachbearbeiterin / einem Sachbearbeiter",
        "completed": "Abgeschlossen",
        "program": "ein Programm (Windows-EXE)",
        "bomb": "Megapixel",
        "sent": "Antrag gesendet",
        "too_many": "Zu viele Versuche",
        "access": "Zugangscode",
    },
    "en": {
        "start": "Start online",
        "begin": "Start now",
        "received": "Received",
        "checking": "Being checked",
        "review": "Being handled by a clerk",
        "completed": "Completed",
        "program": "a program (Windows EXE)",
        "bomb": "megapixels",
        "sent": "Application sent",
        "too_many": "Too many attempts",
        "access": "Access code",
    },
}


STATUS_LABEL = {
    "submitted": "received",
    "processing": "checking",
    "review": "review",
    "approved": "completed",
    "rejected": "completed",
}


def status_of(reference: str) -> str:
    with db.session_scope() as session:
        return str(
            session.exec(select(Application).where(Application.reference == reference)).one().status
        )


def count_applications(document_number: str) -> int:
    with db.session_scope() as session:
        rows = session.exec(
            select(Application).where(
                Application.data_json.contains(document_number)  # type: ignore[attr-defined]
            )
        )
        return len(list(rows))


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Any:
    portal.submissions.reset()
    yield
    portal.submissions.reset()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_portal_page_and_error_state_is_accessible(page: Any, lang: str) -> None:
    t = TEXT[lang]
    application = case_application("case-001")
    person = application["persons"][0]

    page.goto(f"/?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    no_axe_violations(page)
    assert page.locator("a[href='/video/termin']").count() >= 1
    assert page.locator("a[href='/tutorials']").count() >= 1
    shoot(page, f"start-{lang}")
    with page.expect_navigation():
        page.get_by_role("link", name=t["start"]).click()
    no_axe_violations(page)
    if lang == "de":
        shoot(page, "anmeldung-de")
    with page.expect_navigation():
        page.get_by_role("link", name=t["begin"]).click()

    # Person: every field missing, then a date that does not exist.
    no_axe_violations(page)
    press(page)
    targets = check_error_summary(page, lang)
    assert targets[:3] == ["surname", "given_names", "birth_date"]
    no_axe_violations(page)
    shoot(page, f"person-errors-{lang}")
    fill_person(page, person)
    page.fill("#birth_date", "31.02.1942")
    press(page)
    assert check_error_summary(page, lang) == ["birth_date"]
    page.fill("#birth_date", german(person["birth_date"]))
    press(page)

    # Anyone else? No answer first.
    no_axe_violations(page)
    press(page)
    assert check_error_summary(page, lang) == ["more_persons"]
    no_axe_violations(page)
    page.check("input[name=more_persons][value=no]")
    press(page)

    # New address outside the city.
    fill_address(page, {**application["new_address"], "postal_code": "10115", "city": "Berlin"})
    press(page)
    assert check_error_summary(page, lang) == ["postal_code", "city"]
    no_axe_violations(page)
    fill_address(page, application["new_address"])
    press(page)

    page.fill("#move_in_date", "morgen")
    press(page)
    assert check_error_summary(page, lang) == ["move_in_date"]
    no_axe_violations(page)
    page.fill("#move_in_date", german(application["move_in_date"]))
    press(page)

    press(page)
    assert check_error_summary(page, lang) == ["residence_type"]
    no_axe_violations(page)
    page.check("input[name=residence_type][value=main]")
    press(page)

    fill_previous(page, {"postal_code": "38100"})
    press(page)
    assert check_error_summary(page, lang) == ["street", "city"]
    no_axe_violations(page)
    fill_previous(page, application["previous_address"])
    press(page)

    # Documents: nothing chosen, then hostile files, each with its own message.
    no_axe_violations(page)
    press(page)
    assert check_error_summary(page, lang) == ["identity-0", "landlord_confirmation"]
    no_axe_violations(page)
    page.set_input_files("#identity-0", str(BAD / "program.exe.pdf"))
    page.set_input_files("#landlord_confirmation", str(BAD / "bomb.png"))
    press(page)
    assert check_error_summary(page, lang) == ["identity-0", "landlord_confirmation"]
    assert t["program"] in page.locator("#identity-0-error").inner_text()
    assert t["bomb"] in page.locator("#landlord_confirmation-error").inner_text()
    no_axe_violations(page)
    if lang == "de":
        shoot(page, "upload-refused-de")
    identity, landlord = case_files("case-001")
    page.set_input_files("#identity-0", [str(p) for p in identity])
    press(page, "button[value=upload]")
    assert page.locator(".file-name").first.inner_text() == identity[0].name
    page.set_input_files("#landlord_confirmation", [str(p) for p in landlord])
    press(page)

    page.fill("#email", "kein-at-zeichen")
    press(page)
    assert check_error_summary(page, lang) == ["email"]
    no_axe_violations(page)
    page.fill("#email", "")
    press(page)

    # Check your answers: a reload and the back button keep the draft.
    assert page.url.endswith("/anmeldung/pruefen")
    page.reload()
    assert person["id_document_number"] in page.locator("main").inner_text()
    no_axe_violations(page)
    if lang == "de":
        shoot(page, "check-answers-de")
    page.go_back()
    page.go_back()  # the contact page as first shown (the refused e-mail came after it)
    assert page.url.endswith("/anmeldung/kontakt")
    assert page.locator("#email").count() == 1
    page.goto("/anmeldung/pruefen")
    press(page)
    assert check_error_summary(page, lang) == ["declaration"]
    no_axe_violations(page)

    # A double click sends one application.
    before = count_applications(person["id_document_number"])
    page.check("#declaration")
    page.locator("form button.button").first.dblclick()
    # The second click starts a second submission, which aborts the first one's
    # navigation in the browser (ERR_ABORTED); wait for where the page ends up.
    expect(page).to_have_url(re.compile(r".*/anmeldung/bestaetigung$"), timeout=30_000)
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == t["sent"]
    assert count_applications(person["id_document_number"]) == before + 1
    reference = page.locator(".reference").inner_text()
    no_axe_violations(page)
    if lang == "de":
        shoot(page, "confirmation-de")
    page.go_back()  # the back button after sending shows the confirmation again
    assert page.locator(".reference").inner_text() == reference

    # The status page.
    secret = page.locator("#secret-link").input_value()
    with page.expect_navigation():
        page.locator("main a.button").first.click()
    # The session's flow runner (when a test before this one started it) may be working
    # on the case: the page must show the status the case had all the while it loaded.
    for _ in range(10):
        before = status_of(reference)
        shown = page.locator(".status-current").inner_text().strip()
        if status_of(reference) == before:
            break
        page.reload()
    assert shown == t[STATUS_LABEL[before]]
    no_axe_violations(page)

    with db.session_scope() as session:
        application_row = session.exec(
            select(Application).where(Application.reference == reference)
        ).one()
        application_id = application_row.id
        applications.record(
            session,
            application_row,
            "queued_for_review",
            "system",
            to_status=Status.REVIEW,
        )
        applications.record(
            session,
            application_row,
            "document_requested",
            "clerk.meyer",
            details={
                "message": "Bitte laden Sie die Rückseite Ihres Ausweises hoch.",
                "slot": "identity",
            },
        )
    page.goto(f"/antrag/{application_id}")
    assert t["review"] in page.locator(".status-current").inner_text()
    press(page, ".request-panel button.button")
    assert check_error_summary(page, lang) == ["document"]
    no_axe_violations(page)
    page.set_input_files("#document", str(BAD / "script.svg"))
    press(page, ".request-panel button.button")
    assert check_error_summary(page, lang) == ["document"]
    no_axe_violations(page)
    if lang == "de":
        shoot(page, "status-request-de")

    # Another browser: the secret link, then the access form and its errors.
    other = page.context.browser.new_context(base_url=page.url.split("/antrag")[0])
    try:
        stranger = other.new_page()
        stranger.goto(f"/antrag/{application_id}?lang={lang}")
        assert t["access"] in stranger.locator("main").inner_text()
        no_axe_violations(stranger)
        press(stranger)
        assert check_error_summary(stranger, lang) == ["code"]
        no_axe_violations(stranger)
        stranger.fill("#code", secret)
        press(stranger)
        assert stranger.url.endswith(f"/antrag/{application_id}")
        assert t["review"] in stranger.locator(".status-current").inner_text()
        # Too many attempts from one connection: a 429 page in the chosen language.
        for _ in range(100):
            if portal.submissions.hit("127.0.0.1", 10):
                break
        other_case = "0" * 32
        stranger.goto(f"/antrag/{other_case}")
        stranger.fill("#code", "x")
        press(stranger)
        assert stranger.locator("h1").inner_text() == t["too_many"]
        no_axe_violations(stranger)
    finally:
        other.close()


def test_a_family_is_registered_with_one_upload_slot_per_person(page: Any) -> None:
    application = case_application("case-011")
    page.goto("/anmeldung/person/1?lang=de")
    answer_everything(page, "case-011")
    main = page.locator("main").inner_text()
    for person in application["persons"]:
        assert f"{person['given_names']} {person['surname']}" in main
    assert page.locator("h3").count() == 2
    no_axe_violations(page)
