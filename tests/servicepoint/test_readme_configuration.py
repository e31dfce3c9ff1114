"""The README's configuration table against the one settings class: every variable, its default."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined

from servicepoint.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
_ROW = re.compile(r"^\| (`SERVICEPOINT_[^|]*) \| ([^|]*) \| [^|]*\|$")


def documented() -> dict[str, str]:
    """Variable name → default as the README's configuration table gives it.

    A row may name several variables (`SERVICEPOINT_HOST` / `_PORT`): each further one
    replaces as many trailing words of the first as it has; the defaults are split the
    same way (one default for all when there is one).
    """
    section = README.read_text("utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table: dict[str, str] = {}
    for line in section.splitlines():
        match = _ROW.match(line.strip())
        if not match:
            continue
        names = [n.strip().strip("`") for n in match.group(1).split(" / ")]
        defaults = [d.strip() for d in match.group(2).split(" / ")]
        if len(defaults) == 1:
            defaults *= len(names)
        assert len(defaults) == len(names), line
        first = names[0]
        for name, default in zip(names, defaults, strict=True):
            if name.startswith("_"):
                words = first.removeprefix("SERVICEPOINT_").split("_")
                suffix = name[1:].split("_")
                name = "_".join(["SERVICEPOINT", *words[: -len(suffix)], *suffix])
            table[name] = default
    return table


def _literal(value: Any) -> str | None:
    """How the README writes a default that is a plain value; None for computed ones."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    return None


def test_the_readme_documents_every_setting_with_its_default() -> None:
    table = documented()
    for name, field in Settings.model_fields.items():
        variable = f"SERVICEPOINT_{name.upper()}"
        assert variable in table, f"{variable} is missing from the README's configuration table"
        written = table[variable]
        if field.default is PydanticUndefined or field.default is None:
            # computed (cores, a path in the data directory) or unset: said in words
            assert not written.startswith("`") or "DATA_DIR" in written or "/" in written, (
                f"{variable}: the README gives {written}, the settings compute it"
            )
            continue
        expected = _literal(field.default)
        assert expected is not None, f"{variable}: document how its default is written"
        assert written == f"`{expected}`", (
            f"{variable}: the README says {written}, the settings class `{expected}`"
        )


def test_the_readme_documents_no_setting_that_does_not_exist() -> None:
    known = {f"SERVICEPOINT_{name.upper()}" for name in Settings.model_fields}
    assert set(documented()) - known == set()
