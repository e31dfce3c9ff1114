"""The web application factory: mounts every registered domain's routers and middleware
(servicepoint.domains), static files and the error handling shared by all of them."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from servicepoint import domains, health
from servicepoint.errors import DomainError, NotFound
from servicepoint.sessions import SessionMiddleware
from servicepoint.web import SecurityHeaders, render, request_language

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent

kernel = APIRouter()


@lru_cache(maxsize=1)
def _static_pages() -> dict[str, Any]:
    with (_HERE / "content" / "pages.json").open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@kernel.get("/healthz", tags=["health"])
async def healthz() -> JSONResponse:
    status, body = await health.health()
    return JSONResponse(body, status_code=status)


@kernel.get("/{slug}", include_in_schema=False, name="static_page")
async def static_page(request: Request, slug: str) -> Response:
    pages = _static_pages()
    if slug not in pages:
        raise NotFound()
    page = pages[slug][request_language(request)]
    return render(request, "page.html", {"page": page})


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def _error_response(
    request: Request, status: int, code: str, message: str, details: Any = None
) -> Response:
    if _wants_json(request):
        body: dict[str, Any] = {"error": code, "message": message}
        if details is not None:
            body["detail"] = details
        return JSONResponse(body, status_code=status)
    return render(
        request,
        "error.html",
        {"title": message if status >= 500 else _title_for(request, status), "message": message},
        status_code=status,
    )


def _title_for(request: Request, status: int) -> str:
    lang = request_language(request)
    titles = {
        404: ("Seite nicht gefunden", "Page not found"),
        403: ("Kein Zugriff", "Access denied"),
        401: ("Anmeldung erforderlich", "Sign-in required"),
    }
    de, en = titles.get(status, ("Es ist ein Problem aufgetreten", "There is a problem"))
    return en if lang == "en" else de


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        lang = request_language(request)
        return _error_response(request, exc.status_code, exc.code, exc.message(lang), exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        lang = request_language(request)
        if exc.status_code == 404:
            err: DomainError = NotFound()
            return _error_response(request, 404, err.code, err.message(lang))
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        response = _error_response(request, exc.status_code, "http_error", detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg")}
            for err in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid_input", "message": "Invalid input", "detail": problems},
            status_code=422,
        )


def create_app() -> FastAPI:
    app = FastAPI(
        title="ServicePoint",
        version="0.1.0",
        description="The virtual citizen office: applications, back office, consultations, "
        "tutorials.",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.add_middleware(SessionMiddleware)
    app.add_middleware(SecurityHeaders)
    for middleware in domains.middleware():  # outside the kernel's (e.g. video's routing)
        app.add_middleware(middleware)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    for router in domains.routers():  # every registered domain's, in their declared order
        app.include_router(router)
    # The catch-all static pages come last, after every domain's routes.
    app.include_router(kernel)
    return app
