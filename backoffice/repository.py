"""All SQL of the back office: the work queue, claims, document requests, accounts and the
figures of the administrator dashboard.

Claims and every clerk's change go through one conditional UPDATE on
``applications.version`` (optimistic locking): of two clerks acting on the same version,
exactly one UPDATE matches a row, whatever the database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, not_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backoffice.models import DocumentRequest
from intake.applications.models import OPEN_STATUSES, Application, Document, Status
from servicepoint.auth import User
from video.models import Consultation

PAGE_SIZE = 25
SORTS = {
    "due": (col(Application.due_date),),
    "age": (col(Application.received_at),),
    "reference": (col(Application.reference),),
    "service": (col(Application.service), col(Application.due_date)),
}
AGE_BUCKETS: dict[str, tuple[int, int | None]] = {  # days since receipt: [from, to)
    "0-2": (0, 3),
    "3-7": (3, 8),
    "8-14": (8, 15),
    "15+": (15, None),
}
DUE_WINDOWS = {"overdue": 0, "3": 3, "7": 7}


@dataclass(slots=True)
class QueueQuery:
    """The queue's filters, sort order and page, as parsed from the query string."""

    service: str = ""
    reason: str = ""
    age: str = ""  # a key of AGE_BUCKETS
    due: str = ""  # a key of DUE_WINDOWS
    claim: str = ""  # "" | "free" | "mine" | "others"
    waiting: str = ""  # "" | "yes" | "no": an open request to the citizen
    sort: str = "due"
    direction: str = "asc"
    page: int = 1


@dataclass(slots=True)
class QueueRow:
    id: str
    reference: str
    service: str
    reasons: list[str]
    received_at: datetime
    due_date: datetime | None
    claimed_by: str | None
    claimed_at: datetime | None
    version: int
    waiting_since: datetime | None = None


