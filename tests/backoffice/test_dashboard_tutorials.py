"""The dashboard's tutorial and consultation figures: views and completions per tutorial
from the tutorial library's counters, and the number and average length of video
consultations, on a database of known rows and on the live page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert
from sqlmodel import Session, col

from backoffice import dashboard
from backoffice import repository as backoffice_repository
from servicepoint import db
from tests.backoffice.conftest import Staff
from tests.tutorials.conftest import tiny_version
from tutorials import repository as tutorials_repository
from tutorials import service as tutorials_service
from tutorials.models import Tutorial, TutorialDailyCount
from video.models import Consultation

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 18)


def consultation(started: datetime | None, minutes: float | None) -> dict[str, object]:
    key = uuid.uuid4().hex
    starts = started or NOW + timedelta(days=1)
    ended = None if minutes is None or started is None else started + timedelta(minutes=minutes)
    return {
        "id": key[:32],
        "reference": f"V-{key[:10]}",
        "citizen_name": "Erika Mustermann",
        "citizen_email": "erika@example.org",
        "topic": "Anmeldung",
        "language": "de",
        "status": "ended" if minutes is not None else ("live" if started else "booked"),
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=30),
        "created_at": NOW - timedelta(days=40),
        "started_at": started,
        "ended_at": ended,
        "duration_seconds": None if minutes is None else int(minutes * 60),
    }


@pytest.fixture(scope="module")
def figures_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own, so the figures are exactly what was put in."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('dashboard-tutorials')) / 'figures.db'}"
    db.upgrade(url)
    with db.session_scope_for(url) as session:
        rows = {
            slug: Tutorial(
                slug=slug,
                language=language,
                service="anmeldung",
                title=title,
                summary="-",
                content_hash="0" * 64,
            )
            for slug, title, language in [
                ("wohnung-anmelden", "Wohnung anmelden", "de"),
                ("register-address", "Register your address", "en"),
                ("never-opened", "Nie geöffnet", "de"),
            ]
        }
        session.add_all(rows.values())
        session.flush()
        ids = {slug: row.id for slug, row in rows.items()}
        counts = [
            ("wohnung-anmelden", TODAY, 5, 2),
            ("wohnung-anmelden", TODAY - timedelta(days=29), 3, 1),  # first day of the period
            ("wohnung-anmelden", TODAY - timedelta(days=30), 100, 100),  # the day before it
            ("register-address", TODAY - timedelta(days=1), 12, 9),
        ]
        session.execute(
            insert(TutorialDailyCount),
            [
                {"tutorial_id": ids[slug], "day": day, "views": views, "completions": done}
                for slug, day, views, done in counts
            ],
        )
        session.execute(
            insert(Consultation),
            [
                consultation(NOW - timedelta(hours=3), 20),  # today
                consultation(NOW - timedelta(days=2), 10),  # this week
                consultation(NOW - timedelta(days=12), 45),  # in the period
                consultation(NOW - timedelta(minutes=10), None),  # live: counted, no length yet
                consultation(NOW - timedelta(days=31), 90),  # before the period
                consultation(None, None),  # booked, not held
            ],
        )
    yield url
    db.engine_for(url).dispose()


def test_tutorial_and_consultation_figures(figures_db: str) -> None:
    with Session(db.engine_for(figures_db)) as session:
        figures = dashboard.figures(session, NOW)
    assert [(t.slug, t.views, t.completions) for t in figures.tutorials] == [
        ("register-address", 12, 9),  # most viewed first
        ("wohnung-anmelden", 8, 3),  # today and the first day of the period, not before
    ]
    assert figures.tutorials[0].language == "en"
    assert figures.tutorials[1].completion_rate == pytest.approx(3 / 8)
    assert (figures.tutorial_views, figures.tutorial_completions) == (20, 12)
    assert figures.consultations_today == 2  # the ended one and the live one
    assert figures.consultations_week == 3
    assert figures.consultations_period == 4
    assert figures.consultation_average_minutes == pytest.approx((20 + 10 + 45) / 3)


def test_figures_of_an_office_without_tutorials_or_consultations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    db.upgrade(url)
    try:
        with Session(db.engine_for(url)) as session:
            figures = dashboard.figures(session, NOW)
    finally:
        db.engine_for(url).dispose()
    assert figures.tutorials == []
    assert figures.consultation_average_minutes is None
    assert figures.consultations_period == 0


# --- the live page ------------------------------------------------------------------------------
def row_of(html: str, slug: str) -> list[str] | None:
    """The cells (views, completions, share) of a tutorial's row in the figures table."""
    match = re.search(rf'<tr data-slug="{re.escape(slug)}">(.*?)</tr>', html, re.S)
    if match is None:
        return None
    return [cell.strip() for cell in re.findall(r"<td>(.*?)</td>", match.group(1), re.S)]


