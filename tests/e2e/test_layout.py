"""The base layout in a real browser: landmarks, language switch, accessibility."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import axe_violations

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/barrierefreiheit",
        "/leichte-sprache",
        "/gebaerdensprache",
        "/datenschutz",
        "/impressum",
    ],
)
@pytest.mark.parametrize("lang", ["de", "en"])
def test_kernel_pages_have_no_wcag_violations(page: Any, path: str, lang: str) -> None:
    page.goto(f"{path}?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").count() == 1
    assert page.locator("main").count() == 1
    assert axe_violations(page) == []


def test_language_switch_is_kept_across_pages(page: Any) -> None:
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "de"
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Accessibility statement").click()
    assert page.locator("h1").inner_text() == "Accessibility statement"
    page.get_by_role("link", name="Deutsch").click()
    assert page.locator("h1").inner_text() == "Erklärung zur Barrierefreiheit"


def test_skip_link_moves_focus_to_the_main_content(page: Any) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Zum Inhalt springen" in focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
