"""The work queue: cases in review, filtered, sorted and paged; claims from the queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from backoffice import repository
from backoffice.models import DocumentRequest
from intake.applications.models import Application
from servicepoint import db
from tests.backoffice.conftest import Staff

# Seeded cases are due long ago, so they come first in the default order (due date).
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def references(html: str, ids: list[str]) -> list[str]:
    """The seeded cases in the order the page lists them."""
    positions = sorted((html.find(f'id="case-{i}"'), i) for i in ids if f'id="case-{i}"' in html)
    return [i for _, i in positions]


def test_queue_lists_cases_in_review_by_due_date(
    staff: Callable[..., Staff], seeded: Callable[..., list[str]]
) -> None:
    later = seeded(1, due_date=LONG_AGO + timedelta(days=2), received_at=LONG_AGO)
    first = seeded(1, due_date=LONG_AGO + timedelta(days=1), received_at=LONG_AGO)
    decided = seeded(1, due_date=LONG_AGO, status="approved")
    clerk = staff()
    page = clerk.get("/backoffice/vorgaenge")
    assert page.status_code == 200
    assert references(page.text, first + later + decided) == first + later
    assert "Überfällig" in page.text
    descending = clerk.get("/backoffice/vorgaenge?sort=due&dir=desc&page=1").text
    assert 'aria-sort="descending"' in descending


def test_filters_by_reason_age_due_claim_and_waiting(
    staff: Callable[..., Staff], seeded: Callable[..., list[str]]
) -> None:
    now = datetime.now(UTC)
    clerk = staff()
    expired = seeded(1, reasons=["ID_EXPIRED", "LATE_REGISTRATION"], due_date=LONG_AGO)
    name = seeded(1, reasons=["NAME_MISMATCH"], due_date=LONG_AGO)
    old = seeded(1, received_at=now - timedelta(days=10), due_date=LONG_AGO)
    mine = seeded(1, claimed_by=clerk.username, due_date=LONG_AGO)
    waiting = seeded(1, due_date=LONG_AGO)
    with db.session_scope() as session:
        session.add(
            DocumentRequest(
                application_id=waiting[0], slot="identity", message="Rückseite", requested_by="x"
            )
        )
    everything = expired + name + old + mine + waiting

    def listed(query: str) -> set[str]:
        return set(references(clerk.get(f"/backoffice/vorgaenge?{query}").text, everything))

    assert listed("reason=ID_EXPIRED") == set(expired)
    assert listed("reason=LATE_REGISTRATION") == set(expired)
    assert listed("age=8-14") == set(old)
    assert listed("due=overdue") == set(everything)
    assert listed("claim=mine") == set(mine)
    assert mine[0] not in listed("claim=free")
    assert listed("waiting=yes") == set(waiting)
    assert waiting[0] not in listed("waiting=no")
    page = clerk.get("/backoffice/vorgaenge?waiting=yes").text
    assert "Wartet auf Unterlagen" in page
    # Unknown filter values are ignored, not errors.
    assert clerk.get("/backoffice/vorgaenge?reason=DROP+TABLE&page=-3&sort=x").status_code == 200


def test_paging_counts_and_pages(db_session: Session, seeded: Callable[..., list[str]]) -> None:
    ids = seeded(repository.PAGE_SIZE + 5, reasons=["FUTURE_MOVE_IN"], due_date=LONG_AGO)
    query = repository.QueueQuery(reason="FUTURE_MOVE_IN", due="overdue")
    with db.session_scope() as session:
        first = repository.queue_page(session, query, "nobody", datetime.now(UTC))
        query.page = 2
        second = repository.queue_page(session, query, "nobody", datetime.now(UTC))
        query.page = 99
        clamped = repository.queue_page(session, query, "nobody", datetime.now(UTC))
    assert first.total >= len(ids)
    assert len(first.rows) == repository.PAGE_SIZE
    assert first.pages >= 2
    assert not {r.id for r in first.rows} & {r.id for r in second.rows}
    assert clamped.page == clamped.pages


def test_claiming_from_the_queue_and_a_second_clerk_is_refused(
    staff: Callable[..., Staff], seeded: Callable[..., list[str]]
) -> None:
    case_id = seeded(1, due_date=LONG_AGO)[0]
    first, second = staff(), staff()
    response = first.post(f"/backoffice/vorgaenge/{case_id}/uebernehmen", {"version": 2})
    assert response.status_code == 303
    assert response.headers["location"] == f"/backoffice/vorgaenge/{case_id}"
    # The second clerk still sees the old page (version 2) and tries to claim too.
    refused = second.post(f"/backoffice/vorgaenge/{case_id}/uebernehmen", {"version": 2})
    assert refused.status_code == 409
    assert "bereits von" in refused.text
    assert "bearbeitet" in refused.text
    with db.session_scope() as session:
        case = session.get(Application, case_id)
        assert case is not None
        assert case.claimed_by == first.username
        assert case.version == 3
