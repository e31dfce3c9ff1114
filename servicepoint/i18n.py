"""Message catalogues (gettext .po files) for German and English.

Source strings (msgids) are English; the kernel and every registered domain package may
ship ``locale/<lang>.po`` and all of them are merged at start-up. German is the default
language of the office. The .po files are compiled in memory, so no build step is needed.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from servicepoint import domains

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"


class _Merged(gettext.GNUTranslations):
    pass


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> gettext.NullTranslations:
    merged: gettext.NullTranslations = gettext.NullTranslations()
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    for package in ("servicepoint", *domains.packages()):
        po = resources.files(package).joinpath("locale", f"{lang}.po")
        if not po.is_file():
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = _Merged(buffer)
        if isinstance(merged, gettext.GNUTranslations):
            merged._catalog.update(part._catalog)  # type: ignore[attr-defined]
        else:
            merged = part
    return merged


def normalize_language(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()[:2]
    return value if value in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    if not header:
        return None
    weighted: list[tuple[float, str]] = []
    for part in header.split(","):
        lang, _, q = part.strip().partition(";q=")
        code = normalize_language(lang)
        if code:
            try:
                weighted.append((float(q) if q else 1.0, code))
            except ValueError:
                continue
    return max(weighted)[1] if weighted else None


def gettext_for(lang: str) -> tuple[object, object]:
    t = translations(lang)
    return t.gettext, t.ngettext
