"""Render tutorials from their scripts when ``servicepoint.tutorial.published`` arrives.

Thin orchestration over ``tutorials.service`` and ``tutorials.render``: look up what to
render (one transaction), render outside any transaction (CPU work with PyAV, espeak-ng
when installed), then point the catalogue at the new files (one transaction). A repeated
event for an already rendered version does nothing.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from prefect import flow, get_run_logger, task

from servicepoint.db import session_scope
from tutorials import render, service

_T = TypeVar("_T")

RENDER_NICENESS = 10
"""How much lower the CPU priority of rendering is. Rendering is background work on the
machines that also read the citizens' documents: a tutorial takes one of 2 cores for
about 40 s, and the cases submitted meanwhile should not wait for it."""


def _lower_priority() -> None:
    # Linux keeps a nice value per thread; the encoder's threads and espeak-ng, started
    # from this thread, inherit it. The flow run's other threads keep theirs.
    thread = threading.get_native_id()
    current = os.getpriority(os.PRIO_PROCESS, thread)
    os.setpriority(os.PRIO_PROCESS, thread, min(19, current + RENDER_NICENESS))


def at_low_priority(call: Callable[..., _T], *args: object) -> _T:
    """Run ``call(*args)`` in a thread of its own at a CPU priority lowered by
    RENDER_NICENESS; its result or exception is the caller's."""
    with ThreadPoolExecutor(1, "render", initializer=_lower_priority) as pool:
        return pool.submit(call, *args).result()


@task(task_run_name="find {slug}")
def find_version(slug: str) -> render.Version | None:
    with session_scope() as session:
        return service.version_to_render(session, slug)


@task(task_run_name="render {version.slug}", retries=1, retry_delay_seconds=5)
def render_video(version: render.Version) -> render.Rendered:
    target = service.target_dir(version.slug, version.language, version.content_hash)
    return at_low_priority(render.render_version, version, target)


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
