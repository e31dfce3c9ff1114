"""The status page behind a case's secret link: a timeline from the audit trail, what
happens next, a document a clerk asked for, the letter of a completed case; and the JSON
the page's poller (``static/js/portal.js``) asks for, so the page updates itself while
the case is processed.

Access: the citizen's token, kept in the session after submitting or after opening the
secret link once (``?token=`` is then exchanged for the clean URL) or typing the access
code. Without it every case, existing or not, shows the same access form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from babel.dates import format_datetime
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from intake.applications import completion, uploads
from intake.applications import service as applications
from intake.applications.models import CLOSED_STATUSES, Application, AuditEntry, Status
from intake.portal import forms, portal
from intake.portal.pages import (
    fail,
    flash,
    page,
    partial,
    read_form,
    redirect,
    state_of,
    take_errors,
    take_flash,
    too_many,
    upload_error,
)
from servicepoint import db
from servicepoint.errors import NotFound
from servicepoint.settings import get_settings, local_time
from servicepoint.web import request_language, translator

router = APIRouter(include_in_schema=False)

_ID = re.compile(r"^[0-9a-f]{32}$")
POLL_SECONDS = 3

# Audit actions a citizen sees on the timeline; the rest is internal bookkeeping.
TIMELINE_ACTIONS = {
    "submitted",
    "processing_started",
    "queued_for_review",
    "document_requested",
    "document_added",
    "decided",
    "completed",
    "documents_purged",
}


def _when(value: datetime, lang: str) -> str:
    moment = local_time(value)
    pattern = "d. MMMM y, HH:mm 'Uhr'" if lang == "de" else "d MMMM y, HH:mm"
    return str(format_datetime(moment, pattern, locale=lang))


def _details(entry: AuditEntry) -> dict[str, Any]:
    try:
        details = json.loads(entry.details_json or "{}")
    except json.JSONDecodeError:
        return {}
    return details if isinstance(details, dict) else {}


def open_request(entries: Sequence[AuditEntry], application: Application) -> dict[str, Any] | None:
    """The clerk's latest request for a document, unless answered or the case is closed."""
    if application.status in CLOSED_STATUSES:
        return None
    latest: dict[str, Any] | None = None
    for entry in entries:
        if entry.action == "document_requested":
            latest = {**_details(entry), "at": entry.at}
        elif entry.action == "document_added" and latest is not None:
            latest = None
    return latest


def _letter_ready(application: Application) -> bool:
    if application.completed_at is None:
        return False
    kind = "approved" if application.status == Status.APPROVED else "rejected"
    settings = get_settings()
    return (settings.shared_data_dir / "cases" / application.id / f"{kind}.pdf").is_file()


def status_context(session: Session, application: Application, lang: str) -> dict[str, Any]:
    entries = applications.audit_of(session, application)
    timeline = [
        {
            "action": entry.action,
            "to_status": entry.to_status,
            "when": _when(entry.at, lang),
            "details": _details(entry),
            "reason": entry.reason,
        }
        for entry in entries
        if entry.action in TIMELINE_ACTIONS
    ]
    letter = _letter_ready(application)
    last_id = entries[-1].id if entries else 0
    final = application.status in CLOSED_STATUSES and (
        letter or application.documents_purged_at is not None
    )
    return {
        "application": application,
        "status": application.status,
        "timeline": list(reversed(timeline)),
        "request": open_request(entries, application),
        "letter": letter,
        "fingerprint": f"{application.status}.{last_id}.{int(letter)}",
        "final": final,
        "poll_seconds": POLL_SECONDS,
        "accept": portal.ACCEPT_ATTRIBUTE,
    }


def _case(session: Session, request: Request, application_id: str) -> Application | None:
    token = portal.case_token(state_of(request), application_id)
    if token is None:
        return None
    try:
        return applications.for_citizen(session, application_id, token)
    except NotFound:
        return None


def _status_page(request: Request, application_id: str) -> HTMLResponse:
    lang = request_language(request)
    errors, _kept = take_errors(request)
    with db.session_scope() as session:
        application = _case(session, request, application_id)
        if application is None:
            return page(
                request,
                "intake/status_access.html",
                {"application_id": application_id, "back_url": None},
                errors,
            )
        context = status_context(session, application, lang)
    return page(
        request,
        "intake/status.html",
        {**context, "flash": take_flash(state_of(request)), "back_url": None},
        errors,
    )


