"""The citizen assistant in real Chromium: asked on a portal page with and without
JavaScript, in German and Arabic; the hand-off leads to the booking page; axe-core finds
no WCAG 2.1 A/AA violation on its pages in any of its languages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from intake.assistant import limits
from tests.e2e.conftest import LiveServer, axe_violations, open_page

pytestmark = pytest.mark.e2e

GERMAN = "Welche Unterlagen brauche ich für die Anmeldung?"
ARABIC = "ما هي ساعات العمل؟"
UNKNOWN = "Wie hoch ist die Hundesteuer in Hannover?"
QUESTIONS = {
    "de": "Was kostet ein Personalausweis?",
    "en": "How much does a passport cost?",
    "tr": "Kimlik kartı ne kadar?",
    "ar": ARABIC,
    "uk": "Скільки коштує реєстрація?",
    "de-easy": "Wann ist das Amt offen?",
}


@pytest.fixture(autouse=True)
def fresh_limit() -> None:
    limits.questions.reset()


@pytest.fixture
def page_without_js(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    with open_page(browser, live_server.url, java_script_enabled=False) as page:
        yield page


def _ask_in_panel(page: Any, question: str) -> None:
    field = page.locator("#assistant-panel-q")
    field.focus()
    page.keyboard.type(question)
    page.keyboard.press("Enter")


def test_panel_with_javascript_answers_in_its_live_region(page: Any) -> None:
    page.goto("/")
    _ask_in_panel(page, GERMAN)
    region = page.locator(".assistant-panel [data-assistant-result]")
    region.locator(".assistant-answer").wait_for()
    assert page.url.endswith("/")  # answered in place
    assert region.get_attribute("aria-live") == "polite"
    text = region.inner_text()
    assert "Wohnungsgeberbestätigung" in text
    assert region.get_by_role("link").count() >= 1
    assert page.evaluate("document.activeElement.id") == "assistant-panel-q"
    assert axe_violations(page) == []


def test_panel_without_javascript_shows_the_answer_page(page_without_js: Any, page: Any) -> None:
    checker, page = page, page_without_js
    page.goto("/")
    _ask_in_panel(page, GERMAN)
    page.wait_for_url("**/assistent?q=*")
    assert page.locator("h1").inner_text() == "Fragen an den Assistenten"
    answer = page.locator(".assistant-answer")
    assert "Wohnungsgeberbestätigung" in answer.inner_text()
    assert page.locator("textarea#assistant-q").input_value() == GERMAN
    checker.goto(page.url)  # axe needs JavaScript: the same page in a second browser
    assert axe_violations(checker) == []


def test_arabic_on_the_portal_page_with_javascript(page: Any) -> None:
    page.goto("/")
    _ask_in_panel(page, ARABIC)
    answer = page.locator(".assistant-panel [data-assistant-result] > div")
    answer.locator(".assistant-answer").wait_for()
    assert answer.get_attribute("lang") == "ar"
    assert answer.get_attribute("dir") == "rtl"
    assert "8:00" in answer.inner_text()
    assert axe_violations(page) == []


def test_arabic_without_javascript_is_a_right_to_left_page(page_without_js: Any, page: Any) -> None:
    checker, page = page, page_without_js
    page.goto("/")
    _ask_in_panel(page, ARABIC)
    page.wait_for_url("**/assistent?q=*")
    html = page.locator("html")
    assert html.get_attribute("lang") == "ar"
    assert html.get_attribute("dir") == "rtl"
    header = page.locator("header.site-header")
    assert header.get_attribute("lang") is None  # in Arabic too, not German marked as such
    assert "مدينة" in header.inner_text()
    assert "8:00" in page.locator(".assistant-answer").inner_text()
    checker.goto(page.url)
    assert axe_violations(checker) == []


def test_the_hand_off_leads_to_the_booking_page(page: Any) -> None:
    page.goto("/assistent")
    page.locator("#assistant-q").fill(UNKNOWN)
    page.get_by_role("button", name="Frage stellen").click()
    region = page.locator("[data-assistant-result] .assistant-unknown")
    region.wait_for()
    assert "keine verlässliche Auskunft" in region.inner_text()
    assert "/assistent?q=" in page.url  # the answer keeps its address
    region.get_by_role("link", name="Videosprechstunde buchen").click()
    page.wait_for_url("**/video/termin")
    assert page.locator("h1").count() == 1


@pytest.mark.parametrize("lang", list(QUESTIONS))
def test_assistant_pages_have_no_wcag_violations_in_every_language(page: Any, lang: str) -> None:
    page.goto(f"/assistent?lang={lang}")
    html_lang = "de" if lang == "de-easy" else lang
    assert page.locator("html").get_attribute("lang") == html_lang
    assert page.locator(".assistant-suggested li").count() >= 5
    assert axe_violations(page) == []
    page.goto(f"/assistent?lang={lang}&q={QUESTIONS[lang]}")
    assert page.locator(".assistant-answer").count() == 1
    assert page.locator(".assistant-unknown").count() == 0, page.locator(
        ".assistant-answer"
    ).inner_text()
    assert axe_violations(page) == []
    for path in ("/assistent/antrag", "/assistent/kontakt", "/assistent/wissen"):
        page.goto(f"{path}?lang={lang}")
        assert axe_violations(page) == [], path
