"""The portal's defences: CSRF tokens, cookie flags and security headers, the
submission rate limit."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from intake.applications.models import Application, AuditEntry, Document
from intake.portal import portal
from servicepoint import db, sessions
from tests.intake.portal_cases import asked_for_a_document
from tests.intake.portal_helpers import Citizen, case_application, german

pytestmark = pytest.mark.usefixtures("fresh_rate_limit")


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
    application_id = asked_for_a_document(asked)
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
