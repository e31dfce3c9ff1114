"""The status page and its secret link, the access code, handing in a requested
document, the letter of a completed case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from intake.applications.models import Application, AuditEntry, Document, Status
from servicepoint import db
from tests.intake.portal_cases import asked_for_a_document, submitted_case
from tests.intake.portal_helpers import BAD, CASES, Citizen, summary

pytestmark = pytest.mark.usefixtures("fresh_rate_limit")


# --- status page -----------------------------------------------------------------------


def test_the_secret_link_opens_the_status_page_once_then_the_clean_url(app: Any) -> None:
    citizen = Citizen(TestClient(app))
    link = submitted_case(citizen)
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
    link = submitted_case(citizen)
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


def test_a_requested_document_is_handed_in_on_the_status_page(app: Any) -> None:
    citizen = Citizen(TestClient(app))
    application_id = asked_for_a_document(citizen)
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
    link = submitted_case(citizen)
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
