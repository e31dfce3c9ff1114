"""Health of the parts the web app depends on (CONTRACTS §5)."""

from __future__ import annotations

import logging

import httpx

from servicepoint import db
from servicepoint.settings import get_settings

log = logging.getLogger(__name__)


def check_database() -> str:
    try:
        db.ping()
    except Exception as exc:  # noqa: BLE001  (any failure means: not ok)
        log.warning("database health check failed: %s", exc)
        return "error"
    return "ok"


async def check_prefect(timeout: float = 2.0) -> str:
    url = get_settings().effective_prefect_api_url + "/health"
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        log.info("prefect health check failed: %s", exc)
        return "unreachable"
    return "ok" if response.status_code == 200 else f"http {response.status_code}"


async def health() -> tuple[int, dict[str, str]]:
    database = check_database()
    prefect = await check_prefect()
    ok = database == "ok" and prefect == "ok"
    body = {"status": "ok" if ok else "degraded", "database": database, "prefect": prefect}
    return (200 if ok else 503), body
