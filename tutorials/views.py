"""Pages of the tutorial library: the catalogue with search, the player page, the media
files (with range requests), and the administrators' upload page in the back office."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backoffice import staff_pages
from servicepoint.db import SessionDep, session_scope
from servicepoint.errors import NotFound
from servicepoint.web import render, request_language
from tutorials import repository, service
from tutorials.models import Tutorial
from tutorials.streaming import serve_file

router = APIRouter(tags=["tutorials"])

SERVICE_NAMES = {
    "anmeldung": ("Anmeldung einer Wohnung", "Registering your address"),
    "videosprechstunde": ("Videosprechstunde", "Video consultation"),
}
LANGUAGES = {"de": ("Deutsch", "German"), "en": ("Englisch", "English")}


def service_name(slug: str, lang: str) -> str:
    de, en = SERVICE_NAMES.get(slug, (slug, slug))
    return en if lang == "en" else de


def _context(request: Request) -> dict[str, Any]:
    lang = request_language(request)
    return {
        "service_name": lambda slug: service_name(slug, lang),
        "language_name": lambda code: LANGUAGES.get(code, (code, code))[lang == "en"],
        "minutes": _minutes,
    }


def _minutes(seconds: float | None) -> str:
    if not seconds:
        return ""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


@router.get("/tutorials", response_class=HTMLResponse, name="tutorial_library")
def library(
    request: Request,
    session: SessionDep,
    q: str | None = None,
    language: str | None = None,
) -> HTMLResponse:
    lang = request_language(request)
    chosen_service = request.query_params.get("service") or None
    chosen_language = lang if language is None else (language or None)
    query = (q or "").strip()[:200]
    found = service.search_catalogue(session, query or None, chosen_language, chosen_service)
    context = {
        **_context(request),
        "tutorials": found,
        "q": query,
        "chosen_language": chosen_language or "",
        "chosen_service": chosen_service or "",
        "services": repository.services(session),
    }
    return render(request, "tutorials/library.html", context)


@router.get("/tutorials/{slug}", response_class=HTMLResponse, name="tutorial_player")
def player(request: Request, session: SessionDep, slug: str, t: float | None = None) -> Response:
    tutorial = service.get(session, slug)
    siblings = [
        other
        for other in (repository.by_script(session, tutorial.script) if tutorial.script else [])
        if other.slug != tutorial.slug
    ]
    start = max(0.0, t or 0.0)
    context = {
        **_context(request),
        "tutorial": tutorial,
        "siblings": siblings,
        "start": start,
        "media": f"/tutorials/media/{tutorial.slug}",
        "web_video": _web_video(tutorial),
        "paragraphs": _paragraphs(tutorial.transcript),
    }
    return render(request, "tutorials/player.html", context)


def _web_video(tutorial: Tutorial) -> list[tuple[str, str]]:
    """(file name, type) of the video sources, MP4 first, WebM second."""
    sources = []
    for kind in ("mp4", "webm"):
        found = service.media_file(tutorial, kind)
        if found is not None:
            sources.append((found[0].name, found[1]))
    return sources


def _paragraphs(transcript: str) -> list[str]:
    return [" ".join(part.split()) for part in transcript.split("\n") if part.strip()]


@router.get("/tutorials/media/{slug}/{name}", name="tutorial_media")
def media(request: Request, slug: str, name: str) -> Response:
    # A short transaction of its own: the connection goes back to the pool before the
    # file is streamed (a long video must not hold a database connection).
    kind = name.rsplit(".", 1)[-1]
    with session_scope() as session:
        found = service.media_file(service.get(session, slug), kind)
    if found is None or found[0].name != name:
        raise NotFound()
    return serve_file(request, found[0], found[1])


# --- back office: uploads by administrators ----------------------------------------------------
@router.get("/backoffice/tutorials", response_class=HTMLResponse)
def admin_list(request: Request, session: SessionDep, user: staff_pages.PageAdmin) -> HTMLResponse:
    return _admin_page(request, session, user, {})


def _admin_page(
    request: Request,
    session: SessionDep,
    user: Any,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    ctx = {
        **_context(request),
        "tutorials": repository.listing(session),
        "section": "tutorials",
        "form": {},
        **context,
    }
    return staff_pages.page(request, "tutorials/admin.html", user, ctx, status_code=status_code)


@router.post("/backoffice/tutorials", response_class=HTMLResponse)
async def admin_upload(
    request: Request,
    session: SessionDep,
    user: staff_pages.PageAdmin,
    video: Annotated[UploadFile, File()],
    slug: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    summary: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "de",
    service_slug: Annotated[str, Form(alias="service")] = "",
    transcript: Annotated[str, Form()] = "",
    easy_language: Annotated[bool, Form()] = False,
) -> Response:
    lang = request_language(request)
    form = {
        "slug": slug.strip(),
        "title": title.strip(),
        "summary": summary.strip(),
        "language": language,
        "service": service_slug.strip(),
        "transcript": transcript.strip(),
        "easy_language": easy_language,
    }
    try:
        fields = service.upload_fields(form)
        suffix = (video.filename or "").rsplit(".", 1)[-1].lower()
        with tempfile.TemporaryDirectory(prefix="tutorial-upload-") as work:
            path = Path(work) / f"upload.{suffix}"
            await service.save_upload(video, path)
            row = service.store_upload(session, path, suffix, captions=None, **fields)
    except (service.UploadProblem, service.VideoRejected) as exc:
        field = exc.field if isinstance(exc, service.UploadProblem) else "video"
        message = exc.message(lang)
        # "field"/"message" for the message beside the field, "text"/"href" for the
        # back office's error summary at the top of the page.
        errors = [{"field": field, "message": message, "text": message, "href": f"#{field}"}]
        context = {"form": form, "errors": errors, "has_errors": True}
        return _admin_page(request, session, user, context, status_code=exc.status_code)
    session.commit()
    staff_pages.flash(request, "The tutorial %(title)s was published.", title=row.title)
    return RedirectResponse("/backoffice/tutorials", status_code=303)
