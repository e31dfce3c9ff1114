"""Render tutorials from their scripts when ``servicepoint.tutorial.published`` arrives.

Thin orchestration over ``tutorials.service`` and ``tutorials.render``: look up what to
render (one transaction), render outside any transaction (CPU work with PyAV, espeak-ng
when installed), then point the catalogue at the new files (one transaction). A repeated
event for an already rendered version does nothing.
"""

from __future__ import annotations

import asyncio

from prefect import flow, get_run_logger, task

from servicepoint.db import session_scope
from tutorials import render, service


@task(task_run_name="find {slug}")
def find_version(slug: str) -> render.Version | None:
    with session_scope() as session:
        return service.version_to_render(session, slug)


@task(task_run_name="render {version.slug}", retries=1, retry_delay_seconds=5)
def render_video(version: render.Version) -> render.Rendered:
    target = service.target_dir(version.slug, version.language, version.content_hash)
    return render.render_version(version, target)


@task(task_run_name="publish {version.slug}")
def publish(version: render.Version, result: render.Rendered) -> None:
    with session_scope() as session:
        service.record_render(session, version, result)


def _failed(slug: str, message: str) -> None:
    with session_scope() as session:
        service.record_failure(session, slug, message)


@flow(name="render-tutorial", flow_run_name="render-tutorial/{tutorial}")
async def render_tutorial(tutorial: str) -> dict[str, object]:
    """Render one tutorial version (``tutorial``: slug or ``servicepoint.tutorial.<slug>``)."""
    slug = service.slug_from_resource(tutorial)
    logger = get_run_logger()
    version = await asyncio.to_thread(find_version, slug)
    if version is None:
        logger.info("%s: nothing to render (up to date, uploaded or unknown)", slug)
        return {"slug": slug, "rendered": False}
    try:
        result = await asyncio.to_thread(render_video, version)
    except Exception as exc:
        await asyncio.to_thread(_failed, slug, f"{type(exc).__name__}: {exc}")
        raise
    await asyncio.to_thread(publish, version, result)
    logger.info("%s: %.1f s of video, narrated=%s", slug, result.duration, result.narrated)
    return {"slug": slug, "rendered": True, "duration": result.duration}


@flow(name="sync-tutorials")
def sync_tutorials() -> list[str]:
    """Announce every tutorial script whose content changed (also run at runner start)."""
    with session_scope() as session:
        announced = service.sync_scripts(session)
    get_run_logger().info("announced for rendering: %s", announced)
    return announced
