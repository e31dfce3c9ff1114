"""Browser steps through the citizen portal, shared by the portal's real-browser tests."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT, SHARED_CORPUS
from tests.e2e.conftest import axe_violations

CASES = SHARED_CORPUS / "anmeldung-dev"
BAD = SHARED_CORPUS / "bad-inputs-dev"
SCREENSHOTS = os.environ.get("SERVICEPOINT_SCREENSHOTS")  # e.g. docs/screenshots


def case_application(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES / case / "application.json").read_text("utf-8"))
    return data


def german(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}.{month}.{year}"


def shoot(page: Any, name: str) -> None:
    """Save a screenshot for the documentation when SERVICEPOINT_SCREENSHOTS is set."""
    if not SCREENSHOTS:
        return
    from PIL import Image

    target = Path(SCREENSHOTS)
    if not target.is_absolute():
        target = REPO_ROOT / target
    target.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(full_page=True)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    image.save(target / f"{name}.png", optimize=True)


def no_axe_violations(page: Any) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: {violations}"


def press(page: Any, selector: str = "form button.button") -> None:
    """Click a form's main button and wait for the next page."""
    with page.expect_navigation():
        page.locator(selector).first.click()


def check_error_summary(page: Any, lang: str) -> list[str]:
    """The summary has focus, the title says "Fehler:", each link focuses its field."""
    prefix = "Fehler: " if lang == "de" else "Error: "
    assert page.title().startswith(prefix), page.title()
    assert page.locator("h1").count() == 1
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    links = page.locator(".error-summary a")
    targets = []
    for index in range(links.count()):
        link = links.nth(index)
        target = link.get_attribute("data-target")
        link.click()
        assert page.evaluate("document.activeElement.id") == target, target
        # The same message is beside the field.
        assert page.locator(f"#{target}-error").count() == 1
        targets.append(str(target))
    assert targets
    return targets


def fill_person(page: Any, person: dict[str, Any]) -> None:
    page.fill("#surname", person["surname"])
    page.fill("#given_names", person["given_names"])
    page.fill("#birth_date", german(person["birth_date"]))
    page.fill("#birth_place", person["birth_place"])
    page.fill("#nationality", person["nationality"])
    page.check(f"input[name=id_document_type][value={person['id_document_type']}]")
    page.fill("#id_document_number", person["id_document_number"])


def fill_address(page: Any, address: dict[str, Any]) -> None:
    for name in ("street", "house_number", "address_suffix", "postal_code", "city"):
        page.fill(f"#{name}", address.get(name) or "")


def fill_previous(page: Any, previous: dict[str, Any] | None) -> None:
    for name in ("street", "postal_code", "city"):
        page.fill(f"#{name}", (previous or {}).get(name) or "")


def case_files(case: str) -> tuple[list[Path], list[Path]]:
    """(identity files, landlord confirmation files) of a corpus case."""
    application = case_application(case)
    identity: list[Path] = []
    landlord: list[Path] = []
    for document in application["documents"]:
        path = CASES / case / document["file"]
        (landlord if document["declared_type"] == "landlord_confirmation" else identity).append(
            path
        )
    return identity, landlord


def answer_everything(page: Any, case: str, email: str = "") -> None:
    """From the first person page to the check page, without detours."""
    application = case_application(case)
    for number, person in enumerate(application["persons"], start=1):
        fill_person(page, person)
        press(page)
        more = "yes" if number < len(application["persons"]) else "no"
        page.check(f"input[name=more_persons][value={more}]")
        press(page)
    fill_address(page, application["new_address"])
    press(page)
    page.fill("#move_in_date", german(application["move_in_date"]))
    press(page)
    page.check(f"input[name=residence_type][value={application['residence_type']}]")
    press(page)
    fill_previous(page, application.get("previous_address"))
    press(page)
    identity, landlord = case_files(case)
    persons = len(application["persons"])
    for index in range(persons):
        mine = [p for i, p in enumerate(identity) if min(i, persons - 1) == index]
        page.set_input_files(f"#identity-{index}", [str(p) for p in mine])
    page.set_input_files("#landlord_confirmation", [str(p) for p in landlord])
    press(page)
    page.fill("#email", email)
    press(page)
    assert page.url.endswith("/anmeldung/pruefen"), page.url
