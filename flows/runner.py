"""The flow runner of the embedded stack (``python -m flows.runner``).

Reads the deployments declared in ``prefect.yaml`` and serves them, with their triggers
and schedules, from this process; the same file is what a process work pool uses when
the office scales out (``prefect deploy``). Also runs the outbox relay.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
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


def module_of(entrypoint: str) -> str:
    """``flows/module.py:function`` → ``flows.module``."""
    return entrypoint.partition(":")[0].removesuffix(".py").replace("/", ".")


def load_flow(entrypoint: str) -> Any:
    """Import ``flows/module.py:function`` as a flow object."""
    return getattr(importlib.import_module(module_of(entrypoint)), entrypoint.partition(":")[2])


def entry_modules(declarations: list[dict[str, Any]]) -> list[str]:
    """The modules of the declared flows, in declaration order, without duplicates."""
    return list(dict.fromkeys(module_of(spec["entrypoint"]) for spec in declarations))


# What a flow run imports besides its flow module: the engine, and what Prefect imports
# lazily on the way into the first task (measured: 35 ms more in every run otherwise).
# A module missing from another Prefect version is skipped by the forkserver.
ENGINE_MODULES = (
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.utilities.visualization",
    "anyio._backends._asyncio",
)


class _ForkserverOnly:
    """Stands in for the ``multiprocessing`` module inside ``prefect.flow_engine``.

    Every context asked for is the preloaded forkserver; everything else is the module.
    """

    def __init__(self, context: Any) -> None:
        self._context = context

    def get_context(self, method: str | None = None) -> Any:
        return self._context

    def __getattr__(self, name: str) -> Any:
        import multiprocessing

        return getattr(multiprocessing, name)


def start_flow_runs_warm(modules: list[str]) -> None:
    """Start flow-run processes by forking a process that has Prefect and the flows loaded.

    Prefect's runner starts every flow run in a fresh interpreter (multiprocessing
    "spawn"), which imports Prefect and the flow modules again: 3.7 s median from pickup
    to running on 2 cores, most of a case's latency. A forkserver imports them once;
    each run is then a fork of it. The flow run still gets its own process, so a crash
    or a kill of one run leaves the runner and the other runs alone, as with spawn.
    Prefect's runner calls ``multiprocessing.get_context("spawn")`` in
    ``prefect.flow_engine``; that lookup is the one thing replaced here.
    """
    import multiprocessing
    from multiprocessing import forkserver

    import prefect.flow_engine

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*ENGINE_MODULES, *modules, "flows.warmup"])
    forkserver.ensure_running()
    prefect.flow_engine.multiprocessing = _ForkserverOnly(context)  # type: ignore[attr-defined,assignment]


async def add_declared_flows(runner: Any, declarations: list[dict[str, Any]]) -> list[Any]:
    """Register every declared deployment with ``runner``; returns their triggers.

    The flows are added as flow objects (not as deployments loaded from an entrypoint),
    so the runner starts their runs from the imported flow, in a forked process when
    ``start_flow_runs_warm`` is on, instead of through ``python -m prefect.engine``.
    """
    from prefect.client.schemas.schedules import construct_schedule
    from prefect.events import DeploymentEventTrigger

    all_triggers: list[Any] = []
    for spec in declarations:
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
        await runner.aadd_flow(
            load_flow(spec["entrypoint"]),
            name=spec["name"],
            description=spec.get("description"),
            tags=spec.get("tags") or [],
            parameters=spec.get("parameters") or {},
            triggers=triggers or None,
            schedules=schedules or None,
            concurrency_limit=spec.get("concurrency_limit"),
        )
        all_triggers.extend(triggers)  # named by now: "<deployment>__automation_<n>"
    return all_triggers


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
    triggers: list[Any], api_url: str, before: set[str], serving: asyncio.Task[None]
) -> None:
    """Wait until serving has (re)created every deployment trigger as an automation.

    Serving a deployment deletes its automations and creates them anew; an event
    published in between starts nothing. So the outbox relay starts only after this
    (the sweeper would re-announce such cases, but minutes later).
    """
    wanted = {t.name for t in triggers if t.name}
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


class _Stopper:
    """The flow runner's SIGTERM handler, in every phase of its life.

    Installed when the process starts: a SIGTERM while it still waits for Prefect or
    declares its deployments (before Prefect's runner serves) ends the process at once,
    with exit code 0. While a runner serves, it stops that runner instead: Prefect's own
    handler calls ``stop()`` from inside the event loop, where it only creates the
    ``astop()`` coroutine and drops it ("coroutine 'Runner.astop' was never awaited"),
    then exits with SystemExit through the loop; this schedules ``astop()`` on the loop,
    so serving ends, and with it the process.
    """

    def __init__(self) -> None:
        self.runner: Any = None
        self.serving: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def serve(self, runner: Any, serving: asyncio.Task[None]) -> None:
        self.runner, self.serving, self.loop = runner, serving, asyncio.get_running_loop()

    def __call__(self, *_args: Any) -> None:
        log.info("SIGTERM received; stopping the flow runner")
        runner, serving, loop = self.runner, self.serving, self.loop
        if (
            runner is None
            or not runner.started
            or serving is None
            or serving.done()
            or loop is None
            or loop.is_closed()
        ):
            raise SystemExit(0)  # nothing is being served (yet, or any more)
        asyncio.run_coroutine_threadsafe(runner.astop(), loop)


STOPPER = _Stopper()


def _runner_class() -> Any:
    """Prefect's Runner, stopped on SIGTERM by :data:`STOPPER` (it installs its own
    handler when it starts)."""
    from prefect.runner import Runner

    class ServiceRunner(Runner):  # type: ignore[misc]
        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            STOPPER(*args)

    return ServiceRunner


async def serve_until_cancelled(
    api_url: str, declarations: list[dict[str, Any]], flow_run_limit: int, ready: asyncio.Event
) -> None:
    """Serve the deployments; when Prefect goes away, wait for it and serve again."""
    runner_class = _runner_class()
    while True:
        await wait_for_prefect(api_url)
        serving: asyncio.Task[None] | None = None
        try:
            before = await automation_ids(api_url)
            # pause_on_shutdown=False: other runners may still serve the schedules
            runner = runner_class(pause_on_shutdown=False, limit=flow_run_limit)
            triggers = await add_declared_flows(runner, declarations)
            serving = asyncio.create_task(runner.start())
            STOPPER.serve(runner, serving)
            await wait_for_triggers(triggers, api_url, before, serving)
            ready.set()
            log.info("serving %d deployment(s)", len(declarations))
            await serving
            return
        except (httpx.HTTPError, OSError, RuntimeError) as exc:
            log.warning("lost the Prefect API (%s); serving again once it is back", exc)
            await asyncio.sleep(1.0)
        except ExceptionGroup as group:
            # Prefect's runner gives up after three failed polls and raises them from its
            # task group: the same loss of the API, wrapped (the runner used to die of it).
            lost, other = group.split((httpx.HTTPError, OSError, RuntimeError))
            if other is not None or lost is None:
                raise
            log.warning("lost the Prefect API (%s); serving again once it is back", lost)
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
    declarations = load_declarations()
    if not declarations:
        ready.set()
    elif settings.warm_flow_runs:
        start_flow_runs_warm(entry_modules(declarations))
    relay = asyncio.create_task(relay_when_ready(api_url, ready))
    await announce_tutorials()
    try:
        if declarations:
            await serve_until_cancelled(api_url, declarations, settings.flow_runs_per_runner, ready)
        else:
            await relay
    finally:
        relay.cancel()


# Loggers whose INFO lines are routine traffic: the HTTP client logs every request, and
# the runner polls the Prefect API for scheduled runs every second (one line each).
QUIET_LOGGERS = ("httpx", "httpcore")


class _WaitingRunsFilter(logging.Filter):
    """Drops the runner's "Aborted submission ... non-pending state" lines.

    A run held back by its deployment's concurrency limit (tutorials render one at a
    time) stays Scheduled; the runner offers it again at every poll and logs each
    refusal, one line per waiting run per second. The run still shows in the Prefect UI.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (message.startswith("Aborted submission") and "non-pending" in message)


def configure_logging() -> None:
    """INFO for what an operator needs (case states, failures); routine polling left out."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("prefect.runner.state_proposer").addFilter(_WaitingRunsFilter())


if __name__ == "__main__":
    configure_logging()
    signal.signal(signal.SIGTERM, STOPPER)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
