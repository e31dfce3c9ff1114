"""Every text of the citizen portal is in the German catalogue, with the same
placeholders as its English message id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2.ext import babel_extract

from intake.portal import forms
from servicepoint import i18n
from tests.conftest import REPO_ROOT

TEMPLATES = REPO_ROOT / "intake" / "portal" / "templates" / "intake"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "1", "lstrip_blocks": "1"}


def template_messages() -> list[tuple[str, str | None]]:
    """(singular, plural) of every gettext call in the portal's templates."""
    found: list[tuple[str, str | None]] = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        with path.open("rb") as handle:
            for _line, _function, message, _comments in babel_extract(
                handle, ("_", "gettext", "ngettext"), [], OPTIONS
            ):
                if isinstance(message, tuple):
                    found.append((str(message[0]), str(message[1]) if message[1] else None))
                elif message:
                    found.append((str(message), None))
    return found


def python_messages() -> list[str]:
    source = (REPO_ROOT / "intake" / "portal" / "views.py").read_text("utf-8")
    literals = re.findall(r'FieldError\(\s*[^,]+,\s*((?:"[^"]*"\s*)+)', source)
    from_views = ["".join(re.findall(r'"([^"]*)"', group)) for group in literals]
    return [*forms.MESSAGES.values(), *from_views, "The status of your application was updated."]


def test_templates_use_the_catalogue() -> None:
    assert len(template_messages()) > 150


@pytest.mark.parametrize("kind", ["templates", "python"])
def test_every_portal_message_has_a_german_translation(kind: str) -> None:
    german = i18n.translations("de")
    missing = []
    entries = template_messages() if kind == "templates" else [(m, None) for m in python_messages()]
    for singular, plural in entries:
        translated = german.ngettext(singular, plural, 2) if plural else german.gettext(singular)
        source = plural or singular
        if translated == source and singular not in {"Error"}:
            missing.append(singular)
        elif sorted(PLACEHOLDER.findall(translated)) != sorted(PLACEHOLDER.findall(source)):
            missing.append(f"placeholders differ: {singular}")
    assert missing == []


def test_no_text_is_written_into_the_templates_directly() -> None:
    """Outside tags and expressions, templates hold only markup and punctuation."""
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text("utf-8")
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", text, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)
        text = re.sub(r'[\w-]+="[^"]*"', " ", text)  # attributes built by a macro
        words = re.findall(r"[A-Za-zÄÖÜäöüß]{3,}", text)
        if words:
            offenders.append(f"{Path(path).relative_to(TEMPLATES)}: {words[:5]}")
    assert offenders == []
