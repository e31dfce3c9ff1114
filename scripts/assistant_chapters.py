"""Record the tutorials' chapter start times for the assistant (``chapters.yaml``).

The start of a chapter is known only once its video is rendered (the narration's length
sets it): the renderer writes it to the render's ``meta.json``. This reads, for every
version of every shipped tutorial script, the ``meta.json`` of its current render under
the media directory (``SHARED_DATA_DIR/tutorials``); a version not rendered there is
rendered into a temporary directory. Each entry keeps the fingerprint of the text it was
measured on (``intake.assistant.knowledge.fingerprint``): when a script changes, the
assistant links to the tutorial without a start time until this is run again.

    .venv/bin/python scripts/assistant_chapters.py [--media DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.assistant.knowledge import DATA_DIR, TUTORIAL_SCRIPTS, fingerprint  # noqa: E402
from tutorials import render  # noqa: E402

HEADER = """\
# Where each tutorial chapter starts (seconds), read from the rendered videos' meta.json by
# scripts/assistant_chapters.py; the assistant links a chapter as /tutorials/SLUG?t=START.
# The fingerprint is that of the version's text the times were measured on: a changed
# script is linked without a start time until the script is run again. Do not edit.
"""


def starts_of(version: render.Version, media: Path | None) -> list[float]:
    """The chapter starts of one version: from its current render, else from a new one."""
    if media is not None:
        meta = media / version.slug / version.language / version.content_hash[:16] / "meta.json"
        if meta.is_file():
            return [float(c["start"]) for c in json.loads(meta.read_text("utf-8"))["chapters"]]
    with tempfile.TemporaryDirectory() as work:
        result = render.render_version(version, Path(work) / "render")
        return [float(c["start"]) for c in result.chapters]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, help="the rendered tutorials' directory")
    args = parser.parse_args()
    entries: dict[str, Any] = {}
    for path in sorted(TUTORIAL_SCRIPTS.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
        by_slug = {v["slug"]: v for v in raw.get("versions") or []}
        for version in render.load_script(path):
            entries[version.slug] = {
                "fingerprint": fingerprint(by_slug[version.slug]),
                "starts": starts_of(version, args.media),
            }
    body = yaml.safe_dump({"tutorials": entries}, allow_unicode=True, sort_keys=True)
    (DATA_DIR / "chapters.yaml").write_text(HEADER + body, encoding="utf-8")
    print(f"{len(entries)} tutorial versions written to {DATA_DIR / 'chapters.yaml'}")  # noqa: T201


if __name__ == "__main__":
    main()
