"""The admin dashboard shows what the citizen assistant could not answer (masked)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from intake.assistant import limits
from tests.backoffice.conftest import Staff


def test_unanswered_questions_reach_the_dashboard(
    app: FastAPI, staff: Callable[..., Staff]
) -> None:
    limits.questions.reset()
    citizen = TestClient(app)
    question = "Wo melde ich meinen Kanarienvogel Nr. 4711 an? kanari@example.org"
    for _ in range(3):
        body = citizen.post("/api/v1/assistant/ask", json={"question": question}).json()
        assert body["answered"] is False
    admin = staff("admin")
    for path in ("/backoffice/verwaltung", "/backoffice/verwaltung/assistent"):
        page = admin.get(path)
        assert page.status_code == 200, path
        assert "Wo melde ich meinen Kanarienvogel Nr. # an? [E-Mail]" in page.text
        assert "4711" not in page.text
        assert "kanari@example.org" not in page.text
    row = page.text.split("Kanarienvogel", 1)[1].split("</tr>", 1)[0]
    assert "<td>3</td>" in row
    clerk = staff("clerk")
    assert clerk.get("/backoffice/verwaltung/assistent").status_code == 403
