"""Citizen portal pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from servicepoint.web import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse, name="start")
async def start(request: Request) -> HTMLResponse:
    return render(request, "intake/start.html")
