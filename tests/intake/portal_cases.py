"""Cases the portal tests start from, made through the portal and the database: a
submitted case, one in which a clerk asked for a document, drafts found by key."""

from __future__ import annotations

import re

from sqlmodel import select

from intake.applications import service as applications
from intake.applications.models import Application, Status
from servicepoint import db
from tests.intake.portal_helpers import Citizen, case_application


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


def start_documents(citizen: Citizen) -> None:
    citizen.person(1, case_application("case-001")["persons"][0])


def submitted_case(citizen: Citizen, case: str = "case-001") -> str:
    citizen.fill(case_application(case))
    assert citizen.submit().status_code == 303
    return citizen.secret_link()


def asked_for_a_document(citizen: Citizen) -> str:
    """A case submitted by ``citizen`` in which a clerk asks for a document; its id."""
    link = submitted_case(citizen)
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
