"""Every back-office and staff-only route refuses anonymous users and citizens.

The routes are enumerated from the application itself, so a route added later without
protection fails here. A route is staff-only when its path is under ``/backoffice`` or
``/api/v1/backoffice`` / ``/api/v1/admin``, or when it is one of the staff actions of
other domains listed in ``STAFF_API`` (CONTRACTS §2 and §4); only the sign-in and
sign-out pages are public. Pages answer a refusal with a redirect to the sign-in page,
the API (and the session keep-alive, which JavaScript calls) with 401. Administrator
pages (``/backoffice/verwaltung``) also refuse clerks with 403.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.backoffice.conftest import Staff, csrf_of, submit_case

PUBLIC = {
    ("GET", "/backoffice/anmelden"),
    ("POST", "/backoffice/anmelden"),
    ("POST", "/backoffice/abmelden"),
}
STAFF_PREFIXES = ("/backoffice", "/api/v1/backoffice", "/api/v1/admin")
STAFF_API = {
    ("POST", "/api/v1/applications/{application_id}/decision"),
    ("POST", "/api/v1/consultations/{consultation_id}/clerk-token"),
    ("POST", "/api/v1/consultations/{consultation_id}/admit"),
    ("POST", "/api/v1/consultations/{id}/clerk-token"),
    ("POST", "/api/v1/consultations/{id}/admit"),
}
JSON_PAGES = {"/backoffice/sitzung"}
ADMIN_PREFIX = "/backoffice/verwaltung"


def all_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, set[str]]]:
    """(path, methods) of every endpoint, through included routers at any depth.

    FastAPI 0.150+ keeps included routers as branches (``original_router`` with its
    include prefix) instead of copying their routes into the application.
    """
    found: list[tuple[str, set[str]]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix + route.path, set(route.methods or ())))
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            inner = prefix + str(getattr(context, "prefix", "") or "")
            found.extend(all_routes(list(route.original_router.routes), inner))
    return found


def staff_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for path, methods in all_routes(list(app.routes)):
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            key = (method, path)
            if key in PUBLIC:
                continue
            if path.startswith(STAFF_PREFIXES) or key in STAFF_API:
                found.append(key)
    return found


def concrete(path: str, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return values.get(name, "1")

    return re.sub(r"\{([^}]+)\}", fill, path)


def call(client: TestClient, method: str, path: str, token: str, **headers: str) -> Any:
    headers = {"X-CSRF-Token": token, "Accept": "text/html", **headers}
    if path.startswith("/api/"):
        headers["Accept"] = "application/json"
    return client.request(method, path, headers=headers, data={}, follow_redirects=False)


def assert_refused(response: Any, method: str, route: str, who: str) -> None:
    where = f"{method} {route} as {who}"
    if route.startswith("/api/") or route in JSON_PAGES:
        assert response.status_code == 401, f"{where}: {response.status_code}"
        return
    assert response.status_code == 303, f"{where}: {response.status_code} {response.text[:200]}"
    assert response.headers["location"].startswith("/backoffice/anmelden"), where


@pytest.fixture(scope="module")
def citizen(migrated_db: str) -> tuple[str, str]:
    application_id, _, token = submit_case("case-007")
    return application_id, token


def test_the_route_list_covers_the_back_office(app: FastAPI) -> None:
    routes = {path for _, path in staff_routes(app)}
    for expected in (
        "/backoffice",
        "/backoffice/vorgaenge",
        "/backoffice/vorgaenge/{application_id}",
        "/backoffice/vorgaenge/{application_id}/entscheidung",
        "/backoffice/verwaltung",
        "/backoffice/verwaltung/konten",
        "/api/v1/applications/{application_id}/decision",
    ):
        assert expected in routes


def test_every_staff_route_refuses_anonymous_users_and_citizens(
    app: FastAPI, citizen: tuple[str, str], seeded: Callable[..., list[str]]
) -> None:
    case_id = seeded(1)[0]
    values = {"application_id": case_id, "id": case_id}
    application_id, citizen_token = citizen

    anonymous = TestClient(app)
    anonymous_csrf = csrf_of(anonymous.get("/backoffice/anmelden").text)
    portal = TestClient(app)  # a citizen's browser session from the portal
    portal.get("/")
    portal_csrf = csrf_of(portal.get("/backoffice/anmelden").text)
    bearer = TestClient(app)  # a citizen's API client with its case's access token
    bearer_csrf = csrf_of(bearer.get("/backoffice/anmelden").text)

    routes = staff_routes(app)
    assert len(routes) >= 15
    for method, route in routes:
        path = concrete(route, values)
        assert_refused(call(anonymous, method, path, anonymous_csrf), method, route, "anonymous")
        assert_refused(call(portal, method, path, portal_csrf), method, route, "citizen session")
        own = concrete(route, {"application_id": application_id, "id": application_id})
        response = call(bearer, method, own, bearer_csrf, Authorization=f"Bearer {citizen_token}")
        assert_refused(response, method, route, "citizen token")


def test_administrator_pages_refuse_clerks(
    app: FastAPI, staff: Callable[..., Staff], seeded: Callable[..., list[str]]
) -> None:
    clerk = staff("clerk")
    token = csrf_of(clerk.get("/backoffice/passwort").text)
    admin_routes = [(m, r) for m, r in staff_routes(app) if r.startswith(ADMIN_PREFIX)]
    assert len(admin_routes) >= 5
    for method, route in admin_routes:
        response = call(clerk.client, method, concrete(route, {"user_id": "1"}), token)
        assert response.status_code == 403, f"{method} {route}: {response.status_code}"


def test_a_refused_change_leaves_the_case_untouched(
    app: FastAPI, seeded: Callable[..., list[str]]
) -> None:
    from intake.applications.models import Application
    from servicepoint import db

    case_id = seeded(1)[0]
    client = TestClient(app)
    token = csrf_of(client.get("/backoffice/anmelden").text)
    for action in ("uebernehmen", "entscheidung", "korrektur", "nachforderung"):
        call(client, "POST", f"/backoffice/vorgaenge/{case_id}/{action}", token)
    with db.session_scope() as session:
        case = session.get(Application, case_id)
        assert case is not None
        assert (case.version, case.claimed_by, case.status) == (2, None, "review")
