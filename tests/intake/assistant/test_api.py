"""The assistant's API and pages (CONTRACTS §7): answers with sources, honest hand-off,
hostile input, rate limit, one's own case only with reference and access code, and the
unanswered questions stored masked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from intake.applications.models import Application
from intake.assistant import limits
from intake.assistant.knowledge import DATA_DIR, load
from intake.assistant.models import UnansweredQuestion
from servicepoint import db
from servicepoint.app import create_app
from servicepoint.settings import OFFICE_TIME, reset_settings
from tests.intake.test_api import multipart

ASK = "/api/v1/assistant/ask"


@pytest.fixture(scope="module")
def client(migrated_db: str) -> TestClient:
    return TestClient(create_app())


@pytest.fixture(autouse=True)
def fresh_limit() -> Iterator[None]:
    limits.questions.reset()
    yield
    limits.questions.reset()


def test_answer_names_its_sources_and_the_fee_from_the_catalogue(client: TestClient) -> None:
    response = client.post(ASK, json={"question": "Was kostet ein Personalausweis?"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"answer", "lang", "answered", "confidence", "sources", "handoff"}
    assert body["answered"] is True
    assert body["lang"] == "de"
    assert body["handoff"] is None
    assert 0 < body["confidence"] <= 1
    assert "46,00 €" in body["answer"]
    assert body["sources"] == [
        {"title": "Personalausweis beantragen", "url": "/#service-personalausweis"}
    ]


def test_unknown_question_hands_over_to_a_person(client: TestClient) -> None:
    body = client.post(ASK, json={"question": "Wie hoch ist die Hundesteuer?"}).json()
    assert body["answered"] is False
    assert body["sources"] == []
    assert body["handoff"] == {"kind": "video", "url": "/video/termin"}
    assert "keine verlässliche Auskunft" in body["answer"]


def test_language_is_detected_and_german_only_values_are_marked(client: TestClient) -> None:
    body = client.post(ASK, json={"question": "Kimlik kartı ne kadar?"}).json()
    assert body["lang"] == "tr"
    assert body["answered"] is True
    assert "46,00 €" in body["answer"]
    assert "yalnızca Almanca" in body["answer"]
    arabic = client.post(ASK, json={"question": "هل تسجيل السكن مجاني؟"}).json()
    assert arabic["lang"] == "ar"
    chosen = client.post(ASK, json={"question": "Was kostet die Anmeldung?", "lang": "en"}).json()
    assert chosen["lang"] == "en"
    assert "Free of charge" in chosen["answer"]


def test_a_question_in_russian_is_answered_in_ukrainian_and_says_so(client: TestClient) -> None:
    body = client.post(ASK, json={"question": "Какие документы нужны для регистрации?"}).json()
    assert body["lang"] == "uk"
    assert body["answered"] is True
    assert body["answer"].startswith("Відповідь українською мовою")
    ukrainian = client.post(ASK, json={"question": "Які документи потрібні для реєстрації?"})
    assert "Відповідь українською мовою" not in ukrainian.json()["answer"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"question": ""}, None),
        ({"question": "x" * 10_000}, None),
        ({"question": 42}, None),
        ({"question": ["a"]}, None),
        ({}, None),
        ({"question": "Frage", "lang": "fr"}, None),
        ({"question": " \u0000\u0007\t\u200b "}, "empty"),
    ],
)
def test_bad_questions_are_refused_with_422(
    client: TestClient, body: dict[str, object], code: str | None
) -> None:
    response = client.post(ASK, json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["error"] == "invalid_input"
    fields = [d.get("field", "") for d in problem["detail"]]
    assert any("question" in f or "lang" in f or f == "body" for f in fields), problem
    if code:
        assert problem["detail"][0]["code"] == code


def test_not_json_is_refused_with_422(client: TestClient) -> None:
    response = client.post(
        ASK, content=b"\xff\xfe<script>", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_control_characters_and_markup_are_answered_safely(client: TestClient) -> None:
    hostile = (
        "<script>alert(1)</script>\u0000\u001b[31m Öffnungszeiten <img src=x onerror=alert(2)>"
    )
    response = client.post(ASK, json={"question": hostile})
    assert response.status_code == 200
    assert "<script>" not in response.json()["answer"]
    page = client.get("/assistent", params={"q": hostile})
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "\u0000" not in page.text
    assert "\u001b" not in page.text
    fragment = client.get("/assistent/antwort", params={"q": hostile, "prefix": '"><b>'})
    assert fragment.status_code == 200
    assert "<script>alert(1)" not in fragment.text
    assert 'id="b-answer-heading"' in fragment.text


def test_too_long_question_on_the_page_is_a_422_page(client: TestClient) -> None:
    page = client.get("/assistent", params={"q": "Anmeldung " * 200})
    assert page.status_code == 422
    assert "<title>Fehler:" in page.text
    assert "höchstens 1000 Zeichen" in page.text


def test_questions_are_rate_limited_like_submissions(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICEPOINT_ASSISTANT_QUESTIONS_PER_MINUTE", "3")
    reset_settings()
    try:
        codes = [
            client.post(ASK, json={"question": "Öffnungszeiten"}).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = client.post(ASK, json={"question": "Öffnungszeiten"})
        assert int(limited.headers["Retry-After"]) >= 1
        assert client.get("/assistent", params={"q": "Öffnungszeiten"}).status_code == 429
    finally:
        monkeypatch.delenv("SERVICEPOINT_ASSISTANT_QUESTIONS_PER_MINUTE")
        reset_settings()


def test_unanswered_questions_are_counted_per_day_with_personal_data_masked(
    client: TestClient,
) -> None:
    question = "Ich heiße Max, max.muster@example.org, Tel. 0511 123456: Hundesteuer für 2 Hunde?"
    for _ in range(2):
        assert client.post(ASK, json={"question": question}).json()["answered"] is False
    today = datetime.now(UTC).astimezone(OFFICE_TIME).date()
    with db.session_scope() as session:
        rows = session.exec(select(UnansweredQuestion).where(UnansweredQuestion.day == today)).all()
    stored = [r for r in rows if "Hundesteuer für" in r.question]
    assert len(stored) == 1
    assert stored[0].count == 2
    assert stored[0].lang == "de"
    assert "example.org" not in stored[0].question
    assert not any(ch.isdigit() for ch in stored[0].question)
    assert "[E-Mail]" in stored[0].question


def test_answered_questions_are_not_stored(client: TestClient) -> None:
    question = "Welche Unterlagen brauche ich für die Anmeldung?"
    assert client.post(ASK, json={"question": question}).json()["answered"] is True
    with db.session_scope() as session:
        rows = session.exec(select(UnansweredQuestion)).all()
    assert not [r for r in rows if "Unterlagen" in r.question]


def test_own_case_only_with_reference_and_access_code(client: TestClient) -> None:
    form, files = multipart("case-002")
    submitted = client.post("/api/v1/applications", data=form, files=files).json()
    reference, token = submitted["reference"], submitted["access_token"]
    asked = client.post(ASK, json={"question": "Wo ist mein Antrag?"}).json()
    assert asked["answered"] is True
    assert reference not in asked["answer"]
    assert asked["sources"] == [{"title": "Ihr eigener Antrag", "url": "/assistent/antrag"}]
    wrong = client.post(ASK, json={"question": f"Wo ist mein Antrag {reference}? Code {'A' * 43}"})
    assert wrong.json()["answered"] is False
    assert "keinen Antrag gefunden" in wrong.json()["answer"]
    right = client.post(ASK, json={"question": f"Status {reference} Code {token}"}).json()
    assert right["answered"] is True
    assert reference in right["answer"]
    assert right["sources"][0]["url"] == f"/antrag/{submitted['id']}"
    with db.session_scope() as session:
        status = session.get(Application, submitted["id"])
        assert status is not None
    # The page form: wrong code says nothing; the right one opens the status page too.
    page = client.get("/assistent/antrag")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = client.post(
        "/assistent/antrag", data={"csrf_token": csrf, "reference": reference, "code": "nope"}
    )
    assert refused.status_code == 200  # followed the redirect
    assert "keinen Antrag gefunden" in refused.text
    assert f"/antrag/{submitted['id']}" not in refused.text
    shown = client.post(
        "/assistent/antrag", data={"csrf_token": csrf, "reference": reference, "code": token}
    )
    assert reference in shown.text
    assert client.get(f"/antrag/{submitted['id']}").status_code == 200


def test_page_without_javascript_and_right_to_left_arabic(client: TestClient) -> None:
    start = client.get("/assistent")
    assert start.status_code == 200
    assert "Häufige Fragen" in start.text
    assert "Bis wann muss ich mich anmelden?" in start.text
    page = client.get("/assistent", params={"q": "ما هي ساعات العمل؟"})
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text
    assert 'aria-live="polite"' in page.text
    assert "8:00" in page.text
    # The site's header and footer speak the page's language too (interface.yaml).
    assert '<header class="site-header">' in page.text
    assert "انتقل إلى المحتوى الرئيسي" in page.text
    assert "مدينة Hannover" in page.text
    assert "بيان إمكانية الوصول" in page.text
    german = client.get("/assistent", params={"q": "Öffnungszeiten", "lang": "de"}).text
    assert "Zum Inhalt springen" in german
    unknown = client.get("/assistent", params={"q": "Wie hoch ist die Hundesteuer?"})
    assert 'href="/video/termin"' in unknown.text


def test_the_site_header_and_footer_are_told_in_every_assistant_language() -> None:
    base = Path(__file__).resolve().parents[3] / "servicepoint" / "templates" / "base.html"
    page = DATA_DIR.parent.parent / "assistant" / "templates" / "assistant" / "page.html"
    used = set(re.findall(r'_\("([^"]+)"', base.read_text() + page.read_text()))
    chrome = load().interface["chrome"]
    assert used <= set(chrome), used - set(chrome)
    for msgid in used:
        for lang in ("tr", "ar", "uk"):
            told = chrome[msgid][lang]
            assert re.findall(r"%\(\w+\)s", told) == re.findall(r"%\(\w+\)s", msgid), told


def test_every_portal_page_carries_the_panel(client: TestClient) -> None:
    for path in ("/", "/anmeldung"):
        html = client.get(path).text
        assert 'class="container assistant-panel"' in html, path
        assert 'action="/assistent"' in html
        assert "/static/js/assistant.js" in html


def test_knowledge_and_contact_pages(client: TestClient) -> None:
    knowledge = client.get("/assistent/wissen")
    assert knowledge.status_code == 200
    assert 'id="oeffnungszeiten"' in knowledge.text
    assert "70,00 €" in knowledge.text
    contact = client.get("/assistent/kontakt?lang=uk")
    assert contact.status_code == 200
    assert "Behördennummer 115" in contact.text
