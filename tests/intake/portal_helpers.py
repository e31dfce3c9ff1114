"""Driving the citizen portal over HTTP like a browser without JavaScript would."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import SHARED_CORPUS

CASES = SHARED_CORPUS / "anmeldung-dev"
BAD = SHARED_CORPUS / "bad-inputs-dev"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SUMMARY_LINK = re.compile(r'<a href="([^"]+)" data-target="([^"]+)">([^<]+)</a>')


def case_application(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES / case / "application.json").read_text("utf-8"))
    return data


def german(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}.{month}.{year}"


def summary(response: Response) -> list[tuple[str, str]]:
    """(target, message) of every link in the error summary."""
    return [(target, text) for _href, target, text in _SUMMARY_LINK.findall(response.text)]


@dataclass
class Citizen:
    """One browser: its cookies, and the CSRF token of its session."""

    client: TestClient
    _token: str = ""

    def token(self) -> str:
        """The session's CSRF token (it stays the same for the session's life)."""
        if not self._token:
            page = self.client.get("/antrag/" + "0" * 32)  # a form on every visit
            found = _CSRF.search(page.text)
            assert found, "no form on the page"
            self._token = found.group(1)
        return self._token

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Response:
        body = {"csrf_token": self.token(), **(data or {})}
        response: Response = self.client.post(path, data=body, follow_redirects=False, **kwargs)
        return response

    def refused(
        self, path: str, data: dict[str, Any] | None = None, *, page: str = "", **kwargs: Any
    ) -> Response:
        """Post a form that is refused: it redirects back to its page (or ``page``), which
        shows the errors once."""
        response = self.post(path, data, **kwargs)
        expected = page or path.split("?lang=")[0]
        assert response.status_code == 303, response.text
        assert response.headers["location"] == expected
        shown: Response = self.client.get(response.headers["location"])
        return shown

    def person(self, number: int, person: dict[str, Any]) -> Response:
        form = {
            key: person[key]
            for key in (
                "surname",
                "given_names",
                "birth_place",
                "nationality",
                "id_document_type",
                "id_document_number",
            )
        }
        form["birth_date"] = german(person["birth_date"])
        return self.post(f"/anmeldung/person/{number}", form)

    def fill(self, application: dict[str, Any], *, email: str = "") -> None:
        """Answer every step with a corpus case's data and upload its files."""
        for number, person in enumerate(application["persons"], start=1):
            assert self.person(number, person).status_code == 303
            more = "yes" if number < len(application["persons"]) else "no"
            assert self.post("/anmeldung/personen", {"more_persons": more}).status_code == 303
        address = {k: v or "" for k, v in application["new_address"].items()}
        assert self.post("/anmeldung/adresse", address).status_code == 303
        moved = german(application["move_in_date"])
        assert self.post("/anmeldung/einzug", {"move_in_date": moved}).status_code == 303
        residence = {"residence_type": application["residence_type"]}
        assert self.post("/anmeldung/wohnungsart", residence).status_code == 303
        previous = application.get("previous_address") or {}
        assert self.post("/anmeldung/bisherige-adresse", previous).status_code == 303
        assert self.upload_case_documents(application).status_code == 303
        assert self.post("/anmeldung/kontakt", {"email": email}).status_code == 303

    def upload_case_documents(self, application: dict[str, Any], case: str = "") -> Response:
        case_dir = self.case_dir(application, case)
        files = []
        identity_index = 0
        for document in application["documents"]:
            path = case_dir / document["file"]
            if document["declared_type"] == "landlord_confirmation":
                field = "landlord_confirmation"
            else:
                field = f"identity-{min(identity_index, len(application['persons']) - 1)}"
                identity_index += 1
            files.append((field, (Path(document["file"]).name, path.read_bytes())))
        return self.post("/anmeldung/dokumente", {"action": "continue"}, files=files)

    @staticmethod
    def case_dir(application: dict[str, Any], case: str = "") -> Path:
        if case:
            return CASES / case
        for candidate in sorted(CASES.iterdir()):
            app_file = candidate / "application.json"
            if app_file.is_file() and json.loads(app_file.read_text("utf-8")) == application:
                return candidate
        raise AssertionError("not a corpus case")

    def submit(self) -> Response:
        return self.post("/anmeldung/pruefen", {"declaration": "yes"})

    def secret_link(self) -> str:
        page = self.client.get("/anmeldung/bestaetigung")
        found = re.search(r'id="secret-link" type="text" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)
