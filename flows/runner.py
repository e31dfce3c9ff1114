"""The flow runner of the embedded stack (``python -m flows.runner``).

Reads the deployments declared in ``prefect.yaml`` and serves them, with their triggers
and schedules, from this process; the same file is what a process work pool uses when
the office scales out (``prefect deploy``). Also runs the outbox relay.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from pathlib import Path
from typing import Any

import httpx
import yaml

from servicepoint.events import relay_forever
from servicepoint.settings import get_settings

log = logging.getLogger("servicepoint.flows")

TRIGGER_GRACE_SECONDS = 1.0  # the server's trigger service picks new automations up

PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"


def load_declarations(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    return list(data.get("deployments") or [])


def load_flow(entrypoint: str) -> Any:
    """Import ``flows/module.py:function`` as a flow object."""
    file_part, _, attr = entrypoint.partition(":")
    module_name = file_part.removesuffix(".py").replace("/", ".")
    return getattr(importlib.import_module(module_name), attr)


async def build_deployments(declarations: list[dict[str, Any]]) -> list[Any]:
    from prefect.client.schemas.schedules import construct_schedule
    from prefect.events import DeploymentEventTrigger

    deployments = []
    for spec in declarations:
        flow = load_flow(spec["entrypoint"])
        triggers = [
            DeploymentEventTrigger(**{k: v for k, v in t.items() if k != "type"})
            for t in spec.get("triggers") or []
        ]
        schedules = [
            construct_schedule(
                **{k: v for k, v in s.items() if k in ("cron", "interval", "timezone", "rrule")}
            )
            for s in spec.get("schedules") or []
        ]
        deployments.append(
            await flow.ato_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=spec.get("tags") or [],
                parameters=spec.get("parameters") or {},
                triggers=triggers or None,
                schedules=schedules or None,
                concurrency_limit=spec.get("concurrency_limit"),
            )
        )
    return deployments


async def ensure_concurrency_limits(slots: int) -> None:
    """The global limit that keeps OCR at one tesseract process per core."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    from flows.applications import OCR_LIMIT

    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(OCR_LIMIT)
        except ObjectNotFound:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=OCR_LIMIT, limit=slots)
            )
        else:
            await client.update_global_concurrency_limit(
                OCR_LIMIT, GlobalConcurrencyLimitUpdate(limit=slots)
            )


async def wait_for_prefect(api_url: str) -> None:
    """Block until the Prefect API answers; an outage is waited out, not fatal."""
    delay = 1.0
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(f"{api_url}/health", timeout=5)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            log.warning("Prefect API %s not reachable; waiting %.0f s", api_url, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)


async def automation_ids(api_url: str) -> set[str]:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api_url}/automations/filter", json={}, timeout=10)
        response.raise_for_status()
        return {a["id"] for a in response.json()}


async def wait_for_triggers(
    deployments: list[Any], api_url: str, before: set[str], serving: asyncio.Task[None]
) -> None:
    """Wait until serving has (re)created every deployment trigger as an automation.

    Serving a deployment deletes its automations and creates them anew; an event
    published in between starts nothing. So the outbox relay starts only after this
    (the sweeper would re-announce such cases, but minutes later).
    """
    wanted = {t.name for d in deployments for t in (d.triggers or []) if t.name}
    async with httpx.AsyncClient() as client:
        for _ in range(120):
            if serving.done():
                serving.result()  # re-raise why serving stopped
                raise RuntimeError("serving stopped before the triggers existed")
            response = await client.post(f"{api_url}/automations/filter", json={}, timeout=10)
            response.raise_for_status()
            fresh = {a["name"] for a in response.json() if a["id"] not in before}
            if wanted <= fresh:
                break
            await asyncio.sleep(0.5)
        else:
            log.warning("triggers not all visible after 60 s: %s", ", ".join(sorted(wanted)))
    await asyncio.sleep(TRIGGER_GRACE_SECONDS)


async def serve_until_cancelled(
    api_url: str, slots: int, flow_run_limit: int, ready: asyncio.Event
) -> None:
    """Serve the deployments; when Prefect goes away, wait for it and serve again."""
    from prefect import aserve

    while True:
        await wait_for_prefect(api_url)
        serving: asyncio.Task[None] | None = None
        try:
            await ensure_concurrency_limits(slots)
            deployments = await build_deployments(load_declarations())
            before = await automation_ids(api_url)
            serving = asyncio.create_task(
                aserve(
                    *deployments,
                    print_starting_message=False,
                    pause_on_shutdown=False,  # other runners may still serve the schedules
                    limit=flow_run_limit,
                )
            )
            await wait_for_triggers(deployments, api_url, before, serving)
            ready.set()
            log.info("serving %d deployment(s)", len(deployments))
            await serving
            return
        except (httpx.HTTPError, OSError, RuntimeError) as exc:
            log.warning("lost the Prefect API (%s); serving again once it is back", exc)
            await asyncio.sleep(1.0)
        finally:
            if serving is not None and not serving.done():
                serving.cancel()


async def announce_tutorials() -> None:
    """Put changed tutorial scripts in the outbox; the render flow picks them up."""
    from tutorials.service import sync_at_start

    try:
        announced = await asyncio.to_thread(sync_at_start)
    except Exception:  # a broken script must not stop the runner
        log.exception("could not sync the tutorial scripts")
        return
    if announced:
        log.info("tutorials to render in the background: %s", ", ".join(announced))


async def relay_when_ready(api_url: str, ready: asyncio.Event) -> None:
    await ready.wait()
    await relay_forever(api_url)


async def main() -> None:
    settings = get_settings()
    api_url = settings.effective_prefect_api_url
    ready = asyncio.Event()
    if not load_declarations():
        ready.set()
    relay = asyncio.create_task(relay_when_ready(api_url, ready))
    await announce_tutorials()
    try:
        if load_declarations():
            await serve_until_cancelled(
                api_url, max(1, settings.ocr_workers), settings.flow_runs_per_runner, ready
            )
        else:
            await relay
    finally:
        relay.cancel()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
