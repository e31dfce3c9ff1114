"""Server-rendered pages: templates, language, security headers, flash-free rendering.

Every page extends ``base.html`` (the city's header and footer, the language switch, the
links to the accessibility statement, Leichte Sprache and Gebärdensprache).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from servicepoint import domains, i18n
from servicepoint.settings import get_settings, local_time

LANG_COOKIE = "sp_lang"
_HERE = Path(__file__).resolve().parent


def _template_dirs() -> list[str]:
    """The kernel's templates first, then every registered domain's, in their order."""
    return [str(_HERE / "templates"), *(str(d) for d in domains.template_dirs())]


def build_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(d) for d in _template_dirs()]),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["local_time"] = local_time
    return env


templates = build_environment()


def request_language(request: Request) -> str:
    """Language from ?lang=, then the cookie, then Accept-Language; German by default."""
    return (
        i18n.normalize_language(request.query_params.get("lang"))
        or i18n.normalize_language(request.cookies.get(LANG_COOKIE))
        or i18n.from_accept_language(request.headers.get("accept-language"))
        or i18n.DEFAULT_LANGUAGE
    )


def url_with_lang(request: Request, lang: str) -> str:
    url = request.url.include_query_params(lang=lang)
    return f"{url.path}?{url.query}"


def translator(lang: str) -> tuple[Callable[..., Markup], Callable[..., Markup]]:
    """Newstyle gettext callables: ``_("Hello %(name)s", name=x)`` escapes ``x``."""
    translations = i18n.translations(lang)

    def gettext(message: str, **variables: Any) -> Markup:
        text = escape(translations.gettext(message))
        return text % variables if variables else text

    def ngettext(singular: str, plural: str, n: int, **variables: Any) -> Markup:
        text = escape(translations.ngettext(singular, plural, n))
        variables.setdefault("num", n)
        return text % variables

    return gettext, ngettext


def _csrf_token(request: Request) -> str:
    state = getattr(request.state, "session", None)
    return str(state.issue_csrf()) if state is not None else ""


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = request_language(request)
    gettext, ngettext = translator(lang)
    settings = get_settings()
    ctx: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "other_lang": "en" if lang == "de" else "de",
        "lang_switch_url": url_with_lang(request, "en" if lang == "de" else "de"),
        "settings": settings,
        "city": settings.city_name,
        "office": settings.office_name,
        "gettext": gettext,
        "ngettext": ngettext,
        "_": gettext,
        "csrf_token": _csrf_token(request),
    }
    ctx.update(context or {})
    html = templates.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") and i18n.normalize_language(
        request.query_params.get("lang")
    ):
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="lax"
        )
    return response


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)"
        )
        return response
