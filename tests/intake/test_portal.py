"""The citizen portal over HTTP: the journey, drafts, double submits, the status page and
its secret link, handing in a requested document, security headers, the rate limit."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import col, select

from intake.applications import service as applications
from intake.applications import uploads
from intake.applications.models import Application, AuditEntry, Document, Status
from intake.portal import portal, views
from servicepoint import db, sessions
from servicepoint.app import create_app
from tests.intake.portal_helpers import BAD, CASES, Citizen, case_application, german, summary


@pytest.fixture(scope="module")
def app(migrated_db: str) -> Any:
    return create_app()


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Iterator[None]:
    portal.submissions.reset()
    yield
    portal.submissions.reset()


@pytest.fixture
def citizen(app: Any) -> Citizen:
    return Citizen(TestClient(app))


def applications_with_key(key: str) -> list[Application]:
    with db.session_scope() as session:
        return list(session.exec(select(Application).where(Application.idempotency_key == key)))


def draft_id(citizen: Citizen) -> str:
    """The draft id, read back from the application a submission created."""
    link = citizen.secret_link()
    application_id = re.search(r"/antrag/([0-9a-f]{32})", link)
    assert application_id
    with db.session_scope() as session:
        application = session.get(Application, application_id.group(1))
        assert application is not None
        assert application.idempotency_key
        return application.idempotency_key


# --- the journey ---------------------------------------------------------------------


def test_a_citizen_applies_for_a_family_and_the_api_shape_is_stored(citizen: Citizen) -> None:
    application = case_application("case-011")
    citizen.fill(application, email="familie@example.org")
    check = citizen.client.get("/anmeldung/pruefen")
    assert check.status_code == 200
    for person in application["persons"]:
        assert person["surname"] in check.text
        assert german(person["birth_date"]) in check.text
    response = citizen.submit()
    assert response.status_code == 303
    assert response.headers["location"] == "/anmeldung/bestaetigung"
    confirmation = citizen.client.get("/anmeldung/bestaetigung")
    reference = re.search(r'class="reference">([^<]+)<', confirmation.text)
    assert reference
    assert reference.group(1).startswith("HSP-")

    with db.session_scope() as session:
        stored = session.exec(
            select(Application).where(Application.reference == reference.group(1))
        ).one()
        data = stored.data
        assert stored.citizen_email == "familie@example.org"
        assert stored.language == "de"
        assert data["persons"] == application["persons"]
        assert data["new_address"] == application["new_address"]
        assert data["move_in_date"] == application["move_in_date"]
        # Server time of the submission, in Europe/Berlin.
        submitted = datetime.fromisoformat(data["submitted_at"])
        offset = submitted.utcoffset()
        assert offset is not None
        assert offset.total_seconds() in (3600.0, 7200.0)
        declared = sorted(d["declared_type"] for d in data["documents"])
        assert declared == ["id_card", "id_card", "landlord_confirmation"]
        assert {d.get("person") for d in data["documents"] if d["declared_type"] == "id_card"} == {
            0,
            1,
        }
        documents = applications.documents_of(session, stored)
        assert len(documents) == 3
        audit = applications.audit_of(session, stored)
        assert [(a.action, json.loads(a.details_json)["channel"]) for a in audit] == [
            ("submitted", "portal")
        ]


def test_every_step_reports_its_errors_in_the_summary(citizen: Citizen) -> None:
    empty = citizen.refused("/anmeldung/person/1", {"birth_date": "31.02.1990"})
    targets = [target for target, _ in summary(empty)]
    assert targets == [
        "surname",
        "given_names",
        "birth_date",
        "birth_place",
        "nationality",
        "id_document_type",
        "id_document_number",
    ]
    assert "<title>Fehler: " in empty.text
    assert "Das Geburtsdatum muss ein gültiges Datum sein" in empty.text
    # Every message is also beside its field, linked to it for screen readers.
    for target, message in summary(empty):
        assert f'id="{target}-error"' in empty.text
        assert message in empty.text.split('id="error-summary-title"', 1)[1]
    person = case_application("case-001")["persons"][0]
    assert citizen.person(1, person).status_code == 303

    address = citizen.refused("/anmeldung/adresse", {"postal_code": "10115", "city": "Berlin"})
    messages = dict(summary(address))
    assert set(messages) == {"street", "house_number", "postal_code", "city"}
    assert "10115" in messages["postal_code"]
    assert "Hannover" in messages["postal_code"]

    future = citizen.refused("/anmeldung/einzug", {"move_in_date": "01.01.2999"})
    assert dict(summary(future))["move_in_date"].startswith("Das Einzugsdatum darf nicht")
    residence = citizen.refused("/anmeldung/wohnungsart", {})
    assert [t for t, _ in summary(residence)] == ["residence_type"]
    previous = citizen.refused("/anmeldung/bisherige-adresse", {"postal_code": "38100"})
    assert [t for t, _ in summary(previous)] == ["street", "city"]
    email = citizen.refused("/anmeldung/kontakt", {"email": "not an address"})
    assert [t for t, _ in summary(email)] == ["email"]
    documents = citizen.refused("/anmeldung/dokumente", {"action": "continue"})
    assert [t for t, _ in summary(documents)] == ["identity-0", "landlord_confirmation"]


def test_english_pages_and_messages(citizen: Citizen) -> None:
    page = citizen.client.get("/anmeldung/person/1?lang=en")
    assert '<html lang="en">' in page.text
    assert "Details of person 1" in page.text
    # The language choice is kept across the journey (cookie), also in error messages.
    errors = citizen.refused("/anmeldung/person/1", {})
    assert ("surname", "Enter the surname") in summary(errors)
    assert "<title>Error: " in errors.text


def test_german_dates_are_converted_and_shown_back(citizen: Citizen) -> None:
    person = dict(case_application("case-001")["persons"][0])
    assert citizen.person(1, person).status_code == 303
    assert citizen.post("/anmeldung/einzug", {"move_in_date": "6.9.2026"}).status_code == 303
    session_page = citizen.client.get("/anmeldung/einzug")
    assert 'value="06.09.2026"' in session_page.text
    again = citizen.client.get("/anmeldung/person/1")
    assert f'value="{german(person["birth_date"])}"' in again.text


def test_the_draft_survives_reloads_and_the_back_button(citizen: Citizen) -> None:
    application = case_application("case-001")
    citizen.fill(application)
    # Going back to any page shows what was typed; nothing is lost or resubmitted.
    for path in ("/anmeldung/kontakt", "/anmeldung/dokumente", "/anmeldung/adresse"):
        page = citizen.client.get(path)
        assert page.status_code == 200
    assert application["new_address"]["street"] in citizen.client.get("/anmeldung/adresse").text
    assert "personalausweis_1.pdf" in citizen.client.get("/anmeldung/dokumente").text
    # A change from the check page returns to the check page.
    changed = citizen.post("/anmeldung/kontakt?aendern=1", {"email": "neu@example.org"})
    assert changed.headers["location"] == "/anmeldung/pruefen"
    assert "neu@example.org" in citizen.client.get("/anmeldung/pruefen").text
    # A new browser (another session) does not see the draft.
    stranger = TestClient(citizen.client.app)
    assert stranger.get("/anmeldung/adresse", follow_redirects=False).status_code == 303


def test_incomplete_drafts_go_to_the_first_open_step(citizen: Citizen) -> None:
    first = citizen.client.get("/anmeldung/pruefen", follow_redirects=False)
    assert first.headers["location"] == "/anmeldung/person/1"
    citizen.person(1, case_application("case-001")["persons"][0])
    second = citizen.client.get("/anmeldung/pruefen", follow_redirects=False)
    assert second.headers["location"] == "/anmeldung/personen"


def test_removing_a_person_removes_their_uploads(citizen: Citizen) -> None:
    application = case_application("case-011")
    citizen.fill(application)
    removed = citizen.post("/anmeldung/person/2/entfernen")
    assert removed.headers["location"] == "/anmeldung/personen"
    documents = citizen.client.get("/anmeldung/dokumente")
    assert application["persons"][1]["given_names"] not in documents.text
    check = citizen.client.get("/anmeldung/pruefen", follow_redirects=False)
    assert check.status_code == 200


# --- double submit ---------------------------------------------------------------------


def test_a_double_submit_creates_one_application(citizen: Citizen) -> None:
    citizen.fill(case_application("case-003"))
    token = citizen.token()
    first = citizen.client.post(
        "/anmeldung/pruefen",
        data={"csrf_token": token, "declaration": "yes"},
        follow_redirects=False,
    )
    second = citizen.client.post(
        "/anmeldung/pruefen",
        data={"csrf_token": token, "declaration": "yes"},
        follow_redirects=False,
    )
    assert first.headers["location"] == second.headers["location"] == "/anmeldung/bestaetigung"
    assert len(applications_with_key(draft_id(citizen))) == 1


def test_two_racing_submits_of_one_draft_create_one_application(app: Any) -> None:
    first = Citizen(TestClient(app))
    first.fill(case_application("case-009"))
    token = first.token()
    second = TestClient(app, cookies=dict(first.client.cookies))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def send(client: TestClient) -> None:
        barrier.wait()
        response = client.post(
            "/anmeldung/pruefen",
            data={"csrf_token": token, "declaration": "yes"},
            follow_redirects=False,
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in (first.client, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [303, 303]
    # Both requests end on the confirmation of the same, single application.
    assert len(applications_with_key(draft_id(first))) == 1
    assert Citizen(second).secret_link() == first.secret_link()


def test_after_submitting_the_journey_shows_the_confirmation(citizen: Citizen) -> None:
    citizen.fill(case_application("case-001"))
    citizen.submit()
    for path in ("/anmeldung/pruefen", "/anmeldung/adresse", "/anmeldung/person/1"):
        back = citizen.client.get(path, follow_redirects=False)
        assert back.headers["location"] == "/anmeldung/bestaetigung"
    again = citizen.submit()
    assert again.headers["location"] == "/anmeldung/bestaetigung"
    fresh = citizen.post("/anmeldung/neu")
    assert fresh.headers["location"] == "/anmeldung/person/1"
    assert citizen.client.get("/anmeldung/person/1").status_code == 200


# --- uploads ---------------------------------------------------------------------------


def _start_documents(citizen: Citizen) -> None:
    citizen.person(1, case_application("case-001")["persons"][0])


@pytest.mark.parametrize(
    "name",
    sorted(
        name
        for name, expected in json.loads((BAD / "expected.json").read_text("utf-8")).items()
        if not expected["accept"]
    ),
)
def test_a_refused_file_gets_its_specific_message(citizen: Citizen, name: str) -> None:
    _start_documents(citizen)
    content = (BAD / name).read_bytes()
    with pytest.raises(uploads.UploadRejected) as refused:
        uploads.validate_upload(content, name)
    response = citizen.refused(
        "/anmeldung/dokumente?lang=de",
        {"action": "upload"},
        files=[("landlord_confirmation", (name, content))],
    )
    message = str(escape(refused.value.message_de))
    assert ("landlord_confirmation", message) in summary(response)
    assert 'id="landlord_confirmation-error"' in response.text
    assert f'<span class="file-name">{escape(name)}</span>' not in response.text


@pytest.mark.parametrize(
    "name",
    sorted(
        name
        for name, expected in json.loads((BAD / "expected.json").read_text("utf-8")).items()
        if expected["accept"]
    ),
)
def test_a_damaged_but_accepted_file_is_kept_for_review(citizen: Citizen, name: str) -> None:
    _start_documents(citizen)
    response = citizen.post(
        "/anmeldung/dokumente",
        {"action": "upload"},
        files=[("identity-0", (name, (BAD / name).read_bytes()))],
    )
    assert response.status_code == 303
    assert name in citizen.client.get("/anmeldung/dokumente").text


def test_limits_are_stated_before_the_upload(citizen: Citizen, settings: Any) -> None:
    _start_documents(citizen)
    page = citizen.client.get("/anmeldung/dokumente").text
    megabytes = settings.max_upload_bytes // (1024 * 1024)
    assert f"höchstens {megabytes} MB und {settings.max_pages} Seiten pro Datei" in page
    assert uploads.ACCEPTED_DE in page


def test_an_upload_can_be_removed_again(citizen: Citizen) -> None:
    _start_documents(citizen)
    path = CASES / "case-001" / "documents" / "wohnungsgeberbestaetigung.pdf"
    citizen.post(
        "/anmeldung/dokumente",
        {"action": "upload"},
        files=[("landlord_confirmation", (path.name, path.read_bytes()))],
    )
    page = citizen.client.get("/anmeldung/dokumente").text
    key = re.search(r'name="remove" value="([0-9a-f]+)"', page)
    assert key
    citizen.post("/anmeldung/dokumente", {"remove": key.group(1)})
    assert path.name not in citizen.client.get("/anmeldung/dokumente").text


# --- status page -----------------------------------------------------------------------


def _submitted(citizen: Citizen, case: str = "case-001") -> str:
    citizen.fill(case_application(case))
    assert citizen.submit().status_code == 303
    return citizen.secret_link()


def test_the_secret_link_opens_the_status_page_once_then_the_clean_url(app: Any) -> None:
    citizen = Citizen(TestClient(app))
    link = _submitted(citizen)
    path = link.split("testserver", 1)[1]
    application_id = path.split("/")[2].split("?")[0]
    own = citizen.client.get(f"/antrag/{application_id}")
    assert "Eingegangen" in own.text

    other = TestClient(app)
    locked = other.get(f"/antrag/{application_id}")
    assert locked.status_code == 200
    assert "Eingegangen" not in locked.text
    assert "Zugangscode" in locked.text
    assert other.get(f"/antrag/{application_id}/status.json").status_code == 404
    assert other.get(f"/antrag/{application_id}?token=wrong").status_code == 404
    opened = other.get(path, follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/antrag/{application_id}"
    assert opened.headers["referrer-policy"] == "no-referrer"
    page = other.get(f"/antrag/{application_id}")
    assert "Eingegangen" in page.text
    assert "token=" not in page.text  # the page does not repeat the secret
    status = other.get(f"/antrag/{application_id}/status.json").json()
    assert status["status"] == "submitted"
    assert not status["final"]


def test_the_access_code_form_opens_the_status_page(app: Any) -> None:
    citizen = Citizen(TestClient(app))
    link = _submitted(citizen)
    application_id = link.split("/antrag/")[1].split("?")[0]
    other = Citizen(TestClient(app))
    wrong = other.refused(
        f"/antrag/{application_id}/zugang", {"code": "nope"}, page=f"/antrag/{application_id}"
    )
    assert [t for t, _ in summary(wrong)] == ["code"]
    right = other.post(f"/antrag/{application_id}/zugang", {"code": link})
    assert right.headers["location"] == f"/antrag/{application_id}"
    assert "Eingegangen" in other.client.get(f"/antrag/{application_id}").text


def test_unknown_cases_look_like_missing_ones(citizen: Citizen) -> None:
    assert citizen.client.get("/antrag/not-an-id").status_code == 404
    unknown = citizen.client.get("/antrag/" + "0" * 32)
    assert unknown.status_code == 200
    assert "Zugangscode" in unknown.text


def _asked_for_a_document(citizen: Citizen) -> str:
    """A case submitted by ``citizen`` in which a clerk asks for a document; its id."""
    link = _submitted(citizen)
    application_id = link.split("/antrag/")[1].split("?")[0]
    with db.session_scope() as session:
        application = session.get(Application, application_id)
        assert application is not None
        applications.record(
            session, application, "queued_for_review", "system", to_status=Status.REVIEW
        )
        applications.record(
            session,
            application,
            "document_requested",
            "clerk.meyer",
            details={
                "message": "Bitte laden Sie die Rückseite Ihres Ausweises hoch.",
                "slot": "identity",
                "person": 0,
            },
        )
    return application_id


def test_a_requested_document_is_handed_in_on_the_status_page(app: Any) -> None:
    citizen = Citizen(TestClient(app))
    application_id = _asked_for_a_document(citizen)
    page = citizen.client.get(f"/antrag/{application_id}")
    assert "Bitte laden Sie die Rückseite Ihres Ausweises hoch." in page.text
    assert f'action="/antrag/{application_id}/nachreichen"' in page.text
    assert "In Bearbeitung bei einer Sachbearbeiterin / einem Sachbearbeiter" in page.text
    before = citizen.client.get(f"/antrag/{application_id}/status.json").json()["fingerprint"]

    refused = citizen.refused(
        f"/antrag/{application_id}/nachreichen",
        files=[("document", ("program.exe.pdf", (BAD / "program.exe.pdf").read_bytes()))],
        page=f"/antrag/{application_id}",
    )
    assert "ein Programm (Windows-EXE)" in dict(summary(refused))["document"]

    back = CASES / "case-019" / "documents"
    upload = sorted(back.iterdir())[0]
    handed_in = citizen.post(
        f"/antrag/{application_id}/nachreichen",
        files=[("document", (upload.name, upload.read_bytes()))],
    )
    assert handed_in.headers["location"] == f"/antrag/{application_id}"
    after = citizen.client.get(f"/antrag/{application_id}")
    assert "Vielen Dank. Wir haben Ihr Dokument erhalten" in after.text
    assert f"Dokument nachgereicht: {upload.name}" in after.text
    assert f'action="/antrag/{application_id}/nachreichen"' not in after.text
    assert (
        citizen.client.get(f"/antrag/{application_id}/status.json").json()["fingerprint"] != before
    )
    with db.session_scope() as session:
        documents = session.exec(
            select(Document).where(Document.application_id == application_id)
        ).all()
        added = [d for d in documents if d.file.startswith("nachreichung/")]
        assert len(added) == 1
        assert added[0].declared_type == "id_card"
        assert added[0].person_index == 0
        assert added[0].source == "upload"
        audit = session.exec(
            select(AuditEntry).where(
                AuditEntry.application_id == application_id,
                AuditEntry.action == "document_added",
            )
        ).one()
        assert json.loads(audit.details_json)["file"] == added[0].file
        application = session.get(Application, application_id)
        assert application is not None
        assert added[0].file in {d["file"] for d in application.data["documents"]}


def test_the_letter_of_a_completed_case_is_offered(app: Any) -> None:
    from intake.applications import processing

    citizen = Citizen(TestClient(app))
    link = _submitted(citizen)
    application_id = link.split("/antrag/")[1].split("?")[0]
    assert citizen.client.get(f"/antrag/{application_id}/schreiben.pdf").status_code == 404
    with db.session_scope() as session:
        application = session.get(Application, application_id)
        assert application is not None
        processing.mark_decided(session, application, Status.APPROVED, "clerk.meyer")
        processing.finish(session, application)
    page = citizen.client.get(f"/antrag/{application_id}")
    assert "Abgeschlossen" in page.text
    assert "Meldebestätigung herunterladen" in page.text
    status = citizen.client.get(f"/antrag/{application_id}/status.json").json()
    assert status["final"] is True
    letter = citizen.client.get(f"/antrag/{application_id}/schreiben.pdf")
    assert letter.status_code == 200
    assert letter.content.startswith(b"%PDF")
    assert TestClient(app).get(f"/antrag/{application_id}/schreiben.pdf").status_code == 404


# --- security --------------------------------------------------------------------------


def _session_data(citizen: Citizen) -> dict[str, Any]:
    """What the server keeps for this browser (its draft, its cases, its messages)."""
    return sessions.load(citizen.client.cookies.get(sessions.COOKIE)).data


def _case_rows(application_id: str) -> tuple[Any, ...]:
    with db.session_scope() as session:
        application = session.get(Application, application_id)
        assert application is not None
        documents = session.exec(
            select(Document.file).where(Document.application_id == application_id)
        ).all()
        audit = session.exec(
            select(AuditEntry.action).where(AuditEntry.application_id == application_id)
        ).all()
        return application.status, application.version, sorted(documents), sorted(audit)


def _application_count() -> int:
    with db.session_scope() as session:
        return len(session.exec(select(Application.id)).all())


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(
    app: Any, settings: Any
) -> None:
    """Each form is posted with everything it needs except the token: refused, and neither
    the draft, nor the cases, nor the stored files change."""
    asked = Citizen(TestClient(app))
    application_id = _asked_for_a_document(asked)
    drafting = Citizen(TestClient(app))
    drafting.fill(case_application("case-038"))  # complete: one POST away from a case
    other = case_application("case-001")
    person = dict(other["persons"][0], birth_date=german(other["persons"][0]["birth_date"]))
    upload = b"%PDF-1.4\n% forged " + os.urandom(16) + b"\n%%EOF\n"
    stored = portal.stored_file(hashlib.sha256(upload).hexdigest(), settings)
    draft_before, cases_before = _session_data(drafting), _session_data(asked)
    case_before, count_before = _case_rows(application_id), _application_count()
    forged: list[tuple[Citizen, str, dict[str, Any], list[Any]]] = [
        (drafting, "/anmeldung/person/1", person, []),
        (drafting, "/anmeldung/personen", {"more_persons": "yes"}, []),
        (drafting, "/anmeldung/adresse", {k: v or "" for k, v in other["new_address"].items()}, []),
        (drafting, "/anmeldung/einzug", {"move_in_date": german(other["move_in_date"])}, []),
        (drafting, "/anmeldung/kontakt", {"email": "fremd@example.org"}, []),
        (
            drafting,
            "/anmeldung/dokumente",
            {"action": "upload"},
            [("landlord_confirmation", ("fremd.pdf", upload))],
        ),
        (drafting, "/anmeldung/pruefen", {"declaration": "yes"}, []),
        (drafting, "/anmeldung/neu", {}, []),
        (asked, f"/antrag/{application_id}/nachreichen", {}, [("document", ("b.pdf", upload))]),
    ]
    for citizen, path, data, files in forged:
        response = citizen.client.post(path, data=data, files=files or None)
        assert response.status_code == 403, path
        wrong = citizen.client.post(
            path, data={**data, "csrf_token": "forged"}, files=files or None
        )
        assert wrong.status_code == 403, path
    assert _session_data(drafting) == draft_before
    assert _session_data(asked) == cases_before
    assert _case_rows(application_id) == case_before
    assert _application_count() == count_before
    assert not stored.exists()
    # The same citizen with the token still gets through: the refusal was the token's.
    assert drafting.submit().status_code == 303
    assert _application_count() == count_before + 1


def test_session_cookie_flags_and_security_headers(app: Any) -> None:
    plain = TestClient(app).get("/anmeldung")
    cookie = plain.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie
    assert plain.headers["x-content-type-options"] == "nosniff"
    csp = plain.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    secure = TestClient(app, base_url="https://testserver").get("/anmeldung")
    assert "secure" in secure.headers["set-cookie"].lower()
    for html in (plain.text, TestClient(app).get("/").text):
        assert "<script>" not in html
        assert "style=" not in html
        assert "onclick" not in html


def test_submissions_are_rate_limited_per_client(app: Any, settings: Any) -> None:
    limit = settings.submissions_per_minute
    citizen = Citizen(TestClient(app, client=("198.51.100.7", 4711)))
    citizen.fill(case_application("case-001"))
    token = citizen.token()
    for _ in range(limit):
        portal.submissions.hit("198.51.100.7", limit)
    limited = citizen.client.post(
        "/anmeldung/pruefen", data={"csrf_token": token, "declaration": "yes"}
    )
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "Zu viele Versuche" in limited.text
    english = citizen.client.post(
        "/anmeldung/pruefen?lang=en", data={"csrf_token": token, "declaration": "yes"}
    )
    assert english.status_code == 429
    assert "Too many attempts" in english.text
    # Another client is not affected.
    other = Citizen(TestClient(app, client=("198.51.100.8", 4711)))
    other.fill(case_application("case-001"))
    assert other.submit().status_code == 303


def test_the_sliding_window_forgets_old_events() -> None:
    window = portal.SlidingWindow(window=60)
    assert [window.hit("a", 2, now=t) for t in (0, 1)] == [0.0, 0.0]
    assert window.hit("a", 2, now=2) == pytest.approx(58)
    assert window.hit("b", 2, now=2) == 0.0
    assert window.hit("a", 2, now=60.5) == 0.0


def _draft_for(case: str, settings: Any) -> dict[str, Any]:
    """A complete draft built with the portal's own functions (no HTTP)."""
    application = case_application(case)
    draft = portal.new_draft()
    draft.update(
        persons=application["persons"],
        more_persons="no",
        new_address=application["new_address"],
        move_in_date=application["move_in_date"],
        residence_type=application["residence_type"],
        previous_address=application.get("previous_address"),
        previous_answered=True,
        contact_answered=True,
    )
    for document in application["documents"]:
        path = CASES / case / document["file"]
        slot = "landlord_confirmation" if "landlord" in document["declared_type"] else "identity"
        person = None if slot == "landlord_confirmation" else 0
        portal.add_upload(draft, slot, person, path.name, path.read_bytes(), settings)
    assert portal.first_open_step(draft) is None
    return draft


