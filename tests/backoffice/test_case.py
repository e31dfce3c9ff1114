"""The case view and a clerk's work on a case made from the dev corpus (case-007: the
move-in date on the form differs from the landlord confirmation)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select

from backoffice.models import DocumentRequest
from intake.applications.models import Application, AuditEntry, Document
from servicepoint import db, events
from servicepoint.settings import get_settings
from tests.backoffice.conftest import Case, Staff

pytestmark = pytest.mark.slow  # the corpus case is read by the real reader once


def audit(case_id: str, action: str) -> list[AuditEntry]:
    with db.session_scope() as session:
        rows = session.exec(
            select(AuditEntry).where(
                AuditEntry.application_id == case_id, AuditEntry.action == action
            )
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def landlord_document(case_id: str) -> Document:
    with db.session_scope() as session:
        document = session.exec(
            select(Document).where(
                Document.application_id == case_id,
                Document.declared_type == "landlord_confirmation",
            )
        ).one()
        session.expunge(document)
        return document


def test_case_view_draws_the_field_boxes_and_explains_the_reason(
    staff: Callable[..., Staff], review_case: Callable[..., Case]
) -> None:
    case = review_case()
    clerk = staff()
    page = clerk.get(f"/backoffice/vorgaenge/{case.id}")
    assert page.status_code == 200
    html = page.text
    # The reason in plain German, with the finding's own words.
    assert "Das Einzugsdatum im Antrag weicht von der Wohnungsgeberbestätigung ab." in html
    assert "2026-10-30" in html
    assert "2026-10-22" in html
    # The differing field is drawn on the landlord confirmation's page, marked as a problem.
    box = re.search(
        r'<rect class="field-box field-box-problem" data-field="move_in_date"[^>]*>', html
    )
    assert box, "the move-in date is not highlighted"
    assert "weicht ab" in html  # marked in words, not by colour alone
    assert f"/runs?tag={case.reference}" in html
    assert f"/backoffice/video/neu?application={case.id}" in html
    # The uploads as the citizen sent them, for what the reading missed.
    original = re.search(r'href="(/backoffice/vorgaenge/[^"]+/original)"', html)
    assert original
    upload = clerk.get(original.group(1))
    assert upload.status_code == 200
    assert upload.headers["content-type"] in ("application/pdf", "image/jpeg", "image/png")
    # Every page image answers as PNG with the page's proportions.
    for url, width, height in re.findall(
        r'<image href="([^"]+)" x="0" y="0" width="(\d+)" height="(\d+)"', html
    ):
        image = clerk.get(url)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        picture = Image.open(io.BytesIO(image.content))
        assert abs(picture.width / picture.height - int(width) / int(height)) < 0.01


def test_clerk_claims_corrects_and_approves(
    app: FastAPI, staff: Callable[..., Staff], review_case: Callable[..., Case]
) -> None:
    case = review_case()
    clerk = staff()
    assert (
        clerk.post(
            f"/backoffice/vorgaenge/{case.id}/uebernehmen", {"version": case.version()}
        ).status_code
        == 303
    )
    # The citizen typed the wrong move-in date: the clerk corrects the form value.
    response = clerk.post(
        f"/backoffice/vorgaenge/{case.id}/korrektur",
        {
            "version": case.version(),
            "target": "form:move_in_date",
            "value": "22.10.2026",
            "note": "Tippfehler im Antrag, laut Wohnungsgeberbestätigung",
            "anchor": "feld-move",
        },
    )
    assert response.status_code == 303, response.text
    corrected = audit(case.id, "value_corrected")
    assert len(corrected) == 1
    details = json.loads(corrected[0].details_json)
    assert details == {
        "target": "form",
        "field": "move_in_date",
        "before": "2026-10-30",
        "after": "2026-10-22",
    }
    assert corrected[0].actor == clerk.username
    assert case.load().data["move_in_date"] == "2026-10-22"
    page = clerk.get(f"/backoffice/vorgaenge/{case.id}").text
    assert "Mit den korrigierten Werten finden die Prüfregeln nichts mehr." in page
    # Approving needs no reason once the rules find nothing any more.
    response = clerk.post(
        f"/backoffice/vorgaenge/{case.id}/entscheidung",
        {"version": case.version(), "outcome": "approved", "reason": ""},
    )
    assert response.status_code == 303, response.text
    decided = case.load()
    assert (decided.status, decided.decided_by, decided.claimed_by) == (
        "approved",
        clerk.username,
        None,
    )
    with db.session_scope() as session:
        outbox = session.exec(
            select(events.OutboxEvent).where(
                events.OutboxEvent.resource_id == f"servicepoint.application.{case.id}",
                events.OutboxEvent.event == events.APPLICATION_DECIDED,
            )
        ).all()
        assert len(outbox) == 1
    # The citizen sees the outcome with the case's access token.
    status = TestClient(app).get(
        f"/api/v1/applications/{case.id}", headers={"Authorization": f"Bearer {case.access_token}"}
    )
    assert status.json()["status"] == "approved"
    # The audit trail shows who changed what, before and after.
    trail = clerk.get(f"/backoffice/vorgaenge/{case.id}/protokoll").text
    assert "Wert korrigiert" in trail
    assert "2026-10-30" in trail
    assert "2026-10-22" in trail
    assert clerk.username in trail


def test_a_document_value_correction_is_what_the_citizen_sees(
    app: FastAPI, staff: Callable[..., Staff], review_case: Callable[..., Case]
) -> None:
    case = review_case()
    clerk = staff()
    clerk.post(f"/backoffice/vorgaenge/{case.id}/uebernehmen", {"version": case.version()})
    document = landlord_document(case.id)
    response = clerk.post(
        f"/backoffice/vorgaenge/{case.id}/korrektur",
        {
            "version": case.version(),
            "target": "document:move_in_date",
            "document_id": document.id,
            "value": "2026-10-30",
            "anchor": f"feld-{document.id}-move_in_date",
        },
    )
    assert response.status_code == 303, response.text
    reading = json.loads(landlord_document(case.id).reading_json or "{}")
    assert reading["fields"]["move_in_date"]["value"] == "2026-10-30"
    assert reading["fields"]["move_in_date"]["source"] == "clerk"
    assert reading["fields"]["move_in_date"]["box"]  # still drawn where it was read
    view = (
        TestClient(app)
        .get(
            f"/api/v1/applications/{case.id}",
            headers={"Authorization": f"Bearer {case.access_token}"},
        )
        .json()
    )
    landlord = view["documents"]["documents/wohnungsgeberbestaetigung.pdf"]
    assert landlord["fields"]["move_in_date"] == "2026-10-30"
    # An invalid date is refused with the clerk's input kept in the form.
    refused = clerk.post(
        f"/backoffice/vorgaenge/{case.id}/korrektur",
        {
            "version": case.version(),
            "target": "document:move_in_date",
            "document_id": document.id,
            "value": "31.02.2026",
            "anchor": f"feld-{document.id}-move_in_date",
        },
    )
    assert refused.status_code == 422
    assert "gültiges Datum" in refused.text
    assert 'value="31.02.2026"' in refused.text


def test_a_stale_form_is_explained_and_keeps_what_was_typed(
    staff: Callable[..., Staff], review_case: Callable[..., Case]
) -> None:
    case = review_case()
    clerk = staff()
    clerk.post(f"/backoffice/vorgaenge/{case.id}/uebernehmen", {"version": case.version()})
    seen = case.version()
    clerk.post(
        f"/backoffice/vorgaenge/{case.id}/nachforderung",
        {"version": seen, "slot": "landlord_confirmation", "message": "Bitte die zweite Seite."},
    )
    # The decision form was loaded before the request was sent: its version is stale.
    response = clerk.post(
        f"/backoffice/vorgaenge/{case.id}/entscheidung",
        {"version": seen, "outcome": "rejected", "reason": "Einzugsdatum widersprüchlich"},
    )
    assert response.status_code == 409
    assert "inzwischen geändert" in response.text
    assert "Einzugsdatum widersprüchlich</textarea>" in response.text
    assert re.search(r'value="rejected"[^>]*checked', response.text)
    assert case.load().status == "review"


def test_a_second_clerk_cannot_change_a_claimed_case(
    staff: Callable[..., Staff], review_case: Callable[..., Case]
) -> None:
    case = review_case()
    first, second = staff(), staff()
    first.post(f"/backoffice/vorgaenge/{case.id}/uebernehmen", {"version": case.version()})
    version = case.version()
    for action, data in (
        ("uebernehmen", {}),
        ("entscheidung", {"outcome": "approved", "reason": "x"}),
        ("korrektur", {"target": "form:move_in_date", "value": "2026-10-22", "anchor": "a"}),
        ("nachforderung", {"slot": "identity", "message": "x"}),
    ):
        response = second.post(
            f"/backoffice/vorgaenge/{case.id}/{action}", {"version": version, **data}
        )
        assert response.status_code == 409, action
        assert "bereits von" in response.text, action
    assert case.version() == version
    # Releasing someone else's claim is for administrators only.
    assert second.post(f"/backoffice/vorgaenge/{case.id}/freigeben").status_code == 403
    admin = staff("admin")
    assert admin.post(f"/backoffice/vorgaenge/{case.id}/freigeben").status_code == 303
    assert case.load().claimed_by is None
    released = audit(case.id, "released")
    assert json.loads(released[-1].details_json) == {"holder": first.username}


def test_decisions_need_reasons_where_the_rules_still_object(
    staff: Callable[..., Staff], review_case: Callable[..., Case]
) -> None:
    case = review_case()
    clerk = staff()
    clerk.post(f"/backoffice/vorgaenge/{case.id}/uebernehmen", {"version": case.version()})
    for outcome in ("approved", "rejected"):
        response = clerk.post(
            f"/backoffice/vorgaenge/{case.id}/entscheidung",
            {"version": case.version(), "outcome": outcome, "reason": " "},
        )
        assert response.status_code == 422, outcome
        assert "Bitte begründen Sie die Entscheidung" in response.text
        assert 'href="#decision-reason"' in response.text
    response = clerk.post(
        f"/backoffice/vorgaenge/{case.id}/entscheidung",
        {"version": case.version(), "outcome": "rejected", "reason": "Einzug nicht belegt."},
    )
    assert response.status_code == 303
    decided = case.load()
    assert (decided.status, decided.outcome_reason) == ("rejected", "Einzug nicht belegt.")


def test_asking_the_citizen_for_a_document(
    staff: Callable[..., Staff], review_case: Callable[..., Case]
) -> None:
    case = review_case(email="anna.request@example.org")
    clerk = staff()
    clerk.post(f"/backoffice/vorgaenge/{case.id}/uebernehmen", {"version": case.version()})
    empty = clerk.post(
        f"/backoffice/vorgaenge/{case.id}/nachforderung",
        {"version": case.version(), "slot": "identity", "message": ""},
    )
    assert empty.status_code == 422
    assert 'href="#request-message"' in empty.text
    message = "Bitte laden Sie die Rückseite Ihres Personalausweises hoch."
    response = clerk.post(
        f"/backoffice/vorgaenge/{case.id}/nachforderung",
        {"version": case.version(), "slot": "identity", "message": message},
    )
    assert response.status_code == 303
    entry = audit(case.id, "document_requested")[0]
    assert json.loads(entry.details_json) == {"message": message, "slot": "identity"}
    mails = [
        p.read_text(encoding="utf-8")
        for p in get_settings().mail_dir.glob("*")
        if "anna.request@example.org" in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert len(mails) == 1
    assert case.reference in mails[0]
    assert case.load().status == "review"  # the API status stays a contract value
    queue = clerk.get("/backoffice/vorgaenge?waiting=yes&claim=mine").text
    assert f'id="case-{case.id}"' in queue
    page = clerk.get(f"/backoffice/vorgaenge/{case.id}").text
    assert "Wartet seit" in page
    closed = clerk.post(
        f"/backoffice/vorgaenge/{case.id}/nachforderung/erledigt", {"version": case.version()}
    )
    assert closed.status_code == 303
    with db.session_scope() as session:
        request = session.exec(
            select(DocumentRequest).where(DocumentRequest.application_id == case.id)
        ).one()
        assert request.closed_by == clerk.username
    assert f'id="case-{case.id}"' not in clerk.get("/backoffice/vorgaenge?waiting=yes").text


def test_decided_cases_are_read_only(
    staff: Callable[..., Staff], seeded: Callable[..., list[str]]
) -> None:
    case_id = seeded(1, status="approved")[0]
    clerk = staff()
    page = clerk.get(f"/backoffice/vorgaenge/{case_id}").text
    assert "/uebernehmen" not in page
    refused = clerk.post(f"/backoffice/vorgaenge/{case_id}/uebernehmen", {"version": 2})
    assert refused.status_code == 409
    assert "nicht mehr in Prüfung" in refused.text
    with db.session_scope() as session:
        case = session.get(Application, case_id)
        assert case is not None
        assert case.claimed_by is None
