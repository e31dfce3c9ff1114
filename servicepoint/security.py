"""Who is calling: typed dependencies for staff (clerks, administrators) by bearer token.

API tokens are signed ``{"uid": ..., "v": ...}`` payloads valid for a working day; the
account must still exist and be active when the token is used. Every 401/403 of the API
is decided here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from servicepoint import auth
from servicepoint.db import SessionDep
from servicepoint.errors import Forbidden, NotAuthenticated
from servicepoint.settings import get_settings

API_TOKEN_PURPOSE = "api"
API_TOKEN_SECONDS = 8 * 3600


class LoginRefused(NotAuthenticated):
    code = "invalid_credentials"
    message_de = "Benutzername oder Passwort ist falsch."
    message_en = "Wrong username or password."


class AccountLocked(NotAuthenticated):
    code = "locked"
    message_de = "Das Konto ist nach zu vielen Fehlversuchen vorübergehend gesperrt."
    message_en = "The account is locked for a while after too many failed attempts."


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate(session: Session, username: str, password: str) -> auth.User:
    """Check a password with lockout after repeated failures (counted per account)."""
    settings = get_settings()
    user = auth.get_user(session, username)
    now = datetime.now(UTC)
    if user is None or not user.is_active:
        auth.verify_password(_DUMMY_HASH, password)  # same cost: no user enumeration
        raise LoginRefused()
    if user.locked_until is not None and _aware(user.locked_until) > now:
        raise AccountLocked()
    if not auth.verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
        session.add(user)
        session.commit()  # the failure must count even though the request fails
        raise LoginRefused()
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    return user


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_DUMMY_HASH = auth.hash_password("not-a-real-password")


def issue_api_token(user: auth.User) -> str:
    return auth.sign(API_TOKEN_PURPOSE, {"uid": user.id, "u": user.username})


def staff_from_token(session: Session, token: str | None) -> auth.User | None:
    if not token:
        return None
    payload = auth.unsign(API_TOKEN_PURPOSE, token, max_age=API_TOKEN_SECONDS)
    if payload is None:
        return None
    user = session.get(auth.User, payload.get("uid"))
    if user is None or not user.is_active or user.username != payload.get("u"):
        return None
    return user


def optional_staff(request: Request, session: SessionDep) -> auth.User | None:
    user = staff_from_token(session, bearer_token(request))
    web_session = getattr(request.state, "session", None)
    if user is None and web_session is not None and web_session.user_id is not None:
        user = session.get(auth.User, web_session.user_id)  # a back-office sign-in
        if user is not None and not user.is_active:
            user = None
    return user


def require_staff(user: Annotated[auth.User | None, Depends(optional_staff)]) -> auth.User:
    if user is None:
        raise NotAuthenticated()
    return user


def require_admin(user: Annotated[auth.User, Depends(require_staff)]) -> auth.User:
    if user.role != auth.Role.ADMIN:
        raise Forbidden()
    return user


OptionalStaff = Annotated[auth.User | None, Depends(optional_staff)]
CurrentStaff = Annotated[auth.User, Depends(require_staff)]
CurrentAdmin = Annotated[auth.User, Depends(require_admin)]