def test_the_loser_of_a_submit_race_finds_the_winners_application(
    settings: Any, migrated_db: str
) -> None:
    from sqlmodel import Session

    draft = _draft_for("case-024", settings)
    engine = db.get_engine()
    outcome: dict[str, Any] = {}
    with Session(engine) as winner_session:
        winner = portal.submit_draft(winner_session, draft, "de", settings)  # not committed
        winner_id, winner_token = winner.application.id, winner.access_token

        def loser() -> None:
            try:
                with Session(engine) as session:
                    earlier = portal.submit_draft(session, draft, "de", settings)
                    session.commit()
                    outcome["earlier"] = (earlier.application.id, earlier.access_token)
                    outcome["created"] = earlier.created
            except BaseException as exc:  # reported below, not lost in the thread
                outcome["error"] = exc

        thread = threading.Thread(target=loser)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the loser must wait for the winner's transaction"
        winner_session.commit()
        thread.join(timeout=30)
    assert "error" not in outcome, outcome
    assert outcome["earlier"] == (winner_id, winner_token)
    assert winner_token == draft["token"]
    assert outcome["created"] is False
    assert [a.id for a in applications_with_key(str(draft["id"]))] == [winner_id]


def test_uploads_of_abandoned_drafts_are_purged(app: Any, settings: Any) -> None:
    import hashlib
    import os
    import time
    from datetime import timedelta

    # An abandoned draft: its upload is stored, but nothing refers to it any more.
    abandoned = portal.new_draft()
    unique = b"%PDF-1.4\n% abandoned draft " + os.urandom(16) + b"\n%%EOF\n"
    entry = portal.add_upload(abandoned, "identity", 0, "alt.pdf", unique, settings)
    orphan = portal.stored_file(entry["sha256"], settings)
    # A live draft in a browser session, and a submitted case.
    live = Citizen(TestClient(app))
    _start_documents(live)
    live_content = b"%PDF-1.4\n% live draft " + os.urandom(16) + b"\n%%EOF\n"
    live.post(
        "/anmeldung/dokumente",
        {"action": "upload"},
        files=[("landlord_confirmation", ("live.pdf", live_content))],
    )
    submitted = Citizen(TestClient(app))
    _submitted(submitted, "case-038")
    old = time.time() - 10 * 24 * 3600
    stored = list(settings.documents_dir.glob("??/??/*"))
    for path in stored:
        os.utime(path, (old, old))
    with db.session_scope() as session:
        deleted = portal.purge_abandoned_uploads(session, timedelta(days=3), settings)
    assert deleted >= 1
    assert not orphan.exists()
    with db.session_scope() as session:
        for document in session.exec(select(Document).where(col(Document.purged_at).is_(None))):
            assert portal.stored_file(document.sha256, settings).exists()
    assert "live.pdf" in live.client.get("/anmeldung/dokumente").text
    live_sha = hashlib.sha256(live_content).hexdigest()
    assert portal.stored_file(live_sha, settings).exists()
    # Young files are kept whatever refers to them.
    fresh = portal.add_upload(portal.new_draft(), "identity", 0, "neu.pdf", unique + b" ", settings)
    with db.session_scope() as session:
        portal.purge_abandoned_uploads(session, timedelta(days=3), settings)
    assert portal.stored_file(fresh["sha256"], settings).exists()