@dataclass(slots=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int


def waiting_cases() -> Select[Any]:
    """Cases with an open request to the citizen: not closed, and no upload since.

    An uncorrelated subquery: requests are few (a handful per clerk and day), so the
    database reads them once instead of probing them once per case in review.
    """
    newer_upload = exists().where(
        col(Document.application_id) == col(DocumentRequest.application_id),
        col(Document.uploaded_at) > col(DocumentRequest.requested_at),
    )
    return sa_select(col(DocumentRequest.application_id)).where(
        col(DocumentRequest.closed_at).is_(None), not_(newer_upload)
    )


def _queue_conditions(query: QueueQuery, username: str, now: datetime) -> list[Any]:
    conditions: list[Any] = [col(Application.status) == Status.REVIEW]
    if query.service:
        conditions.append(col(Application.service) == query.service)
    if query.reason:
        # Reason codes are quoted tokens of a JSON list: '"ID_EXPIRED"' matches exactly one.
        conditions.append(col(Application.reasons_json).contains(f'"{query.reason}"'))
    if query.age in AGE_BUCKETS:
        low, high = AGE_BUCKETS[query.age]
        conditions.append(col(Application.received_at) <= now - timedelta(days=low))
        if high is not None:
            conditions.append(col(Application.received_at) > now - timedelta(days=high))
    if query.due in DUE_WINDOWS:
        conditions.append(col(Application.due_date) < now + timedelta(days=DUE_WINDOWS[query.due]))
    if query.claim == "free":
        conditions.append(col(Application.claimed_by).is_(None))
    elif query.claim == "mine":
        conditions.append(col(Application.claimed_by) == username)
    elif query.claim == "others":
        conditions.append(
            and_(col(Application.claimed_by).is_not(None), col(Application.claimed_by) != username)
        )
    if query.waiting in ("yes", "no"):
        waiting = col(Application.id).in_(waiting_cases())
        conditions.append(waiting if query.waiting == "yes" else not_(waiting))
    return conditions


def queue_page(session: Session, query: QueueQuery, username: str, now: datetime) -> QueuePage:
    """One page of the cases in review, filtered and sorted, with the total count."""
    conditions = _queue_conditions(query, username, now)
    total = session.exec(select(func.count()).select_from(Application).where(*conditions)).one()
    pages = max(1, -(-int(total) // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    keys = SORTS.get(query.sort, SORTS["due"])
    descending = query.direction == "desc"
    order: list[Any] = [k.desc() if descending else k.asc() for k in keys]
    order.append(col(Application.id).desc() if descending else col(Application.id).asc())
    newer_upload = exists().where(
        col(Document.application_id) == col(DocumentRequest.application_id),
        col(Document.uploaded_at) > col(DocumentRequest.requested_at),
    )
    waiting_since = (
        sa_select(func.min(DocumentRequest.requested_at))
        .where(
            col(DocumentRequest.application_id) == col(Application.id),
            col(DocumentRequest.closed_at).is_(None),
            not_(newer_upload),
        )
        .scalar_subquery()
    )
    statement = (
        sa_select(
            col(Application.id),
            col(Application.reference),
            col(Application.service),
            col(Application.reasons_json),
            col(Application.received_at),
            col(Application.due_date),
            col(Application.claimed_by),
            col(Application.claimed_at),
            col(Application.version),
            waiting_since,
        )
        .where(*conditions)
        .order_by(*order)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    rows = [
        QueueRow(
            id=r[0],
            reference=r[1],
            service=r[2],
            reasons=_json_list(r[3]),
            received_at=r[4],
            due_date=r[5],
            claimed_by=r[6],
            claimed_at=r[7],
            version=r[8],
            waiting_since=_aware(r[9]),
        )
        for r in session.execute(statement).all()
    ]
    return QueuePage(rows, int(total), page, pages)


def _aware(value: Any) -> datetime | None:
    """A timestamp from a scalar subquery (SQLite returns text there, not a datetime)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _json_list(raw: str) -> list[str]:
    value = json.loads(raw or "[]")
    return [str(v) for v in value] if isinstance(value, list) else []


# --- claims and versions ------------------------------------------------------------------


def claim(
    session: Session, application_id: str, version: int, username: str, now: datetime
) -> bool:
    """Claim a case in review that nobody holds, if it is still at ``version``."""
    result = session.execute(
        update(Application)
        .where(
            col(Application.id) == application_id,
            col(Application.version) == version,
            col(Application.status) == Status.REVIEW,
            col(Application.claimed_by).is_(None),
        )
        .values(claimed_by=username, claimed_at=now, version=col(Application.version) + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release(session: Session, application_id: str, holder: str) -> bool:
    """Release a claim held by ``holder`` (administrators pass the current holder)."""
    result = session.execute(
        update(Application)
        .where(col(Application.id) == application_id, col(Application.claimed_by) == holder)
        .values(claimed_by=None, claimed_at=None, version=col(Application.version) + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def take_version(session: Session, application_id: str, version: int, username: str) -> bool:
    """Reserve the next version of a case the clerk holds: the guard of every change."""
    result = session.execute(
        update(Application)
        .where(
            col(Application.id) == application_id,
            col(Application.version) == version,
            col(Application.status) == Status.REVIEW,
            col(Application.claimed_by) == username,
        )
        .values(version=col(Application.version) + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def reload(session: Session, application_id: str) -> Application | None:
    return session.get(Application, application_id, populate_existing=True)


# --- document requests --------------------------------------------------------------------


def open_requests_since(session: Session, application_ids: Sequence[str]) -> dict[str, datetime]:
    """For each case with an open request to the citizen: when it was first asked."""
    if not application_ids:
        return {}
    newer_upload = exists().where(
        col(Document.application_id) == col(DocumentRequest.application_id),
        col(Document.uploaded_at) > col(DocumentRequest.requested_at),
    )
    statement = (
        select(DocumentRequest.application_id, func.min(DocumentRequest.requested_at))
        .where(
            col(DocumentRequest.application_id).in_(list(application_ids)),
            col(DocumentRequest.closed_at).is_(None),
            not_(newer_upload),
        )
        .group_by(col(DocumentRequest.application_id))
    )
    return {row[0]: row[1] for row in session.exec(statement)}


def requests_of(session: Session, application_id: str) -> list[DocumentRequest]:
    statement = (
        select(DocumentRequest)
        .where(DocumentRequest.application_id == application_id)
        .order_by(col(DocumentRequest.id))
    )
    return list(session.exec(statement))


def close_requests(session: Session, application_id: str, username: str, now: datetime) -> None:
    session.execute(
        update(DocumentRequest)
        .where(
            col(DocumentRequest.application_id) == application_id,
            col(DocumentRequest.closed_at).is_(None),
        )
        .values(closed_at=now, closed_by=username)
        .execution_options(synchronize_session=False)
    )


# --- accounts -----------------------------------------------------------------------------


def users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))))


def user_names(session: Session, usernames: Sequence[str]) -> dict[str, str]:
    if not usernames:
        return {}
    statement = select(User.username, User.display_name).where(
        col(User.username).in_(list(usernames))
    )
    return {row[0]: row[1] or row[0] for row in session.exec(statement)}


# --- figures for the dashboard ------------------------------------------------------------


def received_between(session: Session, start: datetime, end: datetime) -> int:
    statement = (
        select(func.count())
        .select_from(Application)
        .where(col(Application.received_at) >= start, col(Application.received_at) < end)
    )
    return int(session.exec(statement).one())


def received_times(session: Session, start: datetime, end: datetime) -> list[datetime]:
    statement = select(Application.received_at).where(
        col(Application.received_at) >= start, col(Application.received_at) < end
    )
    return list(session.exec(statement))


@dataclass(slots=True)
class DecidedCase:
    received_at: datetime
    decided_at: datetime
    decided_by: str
    status: str


def decided_between(session: Session, start: datetime, end: datetime) -> list[DecidedCase]:
    """Cases decided in [start, end): when they came in, when and by whom decided."""
    statement = select(
        Application.received_at,
        Application.decided_at,
        Application.decided_by,
        Application.status,
    ).where(
        col(Application.decided_at) >= start,
        col(Application.decided_at) < end,
        col(Application.status).in_([Status.APPROVED, Status.REJECTED]),
    )
    return [
        DecidedCase(row[0], row[1], row[2] or "", row[3])
        for row in session.exec(statement)
        if row[1] is not None
    ]


def open_cases(session: Session) -> list[tuple[str, datetime]]:
    """Status and receipt time of every open case (the backlog)."""
    statement = select(Application.status, Application.received_at).where(
        col(Application.status).in_(list(OPEN_STATUSES))
    )
    return [(row[0], row[1]) for row in session.exec(statement)]


def consultations_between(session: Session, start: datetime, end: datetime) -> int:
    """Video consultations held (started) in [start, end)."""
    statement = (
        select(func.count())
        .select_from(Consultation)
        .where(col(Consultation.started_at) >= start, col(Consultation.started_at) < end)
    )
    return int(session.exec(statement).one())


def consultation_average_seconds(session: Session, start: datetime, end: datetime) -> float | None:
    """The average length of the consultations held in [start, end) that have ended."""
    statement = select(func.avg(Consultation.duration_seconds)).where(
        col(Consultation.started_at) >= start,
        col(Consultation.started_at) < end,
        col(Consultation.duration_seconds).is_not(None),
    )
    value = session.exec(statement).one()
    return None if value is None else float(value)
