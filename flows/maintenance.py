"""Scheduled housekeeping: re-announce stuck cases, delete expired documents."""

from __future__ import annotations

import logging
from datetime import timedelta

from prefect import flow, get_run_logger

from intake.applications import processing, service
from intake.applications.models import Application
from intake.portal import portal
from servicepoint.db import session_scope
from servicepoint.settings import Settings, get_settings


@flow(name="sweep-stuck")
def sweep_stuck(stuck_after_minutes: float | None = None) -> dict[str, int]:
    """Re-emit the events of cases that have not moved for a while (every 5 minutes).

    A case whose flow run is still scheduled (waiting in a backlog: process-application
    for a submitted case, finish-application for a decided one) is not stuck:
    announcing it again would queue a second run behind the first. Runs that were
    picked up but hang (pending or running) do not count: their cases are swept."""
    minutes = stuck_after_minutes
    if minutes is None:
        minutes = get_settings().stuck_after_minutes
    queued = queued_cases()
    finishing = queued_cases(("finish-application",))
    with session_scope() as session:
        counts = processing.sweep_stuck(
            session,
            timedelta(minutes=minutes),
            queued=queued,
            finishing=finishing,
            start=start_processing,
        )
    get_run_logger().info(
        "swept: %s (scheduled in Prefect: %d to process, %d to finish)",
        counts,
        len(queued),
        len(finishing),
    )
    return counts


def start_processing(application: Application) -> bool:
    """Create the case's process-application run directly (not through an event): its
    first announcement created no run, so this does not depend on the event path."""
    from prefect.deployments import run_deployment

    try:
        run_deployment(
            "process-application/process-application",
            parameters={
                "application_id": service.resource_id(application),
                "reference": application.reference,
            },
            timeout=0,
            as_subflow=False,
            tags=[application.reference, "servicepoint", "swept"],
        )
    except Exception:  # noqa: BLE001 - the event path remains as the fallback
        logging.getLogger("servicepoint.flows").warning(
            "could not start %s directly; announcing it again", application.reference, exc_info=True
        )
        return False
    return True


def queued_cases(deployments: tuple[str, ...] = ("process-application",)) -> set[str]:
    """Application ids with a flow run that is scheduled (late ones included)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    queued: set[str] = set()
    waiting = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
    )
    try:
        with get_client(sync_client=True) as client:
            offset = 0
            while True:
                page = client.read_flow_runs(
                    flow_run_filter=waiting,
                    deployment_filter=DeploymentFilter(
                        name=DeploymentFilterName(any_=list(deployments))
                    ),
                    sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                    limit=200,
                    offset=offset,
                )
                for run in page:
                    application_id = (run.parameters or {}).get("application_id")
                    if application_id:
                        queued.add(processing.application_id_from(str(application_id)))
                if len(page) < 200:
                    return queued
                offset += 200
    except Exception:  # noqa: BLE001 - without the answer, re-announcing is still safe
        logging.getLogger("servicepoint.flows").warning(
            "could not list queued flow runs", exc_info=True
        )
        return set()


@flow(name="purge-expired")
def purge_expired(retention_days: int | None = None) -> dict[str, int]:
    """Delete uploads of cases closed longer than the retention period, and uploads of
    drafts nobody submitted once their session is long gone (nightly, GDPR)."""
    settings = get_settings()
    days = retention_days if retention_days is not None else settings.retention_days
    with session_scope() as session:
        counts = processing.purge_expired(session, timedelta(days=days))
    with session_scope() as session:
        counts["abandoned_uploads"] = portal.purge_abandoned_uploads(
            session, abandoned_after(settings)
        )
    get_run_logger().info("purged: %s", counts)
    return counts


def abandoned_after(settings: Settings) -> timedelta:
    """A draft's upload is abandoned a day after its session could last have been used."""
    return timedelta(minutes=settings.session_idle_minutes) + timedelta(days=1)
