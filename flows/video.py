"""Scheduled reminders for booked video consultations (every 5 minutes)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from servicepoint.db import session_scope
from video import service


@flow(name="consultation-reminders")
def send_consultation_reminders() -> list[str]:
    """E-mail every citizen whose consultation starts within the hour (once each)."""
    with session_scope() as session:
        sent = service.send_reminders(session)
    get_run_logger().info("reminded: %s", sent)
    return sent
