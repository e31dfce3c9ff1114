"""Rendering the citizen portal's pages: the page context every form needs, errors that
survive the redirect after a refused form, one-time notices, template fragments.

Every form posts to its own page and answers with a redirect (post/redirect/get), also
when it is refused: the errors and the input wait in the session for the page's next GET
(:func:`fail`, :func:`take_errors`). The browser history then holds only GET pages, so
reloading and the back button never resubmit anything or meet a "resubmit?" page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from intake.applications import uploads
from intake.portal import forms, portal
from servicepoint.sessions import SessionState, session_of
from servicepoint.settings import get_settings
from servicepoint.web import render, request_language, templates, translator

CHANGE = "aendern"  # ?aendern=1: came from the check page, go back there afterwards
FLASH_KEY = "portal_flash"
ERRORS_KEY = "portal_errors"  # errors of a refused form, shown once by the page's GET


def state_of(request: Request) -> SessionState:
    return session_of(request)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def changing(request: Request) -> bool:
    return request.query_params.get(CHANGE) == "1"


def action(request: Request) -> str:
    """The page's own URL (its form posts back to it), keeping ``?aendern=1``."""
    return f"{request.url.path}?{CHANGE}=1" if changing(request) else request.url.path


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    errors: Sequence[forms.FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    lang = request_language(request)
    shown = forms.shown(errors, lang)
    ctx = {
        "errors": shown,
        "field_errors": forms.errors_by_target(shown),
        "has_errors": bool(shown),
        "action": action(request),
        "changing": changing(request),
        "service": forms.service(),
        "limits": portal.Limits.from_settings(get_settings()),
        "options_of": lambda member: forms.options(member, lang),
        **context,
    }
    response = render_page(request, template, ctx, status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def render_page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return render(request, template, context, status_code=status_code)


def partial(request: Request, template: str, context: dict[str, Any]) -> str:
    """A template fragment (the status region) with the same globals as a page."""
    lang = request_language(request)
    gettext, ngettext = translator(lang)
    ctx = {
        "request": request,
        "lang": lang,
        "_": gettext,
        "gettext": gettext,
        "ngettext": ngettext,
        "csrf_token": state_of(request).issue_csrf(),
        "limits": portal.Limits.from_settings(get_settings()),
        "field_errors": {},
        **context,
    }
    return templates.get_template(template).render(ctx)


async def read_form(request: Request) -> FormData:
    settings = get_settings()
    return await request.form(max_files=settings.max_files_per_application + 5, max_fields=200)


def fail(
    request: Request,
    errors: Sequence[forms.FieldError],
    values: Mapping[str, Any] | None = None,
    url: str | None = None,
) -> RedirectResponse:
    """Keep a refused form's errors and input in the session and show them on the page's
    GET: the browser history then holds only GET pages, so the back button never meets
    a "resubmit the form?" page."""
    target = url or action(request)
    state_of(request)[ERRORS_KEY] = {
        "url": target,
        "errors": [dataclasses.asdict(error) for error in errors],
        "values": dict(values) if values is not None else None,
    }
    return redirect(target)


def take_errors(request: Request) -> tuple[list[forms.FieldError], dict[str, Any] | None]:
    """The errors (and the input) a refused form left for this page, once."""
    state = state_of(request)
    stored = state.get(ERRORS_KEY)
    if not isinstance(stored, dict) or stored.get("url") != action(request):
        return [], None
    state.pop(ERRORS_KEY)
    errors = [forms.FieldError(**error) for error in stored.get("errors") or []]
    values = stored.get("values")
    return errors, values if isinstance(values, dict) else None


def flash(state: SessionState, message: dict[str, Any]) -> None:
    state[FLASH_KEY] = message


def take_flash(state: SessionState) -> dict[str, Any] | None:
    if state.get(FLASH_KEY) is None:
        return None
    flash = state.pop(FLASH_KEY)
    return flash if isinstance(flash, dict) else None


def too_many(request: Request, wait: float, return_url: str) -> HTMLResponse:
    """The 429 page: how long to wait, and the way back (nothing typed is lost)."""
    response = page(
        request,
        "intake/rate_limited.html",
        {"seconds": max(1, round(wait)), "back_url": None, "return_url": return_url},
        status_code=429,
    )
    response.headers["Retry-After"] = str(max(1, round(wait)))
    return response


def upload_error(field_name: str, exc: uploads.UploadRejected) -> forms.FieldError:
    return forms.FieldError(field_name, text_de=exc.message_de, text_en=exc.message_en)
