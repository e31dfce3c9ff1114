"""The administrator dashboard: figures on a database of known cases, charts, CSV."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlmodel import Session

from backoffice import dashboard
from intake.applications.models import Application
from servicepoint import db
from servicepoint.settings import get_settings
from tests.backoffice.conftest import Staff

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # a Wednesday


def case(received: datetime, **values: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "reference": f"D-{uuid.uuid4().hex[:10]}",
        "service": "anmeldung",
        "status": "review",
        "reasons_json": "[]",
        "findings_json": "[]",
        "data_json": json.dumps({}),
        "citizen_token_hash": "0" * 64,
        "language": "de",
        "submitted_at": received,
        "received_at": received,
        "version": 1,
        **values,
    }


@pytest.fixture(scope="module")
def figures_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own, so the figures are exactly what was put in."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('dashboard')) / 'figures.db'}"
    db.upgrade(url)
    rows = [
        # today: two received, one decided automatically after 1 h
        case(
            NOW - timedelta(hours=2),
            status="approved",
            decided_at=NOW - timedelta(hours=1),
            decided_by="system",
        ),
        case(NOW - timedelta(hours=1)),
        # Monday of this week: decided by a clerk after 3 h, and one still being read
        case(
            NOW - timedelta(days=2),
            status="rejected",
            decided_at=NOW - timedelta(days=2) + timedelta(hours=3),
            decided_by="erika",
        ),
        case(NOW - timedelta(days=2), status="processing"),
        # last week: approved by a clerk after 5 h; and an old case still in review
        case(
            NOW - timedelta(days=9),
            status="approved",
            decided_at=NOW - timedelta(days=9) + timedelta(hours=5),
            decided_by="max",
        ),
        case(NOW - timedelta(days=20)),
    ]
    with db.session_scope_for(url) as session:
        session.execute(insert(Application), rows)
    yield url
    db.engine_for(url).dispose()


def test_figures(figures_db: str) -> None:
    with Session(db.engine_for(figures_db)) as session:
        figures = dashboard.figures(session, NOW)
    assert figures.submitted_today == 2
    assert figures.submitted_week == 4
    assert figures.decided == 3
    assert figures.automated == 1
    assert figures.automation_rate == pytest.approx(1 / 3)
    assert figures.median_hours == pytest.approx(3.0)
    assert figures.median_hours_clerk == pytest.approx(4.0)
    assert dict(figures.backlog_by_status) == {"Received": 0, "Being read": 1, "In review": 2}
    assert figures.backlog_total == 3
    assert dict(figures.backlog_by_age)["over 14 days"] == 1
    assert figures.consultations_today == 0  # until the video domain lands
    assert sum(bar.value for bar in figures.daily.bars) == 5  # received in the last 14 days
    tallest = max(figures.daily.bars, key=lambda bar: bar.value)
    assert tallest.y == pytest.approx(24.0)  # the highest bar reaches the top margin


def test_daily_csv(figures_db: str) -> None:
    with Session(db.engine_for(figures_db)) as session:
        text = dashboard.daily_csv(session, NOW, "de", days=14)
        english = dashboard.daily_csv(session, NOW, "en", days=14)
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][0] == "Datum"
    assert len(rows) == 15
    by_day = {row[0]: row for row in rows[1:]}
    monday = by_day["2026-11-16"]
    assert monday[1:7] == ["2", "1", "0", "1", "0", "1"]
    assert monday[7] == "3,00"
    assert english.splitlines()[0].startswith("date,received,decided")


def test_dashboard_page_and_export(staff: Callable[..., Staff]) -> None:
    admin = staff("admin")
    page = admin.get("/backoffice/verwaltung")
    assert page.status_code == 200
    assert page.text.count('<svg viewBox="0 0 640 240" class="chart-svg"') == 3
    assert "Die Zahlen als Tabelle" in page.text
    assert f'href="{get_settings().prefect_ui_url}/runs"' in page.text
    export = admin.get("/backoffice/verwaltung/kennzahlen.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    assert export.text.lstrip("\ufeff").startswith("Datum;Eingegangen;Entschieden")
