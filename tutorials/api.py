"""The tutorials API (CONTRACTS §6): catalogue and search, anonymous view/completion
counters, and the administrators' upload of a finished video."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from servicepoint.db import SessionDep
from servicepoint.security import CurrentAdmin
from tutorials import service
from tutorials.schemas import TutorialPublic

router = APIRouter(prefix="/api/v1", tags=["tutorials"])


@router.get("/tutorials", response_model=list[TutorialPublic])
def list_tutorials(
    session: SessionDep,
    request: Request,
    q: str | None = None,
    lang: str | None = None,
) -> list[TutorialPublic]:
    chosen_service = request.query_params.get("service") or None
    rows = service.search_catalogue(session, (q or "")[:200] or None, lang, chosen_service)
    return [TutorialPublic(**service.public(row)) for row in rows]


@router.get("/tutorials/{slug}", response_model=TutorialPublic)
def get_tutorial(session: SessionDep, slug: str) -> TutorialPublic:
    return TutorialPublic(**service.public(service.get(session, slug)))


@router.post("/tutorials/{slug}/views", status_code=204)
def count_view(session: SessionDep, slug: str) -> Response:
    service.count(session, service.get(session, slug), completion=False)
    session.commit()
    return Response(status_code=204)


@router.post("/tutorials/{slug}/completions", status_code=204)
def count_completion(session: SessionDep, slug: str) -> Response:
    service.count(session, service.get(session, slug), completion=True)
    session.commit()
    return Response(status_code=204)


@router.post("/admin/tutorials", response_model=TutorialPublic, status_code=201)
async def upload_tutorial(
    session: SessionDep,
    user: CurrentAdmin,
    video: Annotated[UploadFile, File()],
    slug: Annotated[str, Form()],
    title: Annotated[str, Form()],
    summary: Annotated[str, Form()],
    transcript: Annotated[str, Form()],
    service_slug: Annotated[str, Form(alias="service")],
    language: Annotated[str, Form()] = "de",
    easy_language: Annotated[bool, Form()] = False,
    captions: Annotated[UploadFile | None, File()] = None,
) -> TutorialPublic:
    """Publish a finished MP4/WebM; refused with 413/415/422 and a specific message."""
    fields = service.upload_fields(
        {
            "slug": slug,
            "title": title,
            "summary": summary,
            "transcript": transcript,
            "service": service_slug,
            "language": language,
            "easy_language": easy_language,
        }
    )
    vtt = (await captions.read()).decode("utf-8", "replace") if captions else None
    if vtt is not None and not vtt.lstrip("\ufeff").startswith("WEBVTT"):
        raise service.UploadProblem(
            "captions", "Die Untertitel sind keine WebVTT-Datei.", "The captions are not WebVTT."
        )
    suffix = (video.filename or "").rsplit(".", 1)[-1].lower()
    with tempfile.TemporaryDirectory(prefix="tutorial-upload-") as work:
        path = Path(work) / f"upload.{suffix}"
        await service.save_upload(video, path)
        row = service.store_upload(session, path, suffix, captions=vtt, **fields)
    session.commit()
    return TutorialPublic(**service.public(row))
