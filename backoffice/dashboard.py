"""The administrator dashboard: the office's figures, small server-rendered bar charts
(SVG geometry computed here, drawn by the template) and the CSV export.

Days and weeks are local (Europe/Berlin); the figures come from ``repository`` and,
for the tutorials, from the tutorial library's anonymous daily counters.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from backoffice import repository
from backoffice.casefile import N_
from intake.applications.models import Status
from servicepoint.settings import OFFICE_TIME, local_time
from tutorials import repository as tutorials_repository

PERIOD_DAYS = 30
CHART_DAYS = 14
CSV_DAYS = 90
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (  # label, from day, to day (excl.)
    (N_("under 1 day"), 0, 1),
    (N_("1–3 days"), 1, 4),
    (N_("4–7 days"), 4, 8),
    (N_("8–14 days"), 8, 15),
    (N_("over 14 days"), 15, None),
)
STATUS_LABELS = {
    Status.SUBMITTED: N_("Received"),
    Status.PROCESSING: N_("Being read"),
    Status.REVIEW: N_("In review"),
}


@dataclass(slots=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    translate_label: bool = False


@dataclass(slots=True)
class Chart:
    """A vertical bar chart in a fixed SVG coordinate space (scaled by CSS)."""

    width: int
    height: int
    baseline: float
    bars: list[Bar] = field(default_factory=list)
    maximum: int = 0


def bar_chart(
    items: list[tuple[str, int]], *, translate: bool = False, width: int = 640, height: int = 240
) -> Chart:
    top, bottom = 24.0, 40.0  # room for the value above and the label below each bar
    baseline = height - bottom
    maximum = max((value for _, value in items), default=0)
    slot = width / max(1, len(items))
    chart = Chart(width, height, baseline, maximum=maximum)
    for index, (label, value) in enumerate(items):
        bar_height = (baseline - top) * value / maximum if maximum else 0.0
        chart.bars.append(
            Bar(
                label=label,
                value=value,
                x=round(index * slot + slot * 0.15, 1),
                y=round(baseline - bar_height, 1),
                width=round(slot * 0.7, 1),
                height=round(bar_height, 1),
                translate_label=translate,
            )
        )
    return chart


@dataclass(slots=True)
class TutorialFigures:
    """Views and completions of one tutorial over the period (counters, nothing personal)."""

    slug: str
    title: str
    language: str
    views: int
    completions: int

    @property
    def completion_rate(self) -> float | None:
        return self.completions / self.views if self.views else None


@dataclass(slots=True)
class Figures:
    now: datetime
    submitted_today: int
    submitted_week: int
    decided: int
    automated: int
    automation_rate: float | None
    median_hours: float | None
    median_hours_clerk: float | None
    backlog_by_status: list[tuple[str, int]]
    backlog_by_age: list[tuple[str, int]]
    backlog_total: int
    consultations_today: int
    consultations_week: int
    consultations_period: int
    consultation_average_minutes: float | None
    tutorials: list[TutorialFigures]
    tutorial_views: int
    tutorial_completions: int
    daily: Chart
    ages: Chart
    statuses: Chart
    period_days: int = PERIOD_DAYS


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=OFFICE_TIME)


def _median_hours(durations: list[timedelta]) -> float | None:
    if not durations:
        return None
    return statistics.median(d.total_seconds() for d in durations) / 3600


def figures(session: Session, now: datetime) -> Figures:
    today = local_time(now).date()
    start_today = local_midnight(today)
    start_week = local_midnight(today - timedelta(days=today.weekday()))
    decided = repository.decided_between(session, now - timedelta(days=PERIOD_DAYS), now)
    automated = [d for d in decided if d.decided_by == "system"]
    by_clerk = [d for d in decided if d.decided_by != "system"]
    open_cases = repository.open_cases(session)
    statuses = Counter(status for status, _ in open_cases)
    by_status = [(label, statuses.get(str(status), 0)) for status, label in STATUS_LABELS.items()]
    by_age = _age_buckets([received for _, received in open_cases], now)
    period_start = now - timedelta(days=PERIOD_DAYS)
    average_seconds = repository.consultation_average_seconds(session, period_start, now)
    tutorials = _tutorial_figures(session, today - timedelta(days=PERIOD_DAYS - 1))
    chart_start = local_midnight(today - timedelta(days=CHART_DAYS - 1))
    daily_counts = Counter(
        local_time(moment).date() for moment in repository.received_times(session, chart_start, now)
    )
    days = [today - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    return Figures(
        now=now,
        submitted_today=repository.received_between(session, start_today, now),
        submitted_week=repository.received_between(session, start_week, now),
        decided=len(decided),
        automated=len(automated),
        automation_rate=len(automated) / len(decided) if decided else None,
        median_hours=_median_hours([d.decided_at - d.received_at for d in decided]),
        median_hours_clerk=_median_hours([d.decided_at - d.received_at for d in by_clerk]),
        backlog_by_status=by_status,
        backlog_by_age=by_age,
        backlog_total=len(open_cases),
        consultations_today=repository.consultations_between(session, start_today, now),
        consultations_week=repository.consultations_between(session, start_week, now),
        consultations_period=repository.consultations_between(session, period_start, now),
        consultation_average_minutes=None if average_seconds is None else average_seconds / 60,
        tutorials=tutorials,
        tutorial_views=sum(t.views for t in tutorials),
        tutorial_completions=sum(t.completions for t in tutorials),
        daily=bar_chart([(day.strftime("%d.%m."), daily_counts.get(day, 0)) for day in days]),
        ages=bar_chart(by_age, translate=True),
        statuses=bar_chart(by_status, translate=True),
    )


def _tutorial_figures(session: Session, since: date) -> list[TutorialFigures]:
    """Per tutorial, most viewed first; tutorials nobody opened in the period are left out."""
    rows = [
        TutorialFigures(
            row["slug"], row["title"], row["language"], row["views"], row["completions"]
        )
        for row in tutorials_repository.figures_by_tutorial(session, since)
    ]
    return sorted(rows, key=lambda row: (-row.views, -row.completions, row.title))


def _age_buckets(received: list[datetime], now: datetime) -> list[tuple[str, int]]:
    counts = [0] * len(AGE_BUCKETS)
    for moment in received:
        days = (now - moment).total_seconds() / 86400
        for index, (_, low, high) in enumerate(AGE_BUCKETS):
            if days >= low and (high is None or days < high):
                counts[index] += 1
                break
    return [(label, counts[index]) for index, (label, _, _) in enumerate(AGE_BUCKETS)]


CSV_HEADERS = {
    "de": [
        "Datum",
        "Eingegangen",
        "Entschieden",
        "Automatisch entschieden",
        "Durch Sachbearbeitung entschieden",
        "Genehmigt",
        "Abgelehnt",
        "Median Bearbeitungszeit (Stunden)",
    ],
    "en": [
        "date",
        "received",
        "decided",
        "decided_automatically",
        "decided_by_clerk",
        "approved",
        "rejected",
        "median_processing_hours",
    ],
}


def daily_csv(session: Session, now: datetime, lang: str, days: int = CSV_DAYS) -> str:
    """One row per local day: received and decided cases, and the median processing time."""
    today = local_time(now).date()
    start = local_midnight(today - timedelta(days=days - 1))
    received = Counter(local_time(m).date() for m in repository.received_times(session, start, now))
    decided_by_day: dict[date, list[repository.DecidedCase]] = {}
    for case in repository.decided_between(session, start, now):
        decided_by_day.setdefault(local_time(case.decided_at).date(), []).append(case)
    buffer = io.StringIO()
    delimiter = ";" if lang == "de" else ","
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS["en" if lang == "en" else "de"])
    for offset in range(days):
        day = start.date() + timedelta(days=offset)
        cases = decided_by_day.get(day, [])
        median = _median_hours([c.decided_at - c.received_at for c in cases])
        median_text = "" if median is None else f"{median:.2f}"
        if lang != "en":
            median_text = median_text.replace(".", ",")
        writer.writerow(
            [
                day.isoformat(),
                received.get(day, 0),
                len(cases),
                sum(1 for c in cases if c.decided_by == "system"),
                sum(1 for c in cases if c.decided_by != "system"),
                sum(1 for c in cases if c.status == Status.APPROVED),
                sum(1 for c in cases if c.status == Status.REJECTED),
                median_text,
            ]
        )
    return buffer.getvalue()
