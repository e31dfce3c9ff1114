"""Identity documents under degradation: field accuracy per kind, sides and quality.

Renders ``--n`` documents for every combination of kind (ID card sides, passport) and
quality with :mod:`tests.corpusgen.identity`, reads each file with the same reader the
evaluation runs (``intake.reading.reader.read_document``, real tesseract) and prints, per
combination, the share of the six identity fields read right, the share of files with
every field right, the files read as ``unreadable``, and the values that are wrong but
carry a confidence the decision would trust on their own (>= 0.9): that last column
must stay 0.

    nice -n 10 .venv/bin/python bench/identity_reading.py --n 6 --seed 1 --workers 2 \\
        --out /tmp/identity-after.jsonl [--compare /tmp/identity-before.jsonl]

``--compare`` prints the figures of an earlier ``--out`` beside the new ones (run the
same seed and ``--n`` before and after a change).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.applications.documents import DocType  # noqa: E402
from intake.applications.evaluate import field_correct  # noqa: E402
from intake.reading.reader import read_document  # noqa: E402
from tests.corpusgen.identity import (  # noqa: E402
    QUALITIES,
    expected_identity_fields,
    render_identity_document,
    sample_person,
)

REFERENCE = date(2026, 10, 1)
TRUSTED = 0.9
GROUPS = (
    ("id_card", "back"),
    ("id_card", "front"),
    ("id_card", "front+back"),
    ("id_card", "one_page"),
    ("passport", "page"),
)


def _render(seed: int, n: int, folder: Path) -> list[dict[str, Any]]:
    """Every document to read: file, group, quality and its expected fields."""
    tasks = []
    for group_index, (kind, sides) in enumerate(GROUPS):
        for quality_index, quality in enumerate(QUALITIES):
            for number in range(n):
                rng = random.Random(f"{seed}-{group_index}-{quality_index}-{number}")
                person = sample_person(rng, kind)
                files = render_identity_document(
                    person, kind, rng, quality, sides=None if kind == "passport" else sides
                )
                for name, data in files:
                    path = folder / f"{kind}-{sides}-{quality}-{number}-{name}"
                    path.write_bytes(data)
                    tasks.append(
                        {
                            "file": str(path),
                            "group": f"{kind} {sides}",
                            "quality": quality,
                            "kind": kind,
                            "expected": expected_identity_fields(person),
                        }
                    )
    return tasks


def _read(task: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    declared = DocType.PASSPORT if task["kind"] == "passport" else DocType.ID_CARD
    reading = read_document(Path(task["file"]), declared_type=declared, reference=REFERENCE)
    fields = {}
    for name, expected in task["expected"].items():
        found = reading.fields.get(name)
        value = found.value if found else None
        confidence = found.confidence if found else 0.0
        correct = field_correct(name, value, expected)
        fields[name] = {"value": value, "confidence": round(confidence, 3), "correct": correct}
    return {
        "file": Path(task["file"]).name,
        "group": task["group"],
        "quality": task["quality"],
        "type": str(reading.type),
        "problems": list(reading.problems),
        "mrz_valid": reading.mrz.valid if reading.mrz else None,
        "fields": fields,
        "seconds": round(time.monotonic() - started, 2),
    }


def _summarise(results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, float]]:
    tally: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for result in results:
        for key in ((result["group"], result["quality"]), ("all", result["quality"])):
            row = tally[key]
            row["files"] += 1
            correct = [f["correct"] for f in result["fields"].values()]
            row["fields"] += len(correct)
            row["right"] += sum(correct)
            row["whole"] += all(correct)
            row["unreadable"] += "unreadable" in result["problems"]
            row["trusted_wrong"] += sum(
                1
                for f in result["fields"].values()
                if not f["correct"] and f["value"] and f["confidence"] >= TRUSTED
            )
    return tally


def _rate(row: dict[str, float] | None, name: str, total: str) -> float | None:
    return row[name] / row[total] if row and row[total] else None


def _cell(now: float | None, before: float | None, count: bool = False) -> str:
    def shown(value: float | None) -> str:
        if value is None:
            return "-"
        return str(int(value)) if count else f"{value:.3f}"

    return shown(now) if before is None else f"{shown(before)} → {shown(now)}"


def _table(now: list[dict[str, Any]], before: list[dict[str, Any]] | None) -> str:
    current = _summarise(now)
    earlier = _summarise(before) if before else {}
    header = "| documents | quality | files | field accuracy | all six right | unreadable |"
    header += " wrong but trusted |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    order = [f"{kind} {sides}" for kind, sides in GROUPS] + ["all"]
    for group in order:
        for quality in QUALITIES:
            row = current.get((group, quality))
            if not row:
                continue
            old = earlier.get((group, quality)) if before else None
            cells = [
                _cell(_rate(row, "right", "fields"), _rate(old, "right", "fields")),
                _cell(_rate(row, "whole", "files"), _rate(old, "whole", "files")),
                _cell(row["unreadable"], old["unreadable"] if old else None, count=True),
                _cell(row["trusted_wrong"], old["trusted_wrong"] if old else None, count=True),
            ]
            lines.append(
                f"| {group} | {quality} | {int(row['files'])} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="documents per group and quality")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write one JSON line per file read")
    parser.add_argument("--compare", type=Path, help="an earlier --out to print beside")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="identity-bench-") as folder:
        tasks = _render(args.seed, args.n, Path(folder))
        started = time.monotonic()
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(_read, tasks))
        elapsed = time.monotonic() - started
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in results), encoding="utf-8")
    before = None
    if args.compare:
        lines = args.compare.read_text(encoding="utf-8").splitlines()
        before = [json.loads(line) for line in lines if line.strip()]
    print(_table(results, before))
    print(f"\n{len(results)} files read in {elapsed:.0f} s with {args.workers} workers")


if __name__ == "__main__":
    main()
