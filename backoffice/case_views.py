"""One case in the back office: its page with the documents and page images, corrections,
requests for a further document, the decision and the audit trail.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlmodel import Session

from backoffice import casefile, flowruns, pages, repository, service, staff_pages
from backoffice.casefile import N_
from backoffice.staff_pages import PageStaff
from intake.applications import processing
from intake.applications import service as intake_service
from intake.applications.models import Application, Document, Status
from intake.services import get_service
from servicepoint import auth
from servicepoint.db import SessionDep
from servicepoint.errors import DomainError, NotFound
from servicepoint.settings import get_settings
from servicepoint.web import request_language

router = APIRouter(prefix="/backoffice", include_in_schema=False)


def case_page(
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
    return staff_pages.page(
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
    return case_page(request, session, user, application)


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
    errors = staff_pages.errors_from(exc, request_language(request), fallback, id_format)
    return case_page(request, session, user, application, errors, form, exc.status_code)


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
    staff_pages.flash(request, "The value was corrected and the change recorded.")
    return staff_pages.see_other(f"{staff_pages.QUEUE}/{application.id}#{anchor}")


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
    staff_pages.flash(
        request,
        N_("The applicant was asked for the document and told by e-mail.")
        if mailed
        else N_("The applicant was asked for the document; the request shows on the status page."),
    )
    return staff_pages.see_other(f"{staff_pages.QUEUE}/{application_id}")


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
    staff_pages.flash(request, "The request to the applicant is closed.")
    return staff_pages.see_other(f"{staff_pages.QUEUE}/{application_id}")


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
    staff_pages.flash(request, message, reference=application.reference)
    return staff_pages.see_other(f"{staff_pages.QUEUE}/{application_id}")


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
    return staff_pages.page(
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
