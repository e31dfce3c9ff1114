"""What every back-office page shares: who may see it (``PageStaff``, ``PageAdmin``),
rendering it in the back office's frame (``page``), the one-time message shown on the
next page (``flash``), an error summary from a refused change (``errors_from``).

The public face of the back office for other domains' staff pages (video, tutorials,
the assistant's admin page); the pages themselves are in ``auth_views``, ``queue_views``,
``case_views`` and ``admin_views``. Every page but sign-in and sign-out needs a signed-in
staff member (``PageStaff``) or an administrator (``PageAdmin``);
``tests/backoffice/test_authorization.py`` enumerates the routes and checks it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse

from backoffice import casefile
from backoffice.formatting import Formatter
from servicepoint import auth
from servicepoint.db import SessionDep
from servicepoint.errors import DomainError
from servicepoint.security import optional_staff
from servicepoint.sessions import session_of
from servicepoint.settings import get_settings
from servicepoint.web import render, request_language

SIGN_IN = "/backoffice/anmelden"
PASSWORD = "/backoffice/passwort"
QUEUE = "/backoffice/vorgaenge"


def now() -> datetime:
    return datetime.now(UTC)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- who may see a page ---------------------------------------------------------------


def page_staff(request: Request, session: SessionDep) -> auth.User:
    """A signed-in clerk or administrator; anyone else is sent to the sign-in page."""
    user = optional_staff(request, session)
    if user is None:
        target = request.url.path
        if request.url.query:
            target += f"?{request.url.query}"
        location = SIGN_IN if request.method != "GET" else f"{SIGN_IN}?next={quote(target)}"
        raise HTTPException(status_code=303, headers={"Location": location})
    if user.must_change_password and request.url.path != PASSWORD:
        raise HTTPException(status_code=303, headers={"Location": PASSWORD})
    return user


def page_admin(user: Annotated[auth.User, Depends(page_staff)]) -> auth.User:
    if user.role != auth.Role.ADMIN:
        from servicepoint.errors import Forbidden

        raise Forbidden()
    return user


PageStaff = Annotated[auth.User, Depends(page_staff)]
PageAdmin = Annotated[auth.User, Depends(page_admin)]


# --- rendering ----------------------------------------------------------------------------


def page(
    request: Request,
    template: str,
    user: auth.User | None,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = get_settings()
    lang = request_language(request)
    web_session = session_of(request)
    flash = web_session.pop("flash") if web_session.get("flash") else None
    ctx: dict[str, Any] = {
        "user": user,
        "is_admin": user is not None and user.role == auth.Role.ADMIN,
        "fmt": Formatter(lang, now()),
        "idle_seconds": settings.session_idle_minutes * 60,
        "flash": flash,
        "section": "",
        "reason_names": casefile.REASON_NAMES,
        "doc_type_labels": casefile.DOC_TYPE_LABELS,
        "prefect_ui_url": settings.prefect_ui_url,
    }
    ctx.update(context or {})
    return render(request, template, ctx, status_code=status_code)


def flash(request: Request, message: str, **values: Any) -> None:
    session_of(request)["flash"] = {"message": message, "values": values}


def errors_from(
    exc: DomainError, lang: str, fallback: str = "", id_format: str = "{field}"
) -> list[dict[str, str]]:
    """An error summary linking each problem to its field (``id_format`` names the id).

    Problems with their own message get one entry each; otherwise the error's message is
    shown once, linked to the first named field (or to ``fallback``).
    """
    items: list[dict[str, str]] = []
    details = exc.details if isinstance(exc.details, list) else []
    named = [p for p in details if isinstance(p, dict) and p.get("field")]
    for problem in named:
        text = problem.get("message_en" if lang == "en" else "message_de")
        if text:
            href = "#" + id_format.format(field=problem["field"])
            items.append({"text": str(text), "href": href})
    if not items:
        href = "#" + id_format.format(field=named[0]["field"]) if named else fallback
        items.append({"text": exc.message(lang), "href": href})
    return items
