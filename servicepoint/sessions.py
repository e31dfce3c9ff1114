"""Server-side web sessions and CSRF protection for every HTML form.

A session is a row (``web_sessions``) keyed by the digest of a random cookie value; the
cookie carries nothing else. Citizens' drafts and staff sign-ins both live here. Every
unsafe request (POST, PUT, PATCH, DELETE) outside ``/api/`` must carry the session's CSRF
token (form field ``csrf_token`` or header ``X-CSRF-Token``); API calls authenticate with
bearer tokens instead and are not cookie-authenticated.
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicepoint import auth
from servicepoint.auth import utcnow
from servicepoint.db import get_engine
from servicepoint.settings import get_settings

COOKIE = "sp_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CITIZEN_LIFETIME = timedelta(days=2)  # a draft survives a reload, a lunch break, a night
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
TOUCH_EVERY = timedelta(seconds=60)  # last-seen precision: enough for the idle timeout


class WebSession(SQLModel, table=True):
    __tablename__ = "web_sessions"

    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cookie value
    csrf_token: str = Field(max_length=64)
    user_id: int | None = Field(default=None, index=True)
    data_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class SessionState:
    """The session of one request: data, CSRF token, the signed-in staff member."""

    def __init__(self, row: WebSession | None, cookie: str | None) -> None:
        self.row = row
        self.cookie = cookie
        self.data: dict[str, Any] = json.loads(row.data_json) if row else {}
        self.user_id = row.user_id if row else None
        self.csrf_token = row.csrf_token if row else secrets.token_urlsafe(32)
        self.dirty = False
        self.rotate = False
        self.destroyed = False

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.dirty = True

    def pop(self, key: str, default: Any = None) -> Any:
        self.dirty = True
        return self.data.pop(key, default)

    def issue_csrf(self) -> str:
        """The token for a form being rendered; a new visitor's session is kept from now."""
        if self.row is None:
            self.dirty = True
        return self.csrf_token

    def sign_in(self, user_id: int) -> None:
        """Bind a staff member; a fresh session id prevents session fixation."""
        self.user_id = user_id
        self.rotate = True
        self.dirty = True

    def destroy(self) -> None:
        self.destroyed = True


def _digest(cookie: str) -> str:
    return auth.hash_token(cookie)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def load(cookie: str | None) -> SessionState:
    if not cookie:
        return SessionState(None, None)
    with Session(get_engine()) as db:
        row = db.get(WebSession, _digest(cookie))
        if row is None or _aware(row.expires_at) < datetime.now(UTC):
            return SessionState(None, None)
        db.expunge(row)
    state = SessionState(row, cookie)
    if row.user_id is not None:
        idle = timedelta(minutes=get_settings().session_idle_minutes)
        if _aware(row.last_seen_at) + idle < datetime.now(UTC):
            state.user_id = None  # signed out after the idle timeout; the draft stays
            state.data["signed_out_idle"] = True
            state.dirty = True
    return state


def save(state: SessionState, touch: bool) -> str | None:
    """Persist the session; returns the cookie value to set (None: leave cookie as is)."""
    now = datetime.now(UTC)
    with Session(get_engine()) as db:
        if state.destroyed:
            if state.cookie:
                row = db.get(WebSession, _digest(state.cookie))
                if row is not None:
                    db.delete(row)
                    db.commit()
            return ""
        recently = state.row is not None and _aware(state.row.last_seen_at) > now - TOUCH_EVERY
        if not state.dirty and (not touch or state.row is None or recently):
            return None
        cookie = state.cookie
        if state.rotate or cookie is None:
            if cookie:
                old = db.get(WebSession, _digest(cookie))
                if old is not None:
                    db.delete(old)
            cookie = secrets.token_urlsafe(32)
            row = WebSession(
                id=_digest(cookie), csrf_token=state.csrf_token, expires_at=now + CITIZEN_LIFETIME
            )
        else:
            existing = db.get(WebSession, _digest(cookie))
            row = existing or WebSession(
                id=_digest(cookie), csrf_token=state.csrf_token, expires_at=now + CITIZEN_LIFETIME
            )
        row.user_id = state.user_id
        row.data_json = json.dumps(state.data, ensure_ascii=False, default=str)
        row.last_seen_at = now
        row.expires_at = now + CITIZEN_LIFETIME
        db.add(row)
        db.commit()
        return cookie if cookie != state.cookie else None


def csrf_valid(state: SessionState, supplied: str | None) -> bool:
    return (
        bool(supplied)
        and state.row is not None
        and hmac.compare_digest(state.csrf_token, supplied or "")
    )


class SessionMiddleware:
    """Loads the session, enforces CSRF on unsafe form requests, saves and sets the cookie.

    Written as a plain ASGI middleware so the request body can be inspected for the CSRF
    field and then replayed to the application untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        if path.startswith(("/static/", "/api/", "/healthz")):
            await self.app(scope, receive, send)
            return
        state = load(request.cookies.get(COOKIE))
        scope.setdefault("state", {})
        scope["state"]["session"] = state
        if request.method in UNSAFE:
            limit = _body_limit()
            declared = int(request.headers.get("content-length") or 0)
            if declared > limit:
                await _refuse(request, scope, receive, send, 413)
                return
            body, receive = await _buffer(receive, limit)
            if body is None:
                await _refuse(request, scope, receive, send, 413)
                return
            supplied = request.headers.get(CSRF_HEADER) or _csrf_from_body(
                request.headers.get("content-type", ""), body
            )
            if not csrf_valid(state, supplied):
                await _refuse(request, scope, receive, send, 403)
                return
        secure = request.url.scheme == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = save(state, touch=True)
                if cookie is not None:
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", _cookie_header(cookie, secure).encode()))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie_header(value: str, secure: bool) -> str:
    parts = [f"{COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if not value:
        parts.append("Max-Age=0")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _body_limit() -> int:
    """The largest form body we accept: every file at its limit, plus the fields."""
    settings = get_settings()
    return settings.max_upload_bytes * settings.max_files_per_application + 1024 * 1024


async def _refuse(
    request: Request, scope: Scope, receive: Receive, send: Send, status: int
) -> None:
    from servicepoint.web import render, request_language

    lang = request_language(request)
    texts = {
        403: (
            "Formular abgelaufen",
            "Die Sitzung ist abgelaufen oder das Formular ist veraltet. "
            "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal. Ihre bisherigen "
            "Angaben sind gespeichert.",
            "Form expired",
            "The session expired or the form is out of date. Please reload "
            "the page and try again. What you entered so far is saved.",
        ),
        413: (
            "Zu große Anfrage",
            "Die gesendeten Dateien sind zusammen zu groß.",
            "Request too large",
            "The files sent are too large together.",
        ),
    }
    de_title, de_text, en_title, en_text = texts[status]
    title, text = (en_title, en_text) if lang == "en" else (de_title, de_text)
    response = render(request, "error.html", {"title": title, "message": text}, status_code=status)
    await response(scope, receive, send)


async def _buffer(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """Read the whole body (None when it passes ``limit``) and a receive that replays it."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _csrf_from_body(content_type: str, body: bytes) -> str | None:
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD)
        return values[0] if values else None
    if content_type.startswith("multipart/form-data"):
        marker = f'name="{CSRF_FIELD}"'.encode()
        at = body.find(marker)
        if at < 0:
            return None
        start = body.find(b"\r\n\r\n", at)
        end = body.find(b"\r\n", start + 4)
        if start < 0 or end < 0:
            return None
        return body[start + 4 : end].decode("utf-8", "replace").strip()
    return None


def session_of(request: Request) -> SessionState:
    state: SessionState = request.state.session
    return state
