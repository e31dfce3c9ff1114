"""Links from a case to its flow runs in the Prefect UI.

The flows tag every run with the case reference (``flows.applications._tag_run``); the
Prefect UI's run list filters by tag with ``/runs?tag=<reference>``. The case view also
lists the runs themselves, read from the Prefect API with a short timeout: when Prefect
is unreachable the case view still opens, with the filter link only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import httpx

from servicepoint.settings import Settings

log = logging.getLogger(__name__)
TIMEOUT = 2.0


@dataclass(slots=True)
class RunLink:
    name: str
    state: str
    started: datetime | None
    url: str


def runs_url(settings: Settings, reference: str) -> str:
    return f"{settings.prefect_ui_url}/runs?tag={quote(reference)}"


def runs_for(settings: Settings, reference: str) -> list[RunLink] | None:
    """The case's flow runs, newest first; None when the Prefect API did not answer."""
    body = {
        "flow_runs": {"tags": {"all_": [reference]}},
        "sort": "EXPECTED_START_TIME_DESC",
        "limit": 20,
    }
    try:
        response = httpx.post(
            f"{settings.effective_prefect_api_url}/flow_runs/filter", json=body, timeout=TIMEOUT
        )
        response.raise_for_status()
        runs = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.info("flow runs of %s not available: %s", reference, exc)
        return None
    links = []
    for run in runs if isinstance(runs, list) else []:
        state = run.get("state") or {}
        started = run.get("start_time") or run.get("expected_start_time")
        links.append(
            RunLink(
                name=str(run.get("name") or run.get("id")),
                state=str(state.get("name") or run.get("state_name") or ""),
                started=datetime.fromisoformat(started) if started else None,
                url=f"{settings.prefect_ui_url}/runs/flow-run/{run.get('id')}",
            )
        )
    return links
