"""Scheduled housekeeping: re-announce stuck cases, delete expired documents."""

from __future__ import annotations

from datetime import timedelta

from prefect import flow, get_run_logger

from intake import portal, processing
from servicepoint.db import session_scope
from servicepoint.settings import Settings, get_settings


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
