"""Back-office pages for clerks and administrators (all under ``/backoffice``).

Thin: parse the form, call :mod:`backoffice.service`, commit, redirect (post/redirect/get).
A refused change re-renders the page with an explanation and the clerk's input. Every
page but sign-in and sign-out needs a signed-in staff member (``PageStaff``) or an
administrator (``PageAdmin``); ``tests/backoffice/test_authorization.py`` enumerates the
routes and checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from sqlmodel import Session

from backoffice import casefile, dashboard, flowruns, pages, repository, service
from backoffice.casefile import N_
from backoffice.formatting import Formatter
from intake.applications import processing
from intake.applications import service as intake_service
from intake.applications.models import Application, Document, Status
from intake.assistant import service as assistant_service
from intake.services import ServiceDefinition, get_service, service_ids
from intake.services.base import ReasonCode
from servicepoint import auth, i18n
from servicepoint.db import SessionDep
from servicepoint.errors import DomainError, InvalidInput, NotFound
from servicepoint.security import CurrentStaff, authenticate, optional_staff
from servicepoint.sessions import session_of
from servicepoint.settings import get_settings
from servicepoint.web import render, request_language

router = APIRouter(prefix="/backoffice", include_in_schema=False)

SIGN_IN = "/backoffice/anmelden"
PASSWORD = "/backoffice/passwort"
QUEUE = "/backoffice/vorgaenge"


def _now() -> datetime:
    return datetime.now(UTC)


def _services() -> dict[str, ServiceDefinition]:
    return {service_id: get_service(service_id) for service_id in service_ids()}


def _see_other(url: str) -> RedirectResponse:
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


def _page(
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
        "fmt": Formatter(lang, _now()),
        "idle_seconds": settings.session_idle_minutes * 60,
        "flash": flash,
        "section": "",
        "reason_names": casefile.REASON_NAMES,
        "doc_type_labels": casefile.DOC_TYPE_LABELS,
        "prefect_ui_url": settings.prefect_ui_url,
    }
    ctx.update(context or {})
    return render(request, template, ctx, status_code=status_code)


def _flash(request: Request, message: str, **values: Any) -> None:
    session_of(request)["flash"] = {"message": message, "values": values}


def _errors_from(
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


# --- signing in and out -----------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/backoffice") and not value.startswith("//"):
        return value
    return QUEUE


@router.get("", response_class=HTMLResponse)
def home(user: PageStaff) -> Response:
    return _see_other(QUEUE)


@router.get("/anmelden", response_class=HTMLResponse)
def sign_in_form(request: Request, session: SessionDep, next: str = "") -> Response:
    user = optional_staff(request, session)
    if user is not None and not user.must_change_password:
        return _see_other(_safe_next(next))
    web_session = session_of(request)
    idle = bool(web_session.pop("signed_out_idle", False))
    signed_out = request.query_params.get("abgemeldet") == "1"
    return _page(
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
                return _see_other(PASSWORD)
            return _see_other(_safe_next(next))
    return _page(
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
    return _see_other(f"{SIGN_IN}?abgemeldet=1")


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
    return _page(request, "backoffice/password.html", user, {"section": "password"})


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
        return _page(
            request,
            "backoffice/password.html",
            user,
            {"errors": _errors_from(exc, lang), "has_errors": True, "section": "password"},
            status_code=422,
        )
    session.commit()
    _flash(request, "Your password was changed.")
    return _see_other(QUEUE)


# --- the work queue -----------------------------------------------------------------------


def _queue_query(request: Request) -> repository.QueueQuery:
    params = request.query_params
    query = repository.QueueQuery()
    services = _services()
    if params.get("service") in services:
        query.service = str(params["service"])
    if params.get("reason") in ReasonCode._value2member_map_:
        query.reason = str(params["reason"])
    if params.get("age") in repository.AGE_BUCKETS:
        query.age = str(params["age"])
    if params.get("due") in repository.DUE_WINDOWS:
        query.due = str(params["due"])
    if params.get("claim") in ("free", "mine", "others"):
        query.claim = str(params["claim"])
    if params.get("waiting") in ("yes", "no"):
        query.waiting = str(params["waiting"])
    if params.get("sort") in repository.SORTS:
        query.sort = str(params["sort"])
    if params.get("dir") in ("asc", "desc"):
        query.direction = str(params["dir"])
    page = params.get("page", "1")
    query.page = int(page) if page.isdigit() and 0 < len(page) < 7 else 1
    return query


def _queue_page(
    request: Request,
    session: Session,
    user: auth.User,
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    query = _queue_query(request)
    now = _now()
    result = repository.queue_page(session, query, user.username, now)
    holders = {row.claimed_by for row in result.rows if row.claimed_by}
    names = repository.user_names(session, sorted(holders))
    lang = request_language(request)
    services = {
        key: (definition.name_en if lang == "en" else definition.name_de)
        for key, definition in _services().items()
    }
    rows = _queue_rows(result.rows, lang, now, names, services, user.username)
    filters = {
        k: v
        for k, v in {
            "service": query.service,
            "reason": query.reason,
            "age": query.age,
            "due": query.due,
            "claim": query.claim,
            "waiting": query.waiting,
        }.items()
        if v
    }

    def queue_url(**changes: Any) -> str:
        params: dict[str, Any] = {
            **filters,
            "sort": query.sort,
            "dir": query.direction,
            "page": result.page,
        }
        params.update(changes)
        defaults = {"sort": "due", "dir": "asc", "page": 1}
        kept = {k: v for k, v in params.items() if v and defaults.get(k) != v}
        return f"{QUEUE}?{urlencode(kept)}" if kept else QUEUE

    return _page(
        request,
        "backoffice/queue.html",
        user,
        {
            "section": "queue",
            "query": query,
            "result": result,
            "rows": rows,
            "services": services,
            "reason_codes": [code.value for code in ReasonCode],
            "age_buckets": list(repository.AGE_BUCKETS),
            "filters": filters,
            "queue_url": queue_url,
            "claim_query": f"?{request.url.query}" if request.url.query else "",
            "errors": errors or [],
            "has_errors": bool(errors),
        },
        status_code=status_code,
    )


@dataclass(slots=True)
class QueueRowView:
    """Everything a queue row shows, as text (attribute access renders fastest)."""

    id: str
    reference: str
    version: int
    service: str
    reasons: list[str]
    received: str
    age: str
    due: str
    due_note: str
    overdue: bool
    holder: str
    mine: bool
    waiting: bool


def _queue_rows(
    rows: list[repository.QueueRow],
    lang: str,
    now: datetime,
    names: dict[str, str],
    services: dict[str, str],
    username: str,
) -> list[QueueRowView]:
    """The rows as text: the page is rendered many times a minute by every clerk, and
    plain values render several times faster than calls from the template."""
    translations = i18n.translations(lang)
    text, plural = translations.gettext, translations.ngettext
    fmt = Formatter(lang, now)
    reason_names = {code: text(name) for code, name in casefile.REASON_NAMES.items()}
    views = []
    for row in rows:
        age = fmt.age_days(row.received_at)
        left = fmt.days_left(row.due_date)
        if left is None:
            due_note, overdue = "", False
        elif left < 0:
            due_note, overdue = text("Overdue"), True
        elif left == 0:
            due_note, overdue = text("Due today"), True
        else:
            due_note = plural("in %(num)s day", "in %(num)s days", left) % {"num": left}
            overdue = False
        views.append(
            QueueRowView(
                id=row.id,
                reference=row.reference,
                version=row.version,
                service=services.get(row.service, row.service),
                reasons=[reason_names.get(code, code) for code in row.reasons],
                received=fmt.date(row.received_at),
                age=plural("%(num)s day ago", "%(num)s days ago", age) % {"num": age},
                due=fmt.date(row.due_date),
                due_note=due_note,
                overdue=overdue,
                holder=names.get(row.claimed_by, row.claimed_by) if row.claimed_by else "",
                mine=row.claimed_by == username,
                waiting=row.waiting_since is not None,
            )
        )
    return views


@router.get("/vorgaenge", response_class=HTMLResponse)
def queue(request: Request, session: SessionDep, user: PageStaff) -> HTMLResponse:
    return _queue_page(request, session, user)


@router.post("/vorgaenge/{application_id}/uebernehmen", response_class=HTMLResponse)
def claim(
    request: Request,
    application_id: str,
    session: SessionDep,
    user: PageStaff,
    version: Annotated[int, Form()] = 0,
    back: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    lang = request_language(request)
    try:
        application = service.claim(session, application_id, version, user)
    except DomainError as exc:
        session.rollback()
        errors = [{"text": exc.message(lang), "href": f"#case-{application_id}"}]
        if back == "case":
            case = service.get_case(session, application_id)
            return _case_page(request, session, user, case, errors, {}, exc.status_code)
        return _queue_page(request, session, user, errors, exc.status_code)
    session.commit()
    _flash(request, "You are now working on case %(reference)s.", reference=application.reference)
    return _see_other(f"{QUEUE}/{application_id}")


@router.post("/vorgaenge/{application_id}/freigeben", response_class=HTMLResponse)
def release(
    request: Request, application_id: str, session: SessionDep, user: PageStaff
) -> Response:
    application = service.release(session, application_id, user)
    session.commit()
    _flash(request, "Case %(reference)s is back in the queue.", reference=application.reference)
    return _see_other(QUEUE)


# --- the case -------------------------------------------------------------------------------


def _case_page(
    request: Request,
    session: Session,
    user: auth.User,
    application: Application,
    errors: list[dict[str, str]] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = get_settings()
    case = casefile.build(session, application)
    service_definition = get_service(application.service)
    requests = repository.requests_of(session, application.id)
    waiting = repository.open_requests_since(session, [application.id]).get(application.id)
    names = repository.user_names(
        session, [n for n in {application.claimed_by, application.decided_by} if n]
    )
    return _page(
        request,
        "backoffice/case.html",
        user,
        {
            "section": "queue",
            "application": application,
            "case": case,
            "service": service_definition,
            "requests": requests,
            "waiting_since": waiting,
            "names": names,
            "mine": application.claimed_by == user.username,
            "in_review": application.status == Status.REVIEW,
            "runs": flowruns.runs_for(settings, application.reference),
            "runs_url": flowruns.runs_url(settings, application.reference),
            "errors": errors or [],
            "has_errors": bool(errors),
            "form": form or {},
        },
        status_code=status_code,
    )


@router.get("/vorgaenge/{application_id}", response_class=HTMLResponse)
def case_view(
    request: Request, application_id: str, session: SessionDep, user: PageStaff
) -> HTMLResponse:
    application = service.get_case(session, application_id)
    return _case_page(request, session, user, application)


@router.get("/vorgaenge/{application_id}/dokumente/{document_id}/seiten/{position}.png")
def page_image(
    application_id: str, document_id: int, position: int, session: SessionDep, user: PageStaff
) -> Response:
    import json

    document = session.get(Document, document_id)
    if document is None or document.application_id != application_id:
        raise NotFound()
    reading = json.loads(document.reading_json) if document.reading_json else {}
    data = pages.page_png(get_settings(), document, reading, position)
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=600"})


@router.get("/vorgaenge/{application_id}/dokumente/{document_id}/original")
def original_file(
    application_id: str, document_id: int, session: SessionDep, user: PageStaff
) -> Response:
    """The upload as the citizen sent it (also documents handed in but not read yet)."""
    document = session.get(Document, document_id)
    if document is None or document.application_id != application_id or document.purged_at:
        raise NotFound()
    path = processing.stored_path(document.sha256, get_settings())
    if not path.is_file():
        raise NotFound()
    extension = {"application/pdf": "pdf", "image/png": "png", "image/tiff": "tif"}.get(
        document.media_type, "jpg"
    )
    return FileResponse(
        path,
        media_type=document.media_type,
        filename=f"{application_id[:8]}-{document_id}.{extension}",
        content_disposition_type="inline",
        headers={"Cache-Control": "private, no-store"},
    )


def _refused(
    request: Request,
    session: Session,
    user: auth.User,
    application_id: str,
    exc: DomainError,
    form: dict[str, Any],
    id_format: str,
    fallback: str,
) -> HTMLResponse:
    """Re-render the case with the explanation and what the clerk typed."""
    session.rollback()
    application = service.get_case(session, application_id)
    errors = _errors_from(exc, request_language(request), fallback, id_format)
    return _case_page(request, session, user, application, errors, form, exc.status_code)


@router.post("/vorgaenge/{application_id}/korrektur", response_class=HTMLResponse)
def correct(
    request: Request,
    application_id: str,
    session: SessionDep,
    user: PageStaff,
    version: Annotated[int, Form()] = 0,
    target: Annotated[str, Form(max_length=120)] = "",
    value: Annotated[str, Form(max_length=600)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    document_id: Annotated[int | None, Form()] = None,
    anchor: Annotated[str, Form(max_length=120, pattern=r"^[a-z0-9_-]*$")] = "",
) -> Response:
    """``target`` is ``document:<field>`` (what was read) or ``form:<path>`` (typed)."""
    kind, _, name = target.partition(":")
    change = service.Correction(kind, name, value, note, document_id)
    form = {"kind": "correction", "anchor": anchor, "target": target, "value": value, "note": note}
    try:
        application = service.correct(session, application_id, version, user, change)
    except DomainError as exc:
        return _refused(
            request, session, user, application_id, exc, form, "{field}-" + anchor, f"#{anchor}"
        )
    session.commit()
    _flash(request, "The value was corrected and the change recorded.")
    return _see_other(f"{QUEUE}/{application.id}#{anchor}")


@router.post("/vorgaenge/{application_id}/nachforderung", response_class=HTMLResponse)
def request_document(
    request: Request,
    application_id: str,
    session: SessionDep,
    user: PageStaff,
    version: Annotated[int, Form()] = 0,
    slot: Annotated[str, Form(max_length=64)] = "",
    message: Annotated[str, Form(max_length=4000)] = "",
    person: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    form = {"kind": "request", "slot": slot, "message": message, "person": person}
    try:
        document_request = service.request_document(
            session,
            application_id,
            version,
            user,
            slot,
            message,
            int(person) if person.isdigit() else None,
        )
    except DomainError as exc:
        return _refused(
            request, session, user, application_id, exc, form, "request-{field}", "#requests"
        )
    session.commit()
    application = service.get_case(session, application_id)
    mailed = service.notify_document_request(session, application, document_request)
    _flash(
        request,
        N_("The applicant was asked for the document and told by e-mail.")
        if mailed
        else N_("The applicant was asked for the document; the request shows on the status page."),
    )
    return _see_other(f"{QUEUE}/{application_id}")


@router.post("/vorgaenge/{application_id}/nachforderung/erledigt", response_class=HTMLResponse)
def close_request(
    request: Request,
    application_id: str,
    session: SessionDep,
    user: PageStaff,
    version: Annotated[int, Form()] = 0,
) -> Response:
    try:
        service.close_request(session, application_id, version, user)
    except DomainError as exc:
        return _refused(request, session, user, application_id, exc, {}, "{field}", "#requests")
    session.commit()
    _flash(request, "The request to the applicant is closed.")
    return _see_other(f"{QUEUE}/{application_id}")


@router.post("/vorgaenge/{application_id}/entscheidung", response_class=HTMLResponse)
def decide(
    request: Request,
    application_id: str,
    session: SessionDep,
    user: PageStaff,
    version: Annotated[int, Form()] = 0,
    outcome: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    form = {"kind": "decision", "outcome": outcome, "reason": reason}
    try:
        application = service.get_case(session, application_id)
        open_findings = casefile.build(session, application).open_findings
        application = service.decide(
            session, application_id, version, user, outcome, reason, open_findings
        )
    except DomainError as exc:
        return _refused(
            request, session, user, application_id, exc, form, "decision-{field}", "#decision"
        )
    session.commit()
    message = (
        N_("Case %(reference)s is approved.")
        if application.status == Status.APPROVED
        else N_("Case %(reference)s is rejected.")
    )
    _flash(request, message, reference=application.reference)
    return _see_other(f"{QUEUE}/{application_id}")


@router.get("/vorgaenge/{application_id}/protokoll", response_class=HTMLResponse)
def audit(
    request: Request, application_id: str, session: SessionDep, user: PageStaff
) -> HTMLResponse:
    import json

    application = service.get_case(session, application_id)
    entries = []
    for entry in intake_service.audit_of(session, application):
        details = json.loads(entry.details_json or "{}")
        entries.append({"entry": entry, "details": details})
    actors = [e["entry"].actor for e in entries]
    return _page(
        request,
        "backoffice/audit.html",
        user,
        {
            "section": "queue",
            "application": application,
            "entries": entries,
            "action_labels": casefile.ACTION_LABELS,
            "names": repository.user_names(session, sorted(set(actors))),
        },
    )


# --- administration ----------------------------------------------------------------------


@router.get("/verwaltung", response_class=HTMLResponse)
def admin_dashboard(request: Request, session: SessionDep, user: PageAdmin) -> HTMLResponse:
    figures = dashboard.figures(session, _now())
    summary = assistant_service.unanswered_summary(session)
    return _page(
        request,
        "backoffice/dashboard.html",
        user,
        {"section": "dashboard", "figures": figures, "summary": summary},
    )


@router.get("/verwaltung/kennzahlen.csv")
def admin_csv(request: Request, session: SessionDep, user: PageAdmin) -> Response:
    lang = request_language(request)
    text = dashboard.daily_csv(session, _now(), lang)
    filename = f"servicepoint-kennzahlen-{_now():%Y-%m-%d}.csv"
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
        "now": _now(),
    }
    context.update(extra or {})
    return _page(request, "backoffice/accounts.html", user, context, status_code=status_code)


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
        errors = _errors_from(exc, request_language(request))
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
    _flash(request, "The role of %(name)s was changed.", name=account.username)
    return _see_other("/backoffice/verwaltung/konten")


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
    _flash(request, message, name=account.username)
    return _see_other("/backoffice/verwaltung/konten")


@router.post("/verwaltung/konten/{user_id}/passwort", response_class=HTMLResponse)
def account_password(
    request: Request, user_id: int, session: SessionDep, user: PageAdmin
) -> HTMLResponse:
    account, password = service.reset_password(session, user, user_id)
    session.commit()
    return _accounts_page(
        request, session, user, {"one_time": {"username": account.username, "password": password}}
    )