def test_the_service_page_offers_to_continue_or_discard_a_draft(citizen: Citizen) -> None:
    assert "Jetzt starten" in citizen.client.get("/anmeldung").text
    citizen.person(1, case_application("case-001")["persons"][0])
    again = citizen.client.get("/anmeldung").text
    assert "Antrag fortsetzen" in again
    assert 'href="/anmeldung/personen"' in again
    assert citizen.post("/anmeldung/neu").headers["location"] == "/anmeldung/person/1"
    assert "Jetzt starten" in citizen.client.get("/anmeldung").text


def test_the_start_page_lists_the_catalogue_in_both_languages(app: Any) -> None:
    client = TestClient(app)
    german = client.get("/?lang=de").text
    english = client.get("/?lang=en").text
    for service in views.catalogue():
        assert str(escape(service["de"]["name"])) in german
        assert str(escape(service["en"]["name"])) in english
        assert str(escape(service["de"]["fee"])) in german
    for page in (german, english):
        assert 'href="/anmeldung"' in page
        assert 'href="/video/termin"' in page
        assert 'href="/tutorials"' in page


def test_after_submitting_the_service_page_starts_a_new_application(citizen: Citizen) -> None:
    citizen.fill(case_application("case-001"))
    citizen.submit()
    page = citizen.client.get("/anmeldung").text
    assert 'action="/anmeldung/neu"' in page
    started = citizen.post("/anmeldung/neu")
    assert started.headers["location"] == "/anmeldung/person/1"
    assert citizen.client.get("/anmeldung/person/1", follow_redirects=False).status_code == 200


def test_the_start_page_links_the_status_of_the_last_application(citizen: Citizen) -> None:
    link = _submitted(citizen)
    application_id = link.split("/antrag/")[1].split("?")[0]
    assert f'href="/antrag/{application_id}"' in citizen.client.get("/").text
