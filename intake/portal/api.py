"""The applications API (CONTRACTS §2)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from intake.applications import service as applications
from intake.applications.models import Application
from servicepoint.db import SessionDep
from servicepoint.errors import InvalidInput, NotFound, TooLarge
from servicepoint.security import CurrentStaff, OptionalStaff, bearer_token
from servicepoint.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["applications"])


class SubmittedOut(BaseModel):
    id: str
    reference: str
    access_token: str
    status: str


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    """Read an upload, refusing it as soon as it passes the byte limit."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            megabytes = limit // (1024 * 1024)
            raise TooLarge(
                f"Die Datei „{upload.filename}“ ist größer als {megabytes} MB.",
                f"The file '{upload.filename}' is larger than {megabytes} MB.",
                details=[{"field": f"files[{upload.filename}]", "code": "too_large"}],
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_application(raw: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "Der Teil „application“ ist kein gültiges JSON.",
            "The part 'application' is not valid JSON.",
            details=[{"field": "application", "code": "invalid_json", "message": str(exc)}],
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInput(
            "Der Teil „application“ muss ein JSON-Objekt sein.",
            "The part 'application' must be a JSON object.",
            details=[{"field": "application", "code": "not_an_object"}],
        )
    return data


@router.post("/applications", status_code=202, response_model=SubmittedOut)
async def submit_application(
    session: SessionDep,
    application: Annotated[str, Form(description="the application JSON (CONTRACTS §1)")],
    files: Annotated[list[UploadFile] | None, File(description="one part per upload")] = None,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
) -> JSONResponse:
    """Submit an application with its documents; processing happens in the background."""
    settings = get_settings()
    data = _parse_application(application)
    incoming = [
        applications.IncomingFile(
            upload.filename or f"upload-{index}",
            await _read_limited(upload, settings.max_upload_bytes),
        )
        for index, upload in enumerate(files or [])
    ]
    options = applications.SubmissionOptions(
        channel="api",
        email=(data.get("contact") or {}).get("email")
        if isinstance(data.get("contact"), dict)
        else None,
        idempotency_key=idempotency_key,
    )
    # Off the event loop: a submission may wait for another one's transaction (the same
    # idempotency key), and the loop serves every other request and the video relay.
    submitted = await run_in_threadpool(
        applications.submit, session, data, incoming, options, settings
    )
    body = SubmittedOut(
        id=submitted.application.id,
        reference=submitted.application.reference,
        access_token=submitted.access_token,
        status=submitted.application.status,
    )
    return JSONResponse(body.model_dump(), status_code=202 if submitted.created else 200)


@router.get("/applications/{application_id}")
def get_application(
    application_id: str, request: Request, session: SessionDep, staff: OptionalStaff
) -> dict[str, Any]:
    """The status of a case, for the citizen (its access token) or for staff."""
    if staff is not None:
        case = session.get(Application, application_id)
        if case is None:
            raise NotFound()
    else:
        case = applications.for_citizen(session, application_id, bearer_token(request))
    return applications.public_view(session, case)


class DecisionIn(BaseModel):
    outcome: str
    reason: str = ""
    version: int | None = None


@router.post("/applications/{application_id}/decision")
def decide_application(
    application_id: str, body: DecisionIn, session: SessionDep, staff: CurrentStaff
) -> dict[str, Any]:
    """A clerk approves or rejects a case in review; the finishing flow follows."""
    from intake.applications import processing

    case = applications.get(session, application_id)
    processing.decide_by_clerk(
        session, case, body.outcome, body.reason, staff.username, body.version
    )
    return applications.public_view(session, case)
