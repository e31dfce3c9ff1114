"""The clerk's day in a real browser (Debian chromium): a case from the dev corpus is
submitted, read by the real flow runner (Prefect), and lands in the queue; a clerk signs
in, claims it, sees the differing field highlighted on the page image, corrects the value
and approves; a second clerk cannot claim it; the citizen's status page shows the outcome.
Every back-office page is checked with axe-core (WCAG 2.1 A/AA)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from intake.applications.models import Application
from servicepoint import db
from tests.backoffice.conftest import (  # noqa: F401  (fixtures)
    Case,
    new_user,
    readings_cache,
    review_case,
)
from tests.conftest import SHARED_CORPUS, Runner
from tests.e2e.conftest import LiveServer, axe_violations

pytestmark = [pytest.mark.e2e, pytest.mark.slow(seconds=100)]
PASSWORD = "a-long-test-password"
CASE = SHARED_CORPUS / "anmeldung-dev" / "case-007"  # move-in date differs from the landlord's


def submit(server: LiveServer) -> dict[str, Any]:
    data = json.loads((CASE / "application.json").read_text(encoding="utf-8"))
    data["contact"] = {"email": "bjoern.busch@example.org"}
    files = [
        ("files", (Path(d["file"]).name, (CASE / d["file"]).read_bytes()))
        for d in data["documents"]
    ]
    response = httpx.post(
        f"{server.url}/api/v1/applications",
        data={"application": json.dumps(data)},
        files=files,
        timeout=60,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for_review(application_id: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session_scope() as session:
            application = session.get(Application, application_id)
            if application is not None and application.status not in ("submitted", "processing"):
                assert application.status == "review", application.status
                return
        time.sleep(0.5)
    raise AssertionError(f"{application_id} was not processed within {timeout} s")


@pytest.fixture
def contexts(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    opened: list[Any] = []

    def new(locale: str = "de-DE") -> Any:
        context = browser.new_context(base_url=live_server.url, locale=locale)
        opened.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    try:
        yield new
    finally:
        for context in opened:
            context.close()


def sign_in(page: Any, username: str) -> None:
    page.goto("/backoffice/anmelden")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url("**/backoffice/vorgaenge")


def no_violations(page: Any) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: {violations}"


def test_clerk_reviews_corrects_and_approves_a_corpus_case(
    contexts: Any,
    live_server: LiveServer,
    runner: Runner,
) -> None:
    submitted = submit(live_server)
    case_id, reference = submitted["id"], submitted["reference"]
    wait_for_review(case_id)
    first_name, second_name = new_user("clerk", PASSWORD), new_user("clerk", PASSWORD)

    clerk = contexts()
    clerk.goto("/backoffice/anmelden")
    no_violations(clerk)
    sign_in(clerk, first_name)
    queue_url = "/backoffice/vorgaenge?reason=MOVE_IN_DATE_MISMATCH&claim=free&sort=age&dir=desc"

    # The second clerk opens the queue while the case is still free.
    colleague = contexts()
    sign_in(colleague, second_name)
    colleague.goto(queue_url)
    colleague_row = colleague.locator(f"#case-{case_id}")
    assert colleague_row.get_by_role("button", name=re.compile("Übernehmen")).is_visible()

    clerk.goto(queue_url)
    no_violations(clerk)
    row = clerk.locator(f"#case-{case_id}")
    assert "Einzugsdatum weicht ab" in row.inner_text()
    row.get_by_role("button", name=re.compile("Übernehmen")).click()
    clerk.wait_for_url(f"**/backoffice/vorgaenge/{case_id}")
    assert "Sie bearbeiten jetzt den Vorgang" in clerk.locator(".notice").inner_text()

    # The colleague's click comes second: refused, with the reason.
    colleague_row.get_by_role("button", name=re.compile("Übernehmen")).click()
    summary = colleague.locator("#error-summary")
    assert "bereits von" in summary.inner_text()
    assert colleague.title().startswith("Fehler: ")

    # The differing field is highlighted on the landlord confirmation's page image.
    box = clerk.locator('rect.field-box-problem[data-field="move_in_date"]')
    assert box.count() == 1
    assert box.bounding_box()["width"] > 5
    image = clerk.locator("svg.page-view image").first.get_attribute("href")
    status = clerk.evaluate("(url) => fetch(url).then((r) => r.status)", image)
    assert status == 200
    assert "Das Einzugsdatum im Antrag weicht von der Wohnungsgeberbestätigung ab." in (
        clerk.locator("#reasons-title + ol").inner_text()
    )
    no_violations(clerk)

    # The applicant mistyped the date: the clerk corrects the form's value.
    row = clerk.locator("tr", has=clerk.locator("th", has_text="Einzugsdatum")).filter(
        has_text="weicht ab"
    )
    row.locator("summary").click()
    row.get_by_label("Die Angabe im Antrag").check()
    row.get_by_label("Richtiger Wert").fill("22.10.2026")
    row.get_by_label("Vermerk für das Protokoll (optional)").fill("Tippfehler")
    no_violations(clerk)  # with the correction form open
    row.get_by_role("button", name="Korrektur speichern").click()
    assert "korrigiert und die Änderung protokolliert" in clerk.locator(".notice").inner_text()
    assert "finden die Prüfregeln nichts mehr" in clerk.content()

    # Alt+G (a documented shortcut) chooses "approve"; then the decision is saved.
    clerk.keyboard.press("Alt+g")
    assert clerk.get_by_label(re.compile("^Genehmigen")).is_checked()
    clerk.get_by_role("button", name="Entscheidung speichern").click()
    assert f"Vorgang {reference} ist genehmigt." in clerk.locator(".notice").inner_text()

    clerk.get_by_role("link", name="Protokoll").first.click()
    trail = clerk.locator("table.audit").inner_text()
    assert "Wert korrigiert" in trail
    assert "2026-10-30" in trail
    assert "2026-10-22" in trail
    no_violations(clerk)

    # The citizen's status page shows the outcome.
    citizen = contexts()
    citizen.goto(f"/antrag/{case_id}?token={submitted['access_token']}")
    assert "Ihre Anmeldung ist bestätigt." in citizen.locator("main").inner_text()
    api = httpx.get(
        f"{live_server.url}/api/v1/applications/{case_id}",
        headers={"Authorization": f"Bearer {submitted['access_token']}"},
    )
    assert api.json()["status"] == "approved"


def test_back_office_pages_have_no_wcag_violations(
    contexts: Any,
    review_case: Callable[..., Case],  # noqa: F811
) -> None:
    case = review_case()
    admin_name = new_user("admin", PASSWORD)
    for locale, lang in (("de-DE", "de"), ("en-GB", "en")):
        page = contexts(locale)
        page.goto("/backoffice/anmelden")
        page.locator("#username").fill(admin_name)
        page.locator("#password").fill(PASSWORD)
        page.locator("form.narrow-form button").click()
        page.wait_for_url("**/backoffice/vorgaenge")
        if lang == "de":  # claimed, the case page shows every form
            page.goto(f"/backoffice/vorgaenge/{case.id}")
            page.locator("form", has=page.locator('input[name="back"]')).locator("button").click()
            page.wait_for_url(f"**/backoffice/vorgaenge/{case.id}")
        for path in (
            "/backoffice/vorgaenge",
            "/backoffice/vorgaenge?reason=MOVE_IN_DATE_MISMATCH&due=7&sort=age",
            f"/backoffice/vorgaenge/{case.id}",
            f"/backoffice/vorgaenge/{case.id}/protokoll",
            "/backoffice/verwaltung",
            "/backoffice/verwaltung/konten",
            "/backoffice/passwort",
        ):
            page.goto(path)
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("h1").count() == 1
            page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
            no_violations(page)
        # A form with errors: the summary and the messages beside the fields.
        page.goto("/backoffice/verwaltung/konten")
        page.locator("#username").fill("X Y")
        page.locator("form.narrow-form button").click()
        assert page.locator("#error-summary").is_visible()
        no_violations(page)


def test_idle_warning_appears_and_keeps_the_session(contexts: Any) -> None:
    username = new_user("clerk", PASSWORD)
    page = contexts()

    def shorten(route: Any) -> None:
        response = route.fetch()
        body = response.text().replace('data-idle-seconds="', 'data-idle-seconds="8" data-x="')
        route.fulfill(response=response, body=body)

    sign_in(page, username)
    page.route("**/backoffice/vorgaenge", shorten)
    page.goto("/backoffice/vorgaenge")
    warning = page.locator("#idle-warning")
    warning.wait_for(state="visible", timeout=10_000)
    assert page.evaluate("document.activeElement.textContent") == "Angemeldet bleiben"
    no_violations(page)
    with page.expect_response("**/backoffice/sitzung") as keep_alive:
        page.get_by_role("button", name="Angemeldet bleiben").click()
    assert keep_alive.value.status == 200
    assert warning.is_hidden()