def _check_id(application_id: str) -> None:
    if not _ID.match(application_id):
        raise NotFound()


@router.get("/antrag/{application_id}", response_class=HTMLResponse)
def status_page(request: Request, application_id: str) -> Response:
    _check_id(application_id)
    token = request.query_params.get("token")
    if token:
        with db.session_scope() as session:
            applications.for_citizen(session, application_id, token)  # 404 when wrong
        portal.remember_case(state_of(request), application_id, token)
        response = redirect(f"/antrag/{application_id}")
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response
    return _status_page(request, application_id)


@router.post("/antrag/{application_id}/zugang")
async def status_access(request: Request, application_id: str) -> Response:
    """The access code from the confirmation (the secret link's token), typed or pasted."""
    _check_id(application_id)
    code = forms.clean((await read_form(request)).get("code"))
    code = code.rsplit("token=", 1)[-1].strip()  # a pasted secret link works too
    wait = portal.rate_limited(request.client.host if request.client else None)
    if wait:
        return too_many(request, wait, f"/antrag/{application_id}")

    def known() -> bool:
        with db.session_scope() as session:
            try:
                applications.for_citizen(session, application_id, code)
            except NotFound:
                return False
            return True

    if not code or not await run_in_threadpool(known):
        error = forms.FieldError(
            "code",
            "The access code is not correct. Copy it from your "
            "confirmation page or use the personal link",
        )
        return fail(request, [error], url=f"/antrag/{application_id}")
    portal.remember_case(state_of(request), application_id, code)
    return redirect(f"/antrag/{application_id}")


@router.get("/antrag/{application_id}/status.json")
def status_json(request: Request, application_id: str) -> JSONResponse:
    """The status region for the page's poller; same access as the page."""
    _check_id(application_id)
    lang = request_language(request)
    with db.session_scope() as session:
        application = _case(session, request, application_id)
        if application is None:
            raise NotFound()
        context = status_context(session, application, lang)
    html = partial(request, "intake/_status_region.html", context)
    gettext, _ = translator(lang)
    response = JSONResponse(
        {
            "status": context["status"],
            "fingerprint": context["fingerprint"],
            "final": context["final"],
            "html": html,
            "announcement": str(gettext("The status of your application was updated.")),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/antrag/{application_id}/nachreichen")
async def hand_in_document(request: Request, application_id: str) -> Response:
    """Upload the document a clerk asked for."""
    _check_id(application_id)
    form = await read_form(request)
    upload = form.get("document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        missing = forms.FieldError("document", "Choose the file you want to upload")
        return fail(request, [missing], url=f"/antrag/{application_id}")
    filename, content = upload.filename, await upload.read()
    wait = portal.rate_limited(request.client.host if request.client else None)
    if wait:
        return too_many(request, wait, f"/antrag/{application_id}")

    def hand_in() -> forms.FieldError | None:
        with db.session_scope() as session:
            application = _case(session, request, application_id)
            if application is None:
                raise NotFound()
            request_details = open_request(applications.audit_of(session, application), application)
            if request_details is None:
                return forms.FieldError(
                    "document", "No document is requested for this application at the moment"
                )
            slot = request_details.get("slot")
            person = request_details.get("person")
            try:
                applications.add_document(
                    session,
                    application,
                    applications.IncomingFile(filename, content),
                    str(slot) if slot else None,
                    "citizen",
                    person=person if isinstance(person, int) else None,
                )
            except uploads.UploadRejected as exc:
                session.rollback()
                return upload_error("document", exc)
            return None

    problem: forms.FieldError | None = await run_in_threadpool(hand_in)
    if problem is not None:
        return fail(request, [problem], url=f"/antrag/{application_id}")
    flash(state_of(request), {"kind": "handed_in", "names": [filename]})
    return redirect(f"/antrag/{application_id}")


@router.get("/antrag/{application_id}/schreiben.pdf")
def letter(request: Request, application_id: str) -> FileResponse:
    """The confirmation or decision letter of a completed case."""
    _check_id(application_id)
    with db.session_scope() as session:
        application = _case(session, request, application_id)
        if application is None or not _letter_ready(application):
            raise NotFound()
        path = completion.ensure_letter(application).pdf_path
        reference = application.reference
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=f"{reference}.pdf",
        headers={"Cache-Control": "no-store"},
    )
