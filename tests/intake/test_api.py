"""The applications API (CONTRACTS §2): submission, validation answers, access."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from intake.applications.models import Application, AuditEntry, Document
from servicepoint import auth, db
from servicepoint.app import create_app
from servicepoint.events import OutboxEvent
from tests.conftest import SHARED_CORPUS

CASES = SHARED_CORPUS / "anmeldung-dev"
BAD = SHARED_CORPUS / "bad-inputs-dev"


@pytest.fixture(scope="module")
def client(migrated_db: str) -> TestClient:
    return TestClient(create_app())


def multipart(
    case: str, *, replace: dict[str, Path] | None = None
) -> tuple[dict[str, str], list[Any]]:
    case_dir = CASES / case
    data = json.loads((case_dir / "application.json").read_text(encoding="utf-8"))
    files = []
    for entry in data["documents"]:
        path = (replace or {}).get(entry["file"], case_dir / entry["file"])
        files.append(("files", (Path(entry["file"]).name, path.read_bytes())))
    return {"application": json.dumps(data)}, files


def test_submission_is_accepted_and_announced_in_one_transaction(client: TestClient) -> None:
    form, files = multipart("case-001")
    response = client.post("/api/v1/applications", data=form, files=files)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "submitted"
    assert body["reference"].startswith("HSP-")
    assert len(body["access_token"]) >= 32
    with db.session_scope() as session:
        application = session.get(Application, body["id"])
        assert application is not None
        assert application.citizen_token_hash == auth.hash_token(body["access_token"])
        documents = session.exec(select(Document).where(Document.application_id == body["id"]))
        stored = list(documents)
        assert {d.file for d in stored} == {
            "documents/personalausweis_1.pdf",
            "documents/wohnungsgeberbestaetigung.pdf",
        }
        for document in stored:
            path = db.get_settings().documents_dir / document.sha256[:2] / document.sha256[2:4]
            assert (path / document.sha256).is_file()
        outbox = session.exec(
            select(OutboxEvent).where(
                OutboxEvent.resource_id == f"servicepoint.application.{body['id']}"
            )
        ).all()
        assert [row.event for row in outbox] == ["servicepoint.application.submitted"]
        audit = session.exec(
            select(AuditEntry).where(AuditEntry.application_id == body["id"])
        ).all()
        assert [(a.actor, a.action, a.to_status) for a in audit] == [
            ("citizen", "submitted", "submitted")
        ]


def test_citizen_reads_status_only_with_its_token(client: TestClient) -> None:
    form, files = multipart("case-003")
    body = client.post("/api/v1/applications", data=form, files=files).json()
    ok = client.get(
        f"/api/v1/applications/{body['id']}",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert ok.status_code == 200
    assert ok.json()["status"] == "submitted"
    assert ok.json()["reference"] == body["reference"]
    for headers in ({}, {"Authorization": "Bearer wrong-token"}):
        assert client.get(f"/api/v1/applications/{body['id']}", headers=headers).status_code == 404
    # A missing case answers exactly like a wrong token: existence is never revealed.
    missing = client.get(
        "/api/v1/applications/" + "0" * 32,
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert missing.status_code == 404


def test_clerk_token_reads_any_case(client: TestClient, db_session: Session) -> None:
    form, files = multipart("case-014")
    body = client.post("/api/v1/applications", data=form, files=files).json()
    with db.session_scope() as session:
        if auth.get_user(session, "sachbearbeiter") is None:
            auth.create_user(session, "sachbearbeiter", "geheimes-passwort")
    wrong = client.post(
        "/api/v1/auth/token", data={"username": "sachbearbeiter", "password": "falsch"}
    )
    assert wrong.status_code == 401
    token = client.post(
        "/api/v1/auth/token", data={"username": "sachbearbeiter", "password": "geheimes-passwort"}
    ).json()
    assert token["token_type"] == "bearer"
    response = client.get(
        f"/api/v1/applications/{body['id']}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert response.status_code == 200


def test_double_submit_with_the_same_key_creates_one_application(client: TestClient) -> None:
    form, files = multipart("case-009")
    headers = {"Idempotency-Key": "portal-draft-4711"}
    first = client.post("/api/v1/applications", data=form, files=files, headers=headers)
    second = client.post("/api/v1/applications", data=form, files=files, headers=headers)
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    with db.session_scope() as session:
        found = session.exec(
            select(Application).where(Application.idempotency_key == "portal-draft-4711")
        ).all()
        assert len(found) == 1


def test_invalid_json_and_missing_parts_name_each_problem(client: TestClient) -> None:
    response = client.post("/api/v1/applications", data={"application": "{not json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "application"
    form, files = multipart("case-001")
    response = client.post("/api/v1/applications", data=form, files=files[:1])
    assert response.status_code == 422
    fields = [p["field"] for p in response.json()["detail"]]
    assert "documents[1].file" in fields
    data = json.loads(form["application"])
    data["persons"][0]["birth_date"] = "11.04.1942"
    del data["move_in_date"]
    response = client.post(
        "/api/v1/applications", data={"application": json.dumps(data)}, files=files
    )
    assert response.status_code == 422
    problems = {p["field"] for p in response.json()["detail"]}
    assert any("birth_date" in f for f in problems)
    assert any("move_in_date" in f for f in problems)


@pytest.mark.parametrize(
    ("bad_file", "status"),
    [
        ("script.svg", 415),
        ("program.exe.pdf", 415),
        ("not-a-pdf.pdf", 415),
        ("empty.pdf", 422),
        ("bomb.png", 422),
    ],
)
def test_hostile_uploads_are_refused_with_a_specific_message(
    client: TestClient, bad_file: str, status: int
) -> None:
    expected = json.loads((BAD / "expected.json").read_text())
    assert expected[bad_file]["accept"] is False
    form, files = multipart(
        "case-001", replace={"documents/wohnungsgeberbestaetigung.pdf": BAD / bad_file}
    )
    files[1] = ("files", ("wohnungsgeberbestaetigung.pdf", (BAD / bad_file).read_bytes()))
    response = client.post("/api/v1/applications", data=form, files=files)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail[0]["field"] == "files[wohnungsgeberbestaetigung.pdf]"
    assert detail[0]["message_de"]
    with db.session_scope() as session:
        assert (
            session.exec(select(Document).where(Document.original_name == bad_file)).first() is None
        )


def test_too_large_upload_is_refused_while_reading(client: TestClient) -> None:
    form, files = multipart("case-001")
    limit = db.get_settings().max_upload_bytes
    files[1] = ("files", ("wohnungsgeberbestaetigung.pdf", b"%PDF-1.7\n" + b"0" * limit))
    response = client.post("/api/v1/applications", data=form, files=files)
    assert response.status_code == 413
    assert "MB" in response.json()["message"]
