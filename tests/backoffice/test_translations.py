"""Every text of the back office has its German translation (German is the default)."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2.ext import babel_extract

from servicepoint import i18n

BACKOFFICE = Path(__file__).resolve().parents[2] / "backoffice"
OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}


def message_ids() -> set[str]:
    found: set[str] = set()
    for template in (BACKOFFICE / "templates").rglob("*.html"):
        with template.open("rb") as handle:
            for _, _, message, _ in babel_extract(handle, ("_", "ngettext"), [], OPTIONS):
                # A plural's catalogue key is its singular message id.
                singular = message[0] if isinstance(message, tuple) else message
                if singular:
                    found.add(singular)
    for module in BACKOFFICE.glob("*.py"):
        text = module.read_text(encoding="utf-8")
        for marked in re.finditer(r'(?:N_|_flash)\(\s*(?:request,\s*)?((?:"[^"]*"\s*)+)', text):
            found.add("".join(re.findall(r'"([^"]*)"', marked.group(1))))
    return found


def test_every_message_has_a_german_translation() -> None:
    german = i18n.translations("de")
    catalogue = getattr(german, "_catalog", {})
    known = {key if isinstance(key, str) else key[0] for key in catalogue}
    ids = message_ids()
    assert len(ids) > 250
    missing = sorted(message for message in ids if message not in known)
    assert missing == []
