"""A clerk publishes video office hours in the office's wall-clock time (Europe/Berlin)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import col, select

from servicepoint import db
from tests.backoffice.conftest import Staff
from video.models import ConsultationSlot


def test_office_hours_typed_in_german_time_are_stored_in_utc(
    staff: Callable[..., Staff],
) -> None:
    clerk = staff()
    answer = clerk.post(
        "/backoffice/video/sprechzeiten",
        {"day": "2030-12-02", "start": "09:00", "end": "10:00"},  # CET: UTC+1
    )
    assert answer.status_code == 303, answer.text
    with db.session_scope() as session:
        starts = sorted(
            slot.starts_at.replace(tzinfo=slot.starts_at.tzinfo or UTC)
            for slot in session.exec(
                select(ConsultationSlot).where(
                    col(ConsultationSlot.starts_at) >= datetime(2030, 12, 2, tzinfo=UTC),
                    col(ConsultationSlot.starts_at) < datetime(2030, 12, 3, tzinfo=UTC),
                )
            )
        )
    assert starts[0] == datetime(2030, 12, 2, 8, 0, tzinfo=UTC)
    overview = clerk.get("/backoffice/video")
    assert "02.12. 09:00" in overview.text
    assert "UTC" not in overview.text
