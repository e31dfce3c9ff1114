"""All SQL of the tutorial library: catalogue rows, anonymous counters, figures."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from tutorials.models import Tutorial, TutorialDailyCount


def by_slug(session: Session, slug: str) -> Tutorial | None:
    return session.exec(select(Tutorial).where(Tutorial.slug == slug)).first()


def by_id(session: Session, tutorial_id: int) -> Tutorial | None:
    return session.get(Tutorial, tutorial_id)


def by_script(session: Session, script: str) -> list[Tutorial]:
    query = select(Tutorial).where(Tutorial.script == script).order_by(col(Tutorial.slug))
    return list(session.exec(query))


def listing(
    session: Session,
    *,
    language: str | None = None,
    service: str | None = None,
    ids: list[int] | None = None,
) -> list[Tutorial]:
    """Tutorials filtered by language and service; in the order of ``ids`` when given."""
    query = select(Tutorial)
    if language:
        query = query.where(Tutorial.language == language)
    if service:
        query = query.where(Tutorial.service == service)
    if ids is not None:
        if not ids:
            return []
        query = query.where(col(Tutorial.id).in_(ids))
    rows = list(session.exec(query.order_by(col(Tutorial.service), col(Tutorial.title))))
    if ids is not None:
        rank = {tutorial_id: index for index, tutorial_id in enumerate(ids)}
        rows.sort(key=lambda row: rank.get(row.id or 0, len(rank)))
    return rows


def services(session: Session) -> list[str]:
    query = select(Tutorial.service).distinct().order_by(col(Tutorial.service))
    return list(session.exec(query))


def count(session: Session, tutorial_id: int, day: date, *, completion: bool) -> None:
    """Add one view or completion to the tutorial's counter of the day (an upsert)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    field = "completions" if completion else "views"
    table: Any = TutorialDailyCount.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(
        tutorial_id=tutorial_id,
        day=day,
        views=0 if completion else 1,
        completions=1 if completion else 0,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["tutorial_id", "day"],
        set_={field: getattr(table.c, field) + 1},
    )
    session.execute(statement)


def figures(
    session: Session, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Views and completions per day over all tutorials (for the admin dashboard)."""
    query = sql_select(
        col(TutorialDailyCount.day),
        func.sum(TutorialDailyCount.views),
        func.sum(TutorialDailyCount.completions),
    )
    if since is not None:
        query = query.where(col(TutorialDailyCount.day) >= since)
    if until is not None:
        query = query.where(col(TutorialDailyCount.day) <= until)
    query = query.group_by(col(TutorialDailyCount.day)).order_by(col(TutorialDailyCount.day))
    return [
        {"day": day, "views": int(views or 0), "completions": int(done or 0)}
        for day, views, done in session.execute(query)
    ]


def figures_by_tutorial(session: Session, since: date | None = None) -> list[dict[str, Any]]:
    """Views and completions per tutorial (slug, title, language) since a day."""
    query = sql_select(
        col(Tutorial.slug),
        col(Tutorial.title),
        col(Tutorial.language),
        func.coalesce(func.sum(TutorialDailyCount.views), 0),
        func.coalesce(func.sum(TutorialDailyCount.completions), 0),
    ).join(TutorialDailyCount, col(TutorialDailyCount.tutorial_id) == col(Tutorial.id))
    if since is not None:
        query = query.where(col(TutorialDailyCount.day) >= since)
    query = query.group_by(
        col(Tutorial.slug), col(Tutorial.title), col(Tutorial.language)
    ).order_by(col(Tutorial.slug))
    return [
        {
            "slug": slug,
            "title": title,
            "language": language,
            "views": int(views),
            "completions": int(done),
        }
        for slug, title, language, views, done in session.execute(query)
    ]
