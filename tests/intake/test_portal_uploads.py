"""The portal's upload page: refused and damaged files, stated limits, removing an upload."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from markupsafe import escape

from intake.applications import uploads
from tests.intake.portal_cases import start_documents
from tests.intake.portal_helpers import BAD, CASES, Citizen, summary

pytestmark = pytest.mark.usefixtures("fresh_rate_limit")


# --- uploads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(
        name
        for name, expected in json.loads((BAD / "expected.json").read_text("utf-8")).items()
        if not expected["accept"]
    ),
)
def test_a_refused_file_gets_its_specific_message(citizen: Citizen, name: str) -> None:
    start_documents(citizen)
    content = (BAD / name).read_bytes()
    with pytest.raises(uploads.UploadRejected) as refused:
        uploads.validate_upload(content, name)
    response = citizen.refused(
        "/anmeldung/dokumente?lang=de",
        {"action": "upload"},
        files=[("landlord_confirmation", (name, content))],
    )
    message = str(escape(refused.value.message_de))
    assert ("landlord_confirmation", message) in summary(response)
    assert 'id="landlord_confirmation-error"' in response.text
    assert f'<span class="file-name">{escape(name)}</span>' not in response.text


@pytest.mark.parametrize(
    "name",
    sorted(
        name
        for name, expected in json.loads((BAD / "expected.json").read_text("utf-8")).items()
        if expected["accept"]
    ),
)
def test_a_damaged_but_accepted_file_is_kept_for_review(citizen: Citizen, name: str) -> None:
    start_documents(citizen)
    response = citizen.post(
        "/anmeldung/dokumente",
        {"action": "upload"},
        files=[("identity-0", (name, (BAD / name).read_bytes()))],
    )
    assert response.status_code == 303
    assert name in citizen.client.get("/anmeldung/dokumente").text


def test_limits_are_stated_before_the_upload(citizen: Citizen, settings: Any) -> None:
    start_documents(citizen)
    page = citizen.client.get("/anmeldung/dokumente").text
    megabytes = settings.max_upload_bytes // (1024 * 1024)
    assert f"höchstens {megabytes} MB und {settings.max_pages} Seiten pro Datei" in page
    assert uploads.ACCEPTED_DE in page


def test_an_upload_can_be_removed_again(citizen: Citizen) -> None:
    start_documents(citizen)
    path = CASES / "case-001" / "documents" / "wohnungsgeberbestaetigung.pdf"
    citizen.post(
        "/anmeldung/dokumente",
        {"action": "upload"},
        files=[("landlord_confirmation", (path.name, path.read_bytes()))],
    )
    page = citizen.client.get("/anmeldung/dokumente").text
    key = re.search(r'name="remove" value="([0-9a-f]+)"', page)
    assert key
    citizen.post("/anmeldung/dokumente", {"remove": key.group(1)})
    assert path.name not in citizen.client.get("/anmeldung/dokumente").text
