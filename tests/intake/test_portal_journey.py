"""The citizen portal over HTTP: the journey through the form, drafts (reloads, the
back button, abandoned ones purged) and double or racing submits."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from intake.applications import service as applications
from intake.applications.models import Application, Document
from intake.portal import portal
from servicepoint import db
from tests.intake.portal_cases import (
    applications_with_key,
    draft_id,
    start_documents,
    submitted_case,
)
from tests.intake.portal_helpers import CASES, Citizen, case_application, german, summary

pytestmark = pytest.mark.usefixtures("fresh_rate_limit")


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


# --- drafts and racing submits --------------------------------------------------------


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
    import time
    from datetime import timedelta

    # An abandoned draft: its upload is stored, but nothing refers to it any more.
    abandoned = portal.new_draft()
    unique = b"%PDF-1.4\n% abandoned draft " + os.urandom(16) + b"\n%%EOF\n"
    entry = portal.add_upload(abandoned, "identity", 0, "alt.pdf", unique, settings)
    orphan = portal.stored_file(entry["sha256"], settings)
    # A live draft in a browser session, and a submitted case.
    live = Citizen(TestClient(app))
    start_documents(live)
    live_content = b"%PDF-1.4\n% live draft " + os.urandom(16) + b"\n%%EOF\n"
    live.post(
        "/anmeldung/dokumente",
        {"action": "upload"},
        files=[("landlord_confirmation", ("live.pdf", live_content))],
    )
    submitted = Citizen(TestClient(app))
    submitted_case(submitted, "case-038")
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
