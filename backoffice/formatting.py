"""Dates and times as clerks in Hannover read them (Europe/Berlin), in German or English."""

from __future__ import annotations

from datetime import date, datetime

from intake.reading.normalize import parse_date
from servicepoint.settings import local_time


def datetime_text(value: datetime | None, lang: str = "de") -> str:
    if value is None:
        return ""
    moment = local_time(value)
    if lang == "en":
        return moment.strftime("%d %b %Y, %H:%M")
    return moment.strftime("%d.%m.%Y, %H:%M Uhr")


def date_text(value: datetime | date | str | None, lang: str = "de") -> str:
    """A date (or the local date of a moment, or an ISO date string) for reading."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        day = local_time(value).date()
    elif isinstance(value, date):
        day = value
    else:
        parsed = parse_date(value)
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(value).date()
            except ValueError:
                return value
        day = parsed
    return day.strftime("%d %b %Y") if lang == "en" else day.strftime("%d.%m.%Y")


def iso(value: datetime | None) -> str:
    return local_time(value).isoformat(timespec="minutes") if value else ""


def days_between(start: datetime, end: datetime) -> int:
    """Whole calendar days between two moments, counted in local time."""
    return (local_time(end).date() - local_time(start).date()).days


class Formatter:
    """Formatting helpers handed to templates, bound to the page's language and clock."""

    def __init__(self, lang: str, now: datetime) -> None:
        self.lang = lang
        self.now = now

    def dt(self, value: datetime | None) -> str:
        return datetime_text(value, self.lang)

    def date(self, value: datetime | date | str | None) -> str:
        return date_text(value, self.lang)

    def iso(self, value: datetime | None) -> str:
        return iso(value)

    def age_days(self, value: datetime) -> int:
        return days_between(value, self.now)

    def days_left(self, value: datetime | None) -> int | None:
        return None if value is None else days_between(self.now, value)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "–"
        text = f"{value * 100:.0f} %"
        return text

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        text = f"{value:,.{digits}f}"
        if self.lang == "de":
            text = text.replace(",", "\u2009").replace(".", ",")
        return text
