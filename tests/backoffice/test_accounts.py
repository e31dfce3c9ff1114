"""Signing in and out, lockout, the idle timeout, first-sign-in password change, and the
administrators' account management."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col

from servicepoint import auth, db
from servicepoint.sessions import WebSession
from servicepoint.settings import get_settings
from tests.backoffice.conftest import PASSWORD, Staff, csrf_of, new_user, sign_in


def attempt(client: TestClient, username: str, password: str) -> object:
    page = client.get("/backoffice/anmelden")
    return client.post(
        "/backoffice/anmelden",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def test_sign_in_goes_where_the_clerk_wanted(app: FastAPI) -> None:
    username = new_user()
    client = TestClient(app)
    redirect = client.get("/backoffice/vorgaenge?reason=ID_EXPIRED", follow_redirects=False)
    assert redirect.status_code == 303
    target = redirect.headers["location"]
    assert target.startswith("/backoffice/anmelden?next=")
    form = client.get(target)
    assert 'name="next" value="/backoffice/vorgaenge?reason=ID_EXPIRED"' in form.text
    response = client.post(
        "/backoffice/anmelden",
        data={
            "username": username,
            "password": PASSWORD,
            "next": "/backoffice/vorgaenge?reason=ID_EXPIRED",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/backoffice/vorgaenge?reason=ID_EXPIRED"
    # Somewhere else than the back office is never a target (no open redirect).
    other = attempt(TestClient(app), username, PASSWORD)
    assert other.headers["location"] == "/backoffice/vorgaenge"  # type: ignore[attr-defined]


def test_wrong_passwords_lock_the_account(app: FastAPI) -> None:
    username = new_user()
    client = TestClient(app)
    empty = attempt(client, username, "")
    assert empty.status_code == 401  # type: ignore[attr-defined]
    assert 'href="#password"' in empty.text  # type: ignore[attr-defined]
    for _ in range(get_settings().login_max_failures):
        wrong = attempt(client, username, "wrong-password")
        assert wrong.status_code == 401  # type: ignore[attr-defined]
        assert "Benutzername oder Passwort ist falsch" in wrong.text  # type: ignore[attr-defined]
    locked = attempt(client, username, PASSWORD)
    assert locked.status_code == 401  # type: ignore[attr-defined]
    assert "vorübergehend gesperrt" in locked.text  # type: ignore[attr-defined]
    with db.session_scope() as session:
        user = auth.get_user(session, username)
        assert user is not None
        assert user.locked_until is not None


def test_sign_out_ends_the_session(app: FastAPI) -> None:
    username = new_user()
    client = sign_in(app, username)
    token = csrf_of(client.get("/backoffice/vorgaenge").text)
    cookie = client.cookies.get("sp_session")
    response = client.post(
        "/backoffice/abmelden", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/backoffice/anmelden?abgemeldet=1"
    # The old session cookie is worthless now, even if someone kept a copy.
    stale = TestClient(app, cookies={"sp_session": cookie or ""})
    assert stale.get("/backoffice/vorgaenge", follow_redirects=False).status_code == 303
    assert "Sie sind abgemeldet" in client.get("/backoffice/anmelden?abgemeldet=1").text


def test_idle_sessions_are_signed_out_with_a_notice(app: FastAPI) -> None:
    username = new_user()
    client = sign_in(app, username)
    page = client.get("/backoffice/vorgaenge").text
    idle = get_settings().session_idle_minutes
    assert f'data-idle-seconds="{idle * 60}"' in page
    assert '<script src="/static/js/backoffice.js"' in page
    with db.session_scope() as session:
        user = auth.get_user(session, username)
        assert user is not None
        session.execute(
            update(WebSession)
            .where(col(WebSession.user_id) == user.id)
            .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=idle + 1))
        )
    response = client.get("/backoffice/vorgaenge", follow_redirects=False)
    assert response.status_code == 303
    notice = client.get(response.headers["location"]).text
    assert "nach einer Zeit ohne Aktivität abgemeldet" in notice
    assert client.get("/backoffice/sitzung").status_code == 401


def test_keep_alive_answers_signed_in_staff(app: FastAPI) -> None:
    client = sign_in(app, new_user())
    response = client.get("/backoffice/sitzung", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json()["idle_seconds"] == get_settings().session_idle_minutes * 60


def test_a_generated_password_must_be_changed_first(app: FastAPI) -> None:
    username = new_user(must_change_password=True)
    client = TestClient(app)
    response = attempt(client, username, PASSWORD)
    assert response.headers["location"] == "/backoffice/passwort"  # type: ignore[attr-defined]
    blocked = client.get("/backoffice/vorgaenge", follow_redirects=False)
    assert blocked.headers["location"] == "/backoffice/passwort"
    form = client.get("/backoffice/passwort").text
    short = client.post(
        "/backoffice/passwort",
        data={
            "current": PASSWORD,
            "new": "short",
            "repeated": "short",
            "csrf_token": csrf_of(form),
        },
    )
    assert short.status_code == 422
    assert 'href="#new"' in short.text
    new = "ein neues, langes Passwort"
    changed = client.post(
        "/backoffice/passwort",
        data={"current": PASSWORD, "new": new, "repeated": new, "csrf_token": csrf_of(form)},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert client.get("/backoffice/vorgaenge").status_code == 200
    with db.session_scope() as session:
        user = auth.get_user(session, username)
        assert user is not None
        assert not user.must_change_password
        assert auth.verify_password(user.password_hash, new)


def test_administrators_manage_accounts(app: FastAPI, staff: Callable[..., Staff]) -> None:
    admin = staff("admin")
    name = f"erika.{new_user()[-8:]}"
    created = admin.post(
        "/backoffice/verwaltung/konten",
        {"username": name, "display_name": "Erika Muster", "email": "", "role": "clerk"},
    )
    assert created.status_code == 200
    password = re.search(r'<p class="one-time"><code>([^<]+)</code>', created.text)
    assert password, "the one-time password is shown once"
    duplicate = admin.post("/backoffice/verwaltung/konten", {"username": name, "role": "clerk"})
    assert duplicate.status_code == 422
    assert "Diesen Benutzernamen gibt es schon" in duplicate.text
    # The new clerk must choose a password at the first sign-in.
    first = TestClient(app)
    assert attempt(first, name, password.group(1)).headers["location"] == "/backoffice/passwort"  # type: ignore[attr-defined]
    with db.session_scope() as session:
        account = auth.get_user(session, name)
        assert account is not None
        account_id = account.id
    assert (
        admin.post(
            f"/backoffice/verwaltung/konten/{account_id}/rolle", {"role": "admin"}
        ).status_code
        == 303
    )
    admin.post(f"/backoffice/verwaltung/konten/{account_id}/aktiv", {"active": "0"})
    with db.session_scope() as session:
        account = auth.get_user(session, name)
        assert account is not None
        assert (account.role, account.is_active) == ("admin", False)
    # A deactivated account's open session ends at once.
    assert first.get("/backoffice/passwort", follow_redirects=False).status_code == 303
    assert attempt(TestClient(app), name, password.group(1)).status_code == 401  # type: ignore[attr-defined]
    admin.post(f"/backoffice/verwaltung/konten/{account_id}/aktiv", {"active": "1"})
    reset = admin.post(f"/backoffice/verwaltung/konten/{account_id}/passwort")
    second = re.search(r'<p class="one-time"><code>([^<]+)</code>', reset.text)
    assert second
    assert second.group(1) != password.group(1)
    assert attempt(TestClient(app), name, second.group(1)).status_code == 303  # type: ignore[attr-defined]
    # Nobody changes their own account here (the last administrator stays one).
    with db.session_scope() as session:
        me = auth.get_user(session, admin.username)
        assert me is not None
        my_id = me.id
    own = admin.post(f"/backoffice/verwaltung/konten/{my_id}/rolle", {"role": "clerk"})
    assert own.status_code == 403


def test_token_endpoint_for_api_clients(app: FastAPI) -> None:
    username = new_user()
    client = TestClient(app)
    token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert token.status_code == 200
    body = token.json()
    assert body["token_type"] == "bearer"
    alive = client.get(
        "/backoffice/sitzung", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert alive.status_code == 200
    wrong = client.post("/api/v1/auth/token", data={"username": username, "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_credentials"
