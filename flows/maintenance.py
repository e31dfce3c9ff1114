"""Scheduled housekeeping: re-announce stuck cases, delete expired documents."""

from __future__ import annotations

from datetime import timedelta

from prefect import flow, get_run_logger

from intake import processing
from servicepoint.db import session_scope
from servicepoint.settings import get_settings


@flow(name="sweep-stuck")
def sweep_stuck(stuck_after_minutes: float | None = None) -> dict[str, int]:
    """Re-emit the events of cases that have not moved for a while (every 5 minutes)."""
    minutes = stuck_after_minutes
    if minutes is None:
        minutes = get_settings().stuck_after_minutes
    with session_scope() as session:
        counts = processing.sweep_stuck(session, timedelta(minutes=minutes))
    get_run_logger().info("re-announced: %s", counts)
    return counts


@flow(name="purge-expired")
def purge_expired(retention_days: int | None = None) -> dict[str, int]:
    """Delete uploads of cases closed longer than the retention period (nightly, GDPR)."""
    days = retention_days if retention_days is not None else get_settings().retention_days
    with session_scope() as session:
        counts = processing.purge_expired(session, timedelta(days=days))
    get_run_logger().info("purged: %s", counts)
    return counts
