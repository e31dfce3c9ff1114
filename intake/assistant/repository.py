"""SQL of the assistant: counting unanswered questions and reading them back."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from intake.applications.models import Application
from intake.assistant.models import UnansweredQuestion


def count_unanswered(session: Session, day: date, lang: str, question: str) -> None:
    """One more asking of this (already masked) question on this day (an upsert)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Any = UnansweredQuestion.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(day=day, lang=lang, question=question, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "lang", "question"], set_={"count": table.c.count + 1}
    )
    session.execute(statement)


def unanswered_since(session: Session, since: date, limit: int = 200) -> list[dict[str, Any]]:
    """The questions most often left unanswered since ``since``, with their total, the
    days they came up and the count per day."""
    rows = session.exec(
        select(UnansweredQuestion)
        .where(col(UnansweredQuestion.day) >= since)
        .order_by(col(UnansweredQuestion.day).desc())
    ).all()
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        entry = grouped.setdefault(
            (row.question, row.lang),
            {"question": row.question, "lang": row.lang, "total": 0, "days": {}},
        )
        entry["total"] += row.count
        entry["days"][row.day] = row.count
    ranked = sorted(grouped.values(), key=lambda e: (-e["total"], e["question"]))
    return ranked[:limit]


def unanswered_per_day(session: Session, since: date) -> list[tuple[date, int]]:
    """How many questions went unanswered on each day since ``since``."""
    rows = session.exec(
        select(col(UnansweredQuestion.day), func.sum(UnansweredQuestion.count))
        .where(col(UnansweredQuestion.day) >= since)
        .group_by(col(UnansweredQuestion.day))
        .order_by(col(UnansweredQuestion.day))
    ).all()
    return [(day, int(total)) for day, total in rows]


def application_id(session: Session, reference: str) -> str | None:
    """The id of the application with this reference number, if there is one."""
    found = session.exec(select(Application.id).where(Application.reference == reference))
    return found.first()
