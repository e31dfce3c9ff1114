"""Administration (``/backoffice/verwaltung``): the dashboard, its CSV export, accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from backoffice import dashboard, repository, service, staff_pages
from backoffice.casefile import N_
from backoffice.staff_pages import PageAdmin
from intake.assistant import service as assistant_service
from servicepoint import auth
from servicepoint.db import SessionDep
from servicepoint.errors import InvalidInput
from servicepoint.web import request_language

router = APIRouter(prefix="/backoffice", include_in_schema=False)


@router.get("/verwaltung", response_class=HTMLResponse)
def admin_dashboard(request: Request, session: SessionDep, user: PageAdmin) -> HTMLResponse:
    figures = dashboard.figures(session, staff_pages.now())
    summary = assistant_service.unanswered_summary(session)
    return staff_pages.page(
        request,
        "backoffice/dashboard.html",
        user,
        {"section": "dashboard", "figures": figures, "summary": summary},
    )


@router.get("/verwaltung/kennzahlen.csv")
def admin_csv(request: Request, session: SessionDep, user: PageAdmin) -> Response:
    lang = request_language(request)
    text = dashboard.daily_csv(session, staff_pages.now(), lang)
    filename = f"servicepoint-kennzahlen-{staff_pages.now():%Y-%m-%d}.csv"
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _accounts_page(
    request: Request,
    session: Session,
    user: auth.User,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "section": "accounts",
        "accounts": repository.users(session),
        "form": {},
        "errors": [],
        "now": staff_pages.now(),
    }
    context.update(extra or {})
    return staff_pages.page(
        request, "backoffice/accounts.html", user, context, status_code=status_code
    )


@router.get("/verwaltung/konten", response_class=HTMLResponse)
def accounts(request: Request, session: SessionDep, user: PageAdmin) -> HTMLResponse:
    return _accounts_page(request, session, user)


@router.post("/verwaltung/konten", response_class=HTMLResponse)
def create_account(
    request: Request,
    session: SessionDep,
    user: PageAdmin,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=128)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
) -> HTMLResponse:
    form = {"username": username, "display_name": display_name, "email": email, "role": role}
    try:
        account, password = service.create_account(
            session, user, username, display_name, email, role
        )
    except InvalidInput as exc:
        session.rollback()
        errors = staff_pages.errors_from(exc, request_language(request))
        return _accounts_page(
            request,
            session,
            user,
            {"form": form, "errors": errors, "has_errors": True},
            status_code=422,
        )
    session.commit()
    return _accounts_page(
        request, session, user, {"one_time": {"username": account.username, "password": password}}
    )


@router.post("/verwaltung/konten/{user_id}/rolle", response_class=HTMLResponse)
def account_role(
    request: Request,
    user_id: int,
    session: SessionDep,
    user: PageAdmin,
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    account = service.set_role(session, user, user_id, role)
    session.commit()
    staff_pages.flash(request, "The role of %(name)s was changed.", name=account.username)
    return staff_pages.see_other("/backoffice/verwaltung/konten")


@router.post("/verwaltung/konten/{user_id}/aktiv", response_class=HTMLResponse)
def account_active(
    request: Request,
    user_id: int,
    session: SessionDep,
    user: PageAdmin,
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    account = service.set_active(session, user, user_id, active == "1")
    session.commit()
    message = (
        N_("The account %(name)s is active again.")
        if account.is_active
        else N_("The account %(name)s is deactivated.")
    )
    staff_pages.flash(request, message, name=account.username)
    return staff_pages.see_other("/backoffice/verwaltung/konten")


@router.post("/verwaltung/konten/{user_id}/passwort", response_class=HTMLResponse)
def account_password(
    request: Request, user_id: int, session: SessionDep, user: PageAdmin
) -> HTMLResponse:
    account, password = service.reset_password(session, user, user_id)
    session.commit()
    return _accounts_page(
        request, session, user, {"one_time": {"username": account.username, "password": password}}
    )
