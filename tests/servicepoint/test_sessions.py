"""Server-side sessions and CSRF protection of HTML forms."""

from __future__ import annotations

import re

import pytest
from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.testclient import TestClient

from servicepoint.app import create_app
from servicepoint.sessions import session_of
from servicepoint.web import render


@pytest.fixture(scope="module")
def client(migrated_db: str) -> TestClient:
    app = create_app()

    @app.get("/test/form", response_class=HTMLResponse)
    def form(request: Request) -> HTMLResponse:
        response = render(request, "error.html", {"title": "t", "message": "m"})
        token = session_of(request).issue_csrf()
        response.headers["x-test-csrf"] = token
        return response

    @app.post("/test/form")
    async def post(request: Request) -> PlainTextResponse:
        data = await request.form()
        state = session_of(request)
        state["draft"] = data.get("value")
        return PlainTextResponse(f"saved {data.get('value')}")

    @app.get("/test/draft")
    def draft(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(session_of(request).get("draft")))

    return TestClient(app)


def test_a_form_post_needs_the_session_csrf_token(client: TestClient) -> None:
    page = client.get("/test/form")
    token = page.headers["x-test-csrf"]
    cookie = page.cookies.get("sp_session") or client.cookies.get("sp_session")
    assert cookie
    assert "httponly" in page.headers["set-cookie"].lower()
    assert "samesite=lax" in page.headers["set-cookie"].lower()
    before = client.get("/test/draft").text
    refused = client.post("/test/form", data={"value": "x"})
    assert refused.status_code == 403
    wrong = client.post("/test/form", data={"value": "x", "csrf_token": "forged"})
    assert wrong.status_code == 403
    header = client.post("/test/form", data={"value": "x"}, headers={"X-CSRF-Token": "forged"})
    assert header.status_code == 403
    multipart = client.post("/test/form", data={"value": "x"}, files={"upload": ("a.txt", b"x")})
    assert multipart.status_code == 403
    assert "saved" not in refused.text + wrong.text + header.text + multipart.text
    assert client.get("/test/draft").text == before  # the form's handler never ran
    ok = client.post("/test/form", data={"value": "Anmeldung", "csrf_token": token})
    assert ok.status_code == 200
    assert ok.text == "saved Anmeldung"
    # The draft is kept on the server and survives the next request (a reload).
    assert client.get("/test/draft").text == "Anmeldung"


def test_multipart_forms_carry_the_token_too(client: TestClient) -> None:
    token = client.get("/test/form").headers["x-test-csrf"]
    ok = client.post(
        "/test/form",
        data={"value": "mit Datei", "csrf_token": token},
        files={"upload": ("a.txt", b"hello")},
    )
    assert ok.status_code == 200
    assert ok.text == "saved mit Datei"


def test_another_browser_has_its_own_session(client: TestClient) -> None:
    other = TestClient(client.app)
    assert other.get("/test/draft").text == "None"
    token = other.get("/test/form").headers["x-test-csrf"]
    assert token != client.get("/test/form").headers["x-test-csrf"]
    assert re.fullmatch(r"[\w-]{40,}", token)


def test_a_refused_form_gets_a_page_in_the_citizens_language(client: TestClient) -> None:
    token = client.get("/test/form").headers["x-test-csrf"]
    kept = client.post("/test/form", data={"value": "kept", "csrf_token": token})
    assert kept.status_code == 200
    refused = client.post("/test/form?lang=en", data={"value": "x"})
    assert refused.status_code == 403
    assert "Form expired" in refused.text
    assert "<h1>" in refused.text
    german = client.post("/test/form?lang=de", data={"value": "x"})
    assert german.status_code == 403
    assert "Formular abgelaufen" in german.text
    assert client.get("/test/draft").text == "kept"


def test_an_oversized_form_body_is_refused_before_it_is_read(client: TestClient) -> None:
    from servicepoint.settings import get_settings

    settings = get_settings()
    limit = settings.max_upload_bytes * settings.max_files_per_application + 1024 * 1024
    response = client.post(
        "/test/form",
        content=b"x" * 16,
        headers={"content-length": str(limit + 1), "content-type": "application/octet-stream"},
    )
    assert response.status_code == 413
