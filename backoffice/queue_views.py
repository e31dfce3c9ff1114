"""The clerks' work queue (``/backoffice/vorgaenge``): filters, sorting, paging, and
taking a case from it or giving it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from backoffice import case_views, casefile, repository, service, staff_pages
from backoffice.formatting import Formatter
from backoffice.staff_pages import PageStaff
from intake.services import ReasonCode, ServiceDefinition, get_service, service_ids
from servicepoint import auth, i18n
from servicepoint.db import SessionDep
from servicepoint.errors import DomainError
from servicepoint.web import request_language

router = APIRouter(prefix="/backoffice", include_in_schema=False)


def _services() -> dict[str, ServiceDefinition]:
    return {service_id: get_service(service_id) for service_id in service_ids()}


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
    now = staff_pages.now()
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
        return f"{staff_pages.QUEUE}?{urlencode(kept)}" if kept else staff_pages.QUEUE

    return staff_pages.page(
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
            return case_views.case_page(request, session, user, case, errors, {}, exc.status_code)
        return _queue_page(request, session, user, errors, exc.status_code)
    session.commit()
    staff_pages.flash(
        request, "You are now working on case %(reference)s.", reference=application.reference
    )
    return staff_pages.see_other(f"{staff_pages.QUEUE}/{application_id}")


@router.post("/vorgaenge/{application_id}/freigeben", response_class=HTMLResponse)
def release(
    request: Request, application_id: str, session: SessionDep, user: PageStaff
) -> Response:
    application = service.release(session, application_id, user)
    session.commit()
    staff_pages.flash(
        request, "Case %(reference)s is back in the queue.", reference=application.reference
    )
    return staff_pages.see_other(staff_pages.QUEUE)
