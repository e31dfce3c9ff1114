"""The application's life through a real Prefect server and a real flow runner:
submitted event → process-application → decision → decided event → finish-application."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from intake.applications.models import Application, AuditEntry, Notification
from servicepoint import db
from servicepoint.app import create_app
from tests.conftest import SHARED_CORPUS
from tests.flows.conftest import Mailbox, Runner, flow_runs_for

pytestmark = pytest.mark.slow
CASES = SHARED_CORPUS / "anmeldung-dev"


@pytest.fixture(scope="module")
def client(migrated_db: str) -> TestClient:
    return TestClient(create_app())


def expected(case: str) -> dict[str, Any]:
    """The truth of a corpus case (its decision and reasons; the dev evaluation agrees for
    every case these tests submit)."""
    truth: dict[str, Any] = json.loads((CASES / case / "expected.json").read_text("utf-8"))
    return truth


def submit(client: TestClient, case: str, email: str | None = None) -> dict[str, Any]:
    case_dir = CASES / case
    data = json.loads((case_dir / "application.json").read_text(encoding="utf-8"))
    if email:
        data["contact"] = {"email": email}
    files = [
        ("files", (Path(d["file"]).name, (case_dir / d["file"]).read_bytes()))
        for d in data["documents"]
    ]
    response = client.post(
        "/api/v1/applications", data={"application": json.dumps(data)}, files=files
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(application_id: str, statuses: set[str], timeout: float = 240) -> Application:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session_scope() as session:
            application = session.get(Application, application_id)
            if application is not None and application.status in statuses:
                return application
        time.sleep(0.5)
    raise AssertionError(f"{application_id} did not reach {statuses} within {timeout} s")


def wait_completed(application_id: str, timeout: float = 120) -> Application:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session_scope() as session:
            application = session.get(Application, application_id)
            if application is not None and application.completed_at is not None:
                return application
        time.sleep(0.5)
    raise AssertionError(f"{application_id} was not completed within {timeout} s")


def audit_actions(application_id: str) -> list[str]:
    with db.session_scope() as session:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.application_id == application_id)
        ).all()
        return [row.action for row in rows]


def decided_by_run(application_id: str) -> str:
    with db.session_scope() as session:
        entry = session.exec(
            select(AuditEntry).where(
                AuditEntry.application_id == application_id, AuditEntry.action == "decided"
            )
        ).one()
        return str(json.loads(entry.details_json)["run"])


def test_submission_runs_through_the_event_and_completes(
    client: TestClient, runner: Runner, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp_server
    assert expected("case-001")["decision"] == "auto"
    body = submit(client, "case-001", email="lukas.doerfler@example.org")
    application = wait_for(body["id"], {"approved", "review"})
    assert (application.status, application.decision) == ("approved", "auto"), application.reasons
    assert application.reasons == []
    runs = asyncio.run(flow_runs_for(body["reference"]))
    process_runs = [r for r in runs if r.name.startswith("process-application/")]
    assert len(process_runs) >= 1
    # The run was created by the deployment's trigger (an automation), not by a direct call.
    assert process_runs[0].created_by is not None
    assert str(process_runs[0].created_by.type).upper().endswith("AUTOMATION")
    assert body["reference"] in process_runs[0].name
    done = wait_completed(body["id"])
    assert done.decided_by == "system"
    letter = db.get_settings().data_dir / "cases" / body["id"] / "approved.pdf"
    assert letter.read_bytes().startswith(b"%PDF")
    export = db.get_settings().data_dir / "exports" / f"{body['reference']}.json"
    assert json.loads(export.read_text())["reference"] == body["reference"]
    deadline = time.monotonic() + 30
    while not mailbox.to("lukas.doerfler@example.org") and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # a second e-mail would have arrived by now
    mails = mailbox.to("lukas.doerfler@example.org")
    assert len(mails) == 1
    assert body["reference"] in mails[0]["Subject"]
    actions = audit_actions(body["id"])
    assert actions[:2] == ["submitted", "processing_started"]
    assert actions.count("decided") == 1
    assert actions.count("completed") == 1
    # The decision names the flow run that took and decided the case.
    assert decided_by_run(body["id"]) in {str(r.id) for r in process_runs}


def test_clerk_decision_triggers_the_finishing_flow(
    client: TestClient, runner: Runner, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp_server
    truth = expected("case-007")
    assert (truth["decision"], truth["reasons"]) == ("review", ["MOVE_IN_DATE_MISMATCH"])
    body = submit(client, "case-007", email="review.case@example.org")
    application = wait_for(body["id"], {"approved", "review"})
    assert (application.status, application.decision) == ("review", "review")
    assert application.reasons == truth["reasons"]
    assert "decided" not in audit_actions(body["id"])  # the clerk decides, not the system
    with db.session_scope() as session:
        from servicepoint import auth

        if auth.get_user(session, "clerk-flows") is None:
            auth.create_user(session, "clerk-flows", "ein-sicheres-passwort")
    token = client.post(
        "/api/v1/auth/token", data={"username": "clerk-flows", "password": "ein-sicheres-passwort"}
    ).json()["access_token"]
    decision = client.post(
        f"/api/v1/applications/{body['id']}/decision",
        json={
            "outcome": "rejected",
            "reason": "Einzugsdatum widerspricht der Bestätigung.",
            "version": application.version,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert decision.status_code == 200, decision.text
    done = wait_completed(body["id"])
    assert done.status == "rejected"
    assert done.decided_by == "clerk-flows"
    assert audit_actions(body["id"]).count("decided") == 1
    letter = db.get_settings().data_dir / "cases" / body["id"] / "rejected.html"
    assert "Einzugsdatum widerspricht" in letter.read_text()
    deadline = time.monotonic() + 30
    while not mailbox.to("review.case@example.org") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(mailbox.to("review.case@example.org")) == 1
    with db.session_scope() as session:
        rows = session.exec(
            select(Notification).where(Notification.application_id == body["id"])
        ).all()
        assert [(r.kind, r.sent_at is not None) for r in rows] == [("outcome-rejected", True)]
    # A second decision on a decided case is a conflict, not a second letter.
    again = client.post(
        f"/api/v1/applications/{body['id']}/decision",
        json={"outcome": "approved", "reason": ""},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 409


def test_a_document_handed_in_later_is_read_by_its_own_flow(
    client: TestClient, runner: Runner
) -> None:
    from intake.applications import service
    from intake.applications.models import Document

    body = submit(client, "case-007")  # goes to review: the clerk asks for a document
    assert wait_for(body["id"], {"approved", "review"}).status == "review"
    landlord = CASES / "case-002" / "documents" / "wohnungsgeberbestaetigung.jpg"
    with db.session_scope() as session:
        application = session.get(Application, body["id"])
        assert application is not None
        document = service.add_document(
            session,
            application,
            service.IncomingFile("nachweis.jpg", landlord.read_bytes() + b"\n%handed-in\n"),
            "landlord_confirmation",
            "citizen",
        )
        document_id = document.id
    deadline = time.monotonic() + 180
    read = None
    while time.monotonic() < deadline and read is None:
        with db.session_scope() as session:
            row = session.get(Document, document_id)
            assert row is not None
            read = row.read_at and (row.doc_type, row.reading_json)
        time.sleep(0.5)
    assert read is not None, "the handed-in document was not read"
    assert read[0] == "landlord_confirmation"
    fields = json.loads(str(read[1]))["fields"]
    assert fields["postal_code"]["value"]  # extracted like any upload
    deadline = time.monotonic() + 30
    while "document_read" not in audit_actions(body["id"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert audit_actions(body["id"]).count("document_read") == 1
    runs = asyncio.run(flow_runs_for(body["reference"]))
    assert any(r.name.startswith("read-added-document/") for r in runs)
    with db.session_scope() as session:
        application = session.get(Application, body["id"])
        assert application is not None
        assert application.status == "review"
