"""Back-office sign-in and sign-out, the session keep-alive and changing one's password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from backoffice import service, staff_pages
from backoffice.staff_pages import PageStaff
from servicepoint.db import SessionDep
from servicepoint.errors import DomainError, InvalidInput
from servicepoint.security import CurrentStaff, authenticate, optional_staff
from servicepoint.sessions import session_of
from servicepoint.settings import get_settings
from servicepoint.web import request_language

router = APIRouter(prefix="/backoffice", include_in_schema=False)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/backoffice") and not value.startswith("//"):
        return value
    return staff_pages.QUEUE


@router.get("", response_class=HTMLResponse)
def home(user: PageStaff) -> Response:
    return staff_pages.see_other(staff_pages.QUEUE)


@router.get("/anmelden", response_class=HTMLResponse)
def sign_in_form(request: Request, session: SessionDep, next: str = "") -> Response:
    user = optional_staff(request, session)
    if user is not None and not user.must_change_password:
        return staff_pages.see_other(_safe_next(next))
    web_session = session_of(request)
    idle = bool(web_session.pop("signed_out_idle", False))
    signed_out = request.query_params.get("abgemeldet") == "1"
    return staff_pages.page(
        request,
        "backoffice/sign_in.html",
        None,
        {"next": _safe_next(next), "idle": idle, "signed_out": signed_out, "form": {}},
    )


@router.post("/anmelden", response_class=HTMLResponse)
def sign_in(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    lang = request_language(request)
    errors = []
    if not username.strip():
        errors.append(
            {
                "text": _msg(
                    lang, "Bitte geben Sie Ihren Benutzernamen ein.", "Please enter your username."
                ),
                "href": "#username",
            }
        )
    if not password:
        errors.append(
            {
                "text": _msg(
                    lang, "Bitte geben Sie Ihr Passwort ein.", "Please enter your password."
                ),
                "href": "#password",
            }
        )
    if not errors:
        try:
            user = authenticate(session, username.strip(), password)
        except DomainError as exc:
            errors.append({"text": exc.message(lang), "href": "#username"})
        else:
            assert user.id is not None
            session_of(request).sign_in(user.id)
            session.commit()
            if user.must_change_password:
                return staff_pages.see_other(staff_pages.PASSWORD)
            return staff_pages.see_other(_safe_next(next))
    return staff_pages.page(
        request,
        "backoffice/sign_in.html",
        None,
        {
            "next": _safe_next(next),
            "errors": errors,
            "has_errors": True,
            "form": {"username": username},
            "idle": False,
            "signed_out": False,
        },
        status_code=401,
    )


def _msg(lang: str, de: str, en: str) -> str:
    return en if lang == "en" else de


@router.post("/abmelden")
def sign_out(request: Request) -> Response:
    session_of(request).destroy()
    return staff_pages.see_other(f"{staff_pages.SIGN_IN}?abgemeldet=1")


@router.get("/sitzung")
def keep_alive(request: Request, user: CurrentStaff) -> JSONResponse:
    """Touched by the idle warning's "stay signed in" button: the session lives on."""
    settings = get_settings()
    return JSONResponse(
        {"user": user.username, "idle_seconds": settings.session_idle_minutes * 60},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/passwort", response_class=HTMLResponse)
def password_form(request: Request, user: PageStaff) -> HTMLResponse:
    return staff_pages.page(request, "backoffice/password.html", user, {"section": "password"})


@router.post("/passwort", response_class=HTMLResponse)
def change_password(
    request: Request,
    session: SessionDep,
    user: PageStaff,
    current: Annotated[str, Form(max_length=256)] = "",
    new: Annotated[str, Form(max_length=256)] = "",
    repeated: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    lang = request_language(request)
    try:
        service.change_password(session, user, current, new, repeated)
    except InvalidInput as exc:
        return staff_pages.page(
            request,
            "backoffice/password.html",
            user,
            {
                "errors": staff_pages.errors_from(exc, lang),
                "has_errors": True,
                "section": "password",
            },
            status_code=422,
        )
    session.commit()
    staff_pages.flash(request, "Your password was changed.")
    return staff_pages.see_other(staff_pages.QUEUE)
