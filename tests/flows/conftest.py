"""Helpers of the flow tests; the fixtures themselves live in tests/conftest.py so that
one runner and one SMTP server serve the whole session."""

from typing import Any

from tests.conftest import (
    Mailbox,
    PrefectServer,
    Runner,
    runner_for,
    wait_for_deployments,
)

__all__ = [
    "Mailbox",
    "PrefectServer",
    "Runner",
    "flow_runs_for",
    "runner_for",
    "wait_for_deployments",
]


async def flow_runs_for(reference: str) -> list[Any]:
    """A case's flow runs: every run is tagged with the case reference."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    async with get_client() as client:
        return list(
            await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[reference])),
                sort=FlowRunSort.START_TIME_ASC,
                limit=50,
            )
        )
