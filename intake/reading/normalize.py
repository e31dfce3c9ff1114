"""Normalisation of dates, postal codes, house numbers and city names.

Names and streets are normalised in :mod:`intake.reading.names`; this module holds the rest of
what the rules and the scoring compare. Every parser returns ``None`` for text it does
not understand rather than guessing.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from importlib import resources

_MONTHS = {
    # English / ICAO, German and French abbreviations as printed on passports
    "JAN": 1, "JANUARY": 1, "JANUAR": 1, "JANV": 1, "JANVIER": 1, "JÄN": 1, "JAENNER": 1,
    "FEB": 2, "FEBRUARY": 2, "FEBRUAR": 2, "FEV": 2, "FÉV": 2, "FEVR": 2, "FÉVR": 2,
    "MAR": 3, "MARCH": 3, "MÄR": 3, "MAERZ": 3, "MÄRZ": 3, "MARS": 3, "MRZ": 3,
    "APR": 4, "APRIL": 4, "AVR": 4, "AVRIL": 4,
    "MAY": 5, "MAI": 5,
    "JUN": 6, "JUNE": 6, "JUNI": 6, "JUIN": 6,
    "JUL": 7, "JULY": 7, "JULI": 7, "JUIL": 7, "JUILLET": 7,
    "AUG": 8, "AUGUST": 8, "AOU": 8, "AOÛ": 8, "AOUT": 8, "AOÛT": 8,
    "SEP": 9, "SEPT": 9, "SEPTEMBER": 9, "SEPTEMBRE": 9,
    "OCT": 10, "OCTOBER": 10, "OKT": 10, "OKTOBER": 10, "OCTOBRE": 10,
    "NOV": 11, "NOVEMBER": 11, "NOVEMBRE": 11,
    "DEC": 12, "DECEMBER": 12, "DEZ": 12, "DEZEMBER": 12, "DÉC": 12, "DECEMBRE": 12,
    "DÉCEMBRE": 12,
}  # fmt: skip

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DOTTED = re.compile(r"^(\d{1,2})\s*[./-]\s*(\d{1,2})\s*[./-]\s*(\d{4})$")
_NAMED = re.compile(r"^(\d{1,2})\.?\s*([^\W\d_]{3,9})\.?\s*(\d{4})$")


def parse_date(text: str | None) -> date | None:
    """Parse ISO, German (``31.05.2000``) and passport (``24 JUN 2004``) dates."""
    if not text:
        return None
    cleaned = " ".join(text.strip().split())
    for pattern, order in ((_ISO, "ymd"), (_DOTTED, "dmy")):
        match = pattern.match(cleaned)
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            return _safe_date(parts["y"], parts["m"], parts["d"])
    match = _NAMED.match(cleaned)
    if match:
        month = _MONTHS.get(match.group(2).upper())
        if month is not None:
            return _safe_date(int(match.group(3)), month, int(match.group(1)))
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def iso_date(text: str | None) -> str | None:
    parsed = parse_date(text)
    return parsed.isoformat() if parsed else None


def submission_date(submitted_at: str) -> date:
    """The calendar date of a submission timestamp, in the time zone it was written in."""
    return datetime.fromisoformat(submitted_at.strip().replace("Z", "+00:00")).date()


def normalize_house_number(text: str | None) -> str:
    """``12 A`` → ``12a``; ``12-14`` stays a range; surrounding noise is dropped."""
    if not text:
        return ""
    cleaned = re.sub(r"\s+", "", text.strip().casefold())
    cleaned = cleaned.replace("–", "-").strip(".,;:")
    return cleaned


def normalize_postal_code(text: str | None) -> str:
    """Five digits, or empty when the text is not a German postal code."""
    if not text:
        return ""
    digits = re.sub(r"[\s.]", "", text.strip())
    digits = re.sub(r"^D-?", "", digits, flags=re.IGNORECASE)
    return digits if re.fullmatch(r"\d{5}", digits) else ""


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_CITY_PREFIXES = ("landeshauptstadt ", "stadt ", "city of ")


def city_key(text: str | None) -> str:
    """A comparison key for a city name: case, accents and an official prefix ignored.

    A district suffix (``Hannover-Linden``, ``Hannover (Linden)``) is dropped, because the
    municipality is what registration is about.
    """
    if not text:
        return ""
    key = " ".join(_fold(text).replace("ß", "ss").split())
    for prefix in _CITY_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
    key = re.split(r"\s*(?:-|\(|,|/|\bot\b)\s*", key, maxsplit=1)[0]
    return key.strip()


def same_city(a: str | None, b: str | None) -> bool:
    key_a, key_b = city_key(a), city_key(b)
    return bool(key_a) and key_a == key_b


@lru_cache(maxsize=8)
def postal_codes(resource: str) -> frozenset[str]:
    """Postal codes listed in a CSV of ``intake/data`` (``#`` lines are comments)."""
    text = resources.files("intake").joinpath("data", resource).read_text(encoding="utf-8")
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    rows = csv.DictReader(lines)
    return frozenset(row["postal_code"].strip() for row in rows if row.get("postal_code"))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (small strings only: names and numbers)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]
