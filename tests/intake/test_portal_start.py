"""The portal's start and service pages: the catalogue, continuing or discarding a
draft, the status of the last application."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from intake.portal import views
from tests.intake.portal_cases import submitted_case
from tests.intake.portal_helpers import Citizen, case_application

pytestmark = pytest.mark.usefixtures("fresh_rate_limit")


# --- start and service pages ----------------------------------------------------------


def test_the_service_page_offers_to_continue_or_discard_a_draft(citizen: Citizen) -> None:
    assert "Jetzt starten" in citizen.client.get("/anmeldung").text
    citizen.person(1, case_application("case-001")["persons"][0])
    again = citizen.client.get("/anmeldung").text
    assert "Antrag fortsetzen" in again
    assert 'href="/anmeldung/personen"' in again
    assert citizen.post("/anmeldung/neu").headers["location"] == "/anmeldung/person/1"
    assert "Jetzt starten" in citizen.client.get("/anmeldung").text


def test_the_start_page_lists_the_catalogue_in_both_languages(app: Any) -> None:
    client = TestClient(app)
    german = client.get("/?lang=de").text
    english = client.get("/?lang=en").text
    for service in views.catalogue():
        assert str(escape(service["de"]["name"])) in german
        assert str(escape(service["en"]["name"])) in english
        assert str(escape(service["de"]["fee"])) in german
    for page in (german, english):
        assert 'href="/anmeldung"' in page
        assert 'href="/video/termin"' in page
        assert 'href="/tutorials"' in page


def test_after_submitting_the_service_page_starts_a_new_application(citizen: Citizen) -> None:
    citizen.fill(case_application("case-001"))
    citizen.submit()
    page = citizen.client.get("/anmeldung").text
    assert 'action="/anmeldung/neu"' in page
    started = citizen.post("/anmeldung/neu")
    assert started.headers["location"] == "/anmeldung/person/1"
    assert citizen.client.get("/anmeldung/person/1", follow_redirects=False).status_code == 200


def test_the_start_page_links_the_status_of_the_last_application(citizen: Citizen) -> None:
    link = submitted_case(citizen)
    application_id = link.split("/antrag/")[1].split("?")[0]
    assert f'href="/antrag/{application_id}"' in citizen.client.get("/").text