def kpi(html: str, element_id: str) -> str:
    match = re.search(rf'<li id="{element_id}">(.*?)</li>', html, re.S)
    assert match, f"no {element_id} on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def tutorial_totals(html: str) -> tuple[int, int]:
    text = kpi(html, "kpi-tutorials").replace("\u2009", "")
    match = re.fullmatch(
        r"(\d+) Aufrufe von Video-Anleitungen, davon (\d+) bis zum Ende angesehen "
        r"\(letzte 30 Tage\)",
        text,
    )
    assert match, text
    return int(match.group(1)), int(match.group(2))


def consultations_held(html: str) -> int:
    match = re.search(r"\((\d+) in den letzten 30 Tagen\)", kpi(html, "kpi-consultation-length"))
    assert match
    return int(match.group(1))


@pytest.fixture
def counted_tutorial() -> Iterator[str]:
    """A tutorial in the catalogue of the session's database (removed afterwards)."""
    slug = f"dashboard-{uuid.uuid4().hex[:8]}"
    with db.session_scope() as session:
        tutorials_service.sync_scripts(session, [tiny_version(slug)])
    yield slug
    with db.session_scope() as session:
        row = tutorials_repository.by_slug(session, slug)
        assert row is not None
        session.execute(
            delete(TutorialDailyCount).where(col(TutorialDailyCount.tutorial_id) == row.id)
        )
        session.delete(row)


@pytest.fixture
def held_consultations() -> Iterator[Callable[..., None]]:
    created: list[str] = []

    def add(*minutes: float) -> None:
        now = datetime.now(UTC)
        rows = [consultation(now - timedelta(minutes=m + 5), m) for m in minutes]
        with db.session_scope() as session:
            session.execute(insert(Consultation), rows)
        created.extend(str(row["id"]) for row in rows)

    yield add
    with db.session_scope() as session:
        session.execute(delete(Consultation).where(col(Consultation.id).in_(created)))


def test_the_page_shows_figures_that_follow_views_and_completions(
    app: FastAPI,
    staff: Callable[..., Staff],
    counted_tutorial: str,
    held_consultations: Callable[..., None],
) -> None:
    admin = staff("admin")
    before = admin.get("/backoffice/verwaltung")
    assert before.status_code == 200
    assert "Video-Anleitungen: Aufrufe und vollständig angesehen (letzte 30 Tage)" in before.text
    assert row_of(before.text, counted_tutorial) is None  # not opened yet
    views_before, completions_before = tutorial_totals(before.text)
    held_before = consultations_held(before.text)

    citizen = TestClient(app)
    for _ in range(3):
        assert citizen.post(f"/api/v1/tutorials/{counted_tutorial}/views").status_code == 204
    assert citizen.post(f"/api/v1/tutorials/{counted_tutorial}/completions").status_code == 204
    after = admin.get("/backoffice/verwaltung").text
    assert row_of(after, counted_tutorial) == ["3", "1", "33 %"]
    assert tutorial_totals(after) == (views_before + 3, completions_before + 1)

    assert citizen.post(f"/api/v1/tutorials/{counted_tutorial}/completions").status_code == 204
    assert row_of(admin.get("/backoffice/verwaltung").text, counted_tutorial) == [
        "3",
        "2",
        "67 %",
    ]

    held_consultations(12, 18)
    now = datetime.now(UTC)
    with db.session_scope() as session:
        held = backoffice_repository.consultations_between(session, now - timedelta(days=30), now)
        average = backoffice_repository.consultation_average_seconds(
            session, now - timedelta(days=30), now
        )
    assert average is not None
    shown = kpi(admin.get("/backoffice/verwaltung").text, "kpi-consultation-length")
    expected = f"{average / 60:.1f}".replace(".", ",")
    assert shown.startswith(f"{expected} min durchschnittliche Dauer einer Videosprechstunde")
    assert f"({held} in den letzten 30 Tagen)" in shown
    assert held == held_before + 2
