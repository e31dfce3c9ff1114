"""Landlord confirmations of a corpus read one by one: field accuracy per layout kind.

    nice -n 10 .venv/bin/python bench/landlord_layouts.py CORPUS_DIR [--workers 2] [--out FILE]

Reads every upload that ``expected.json`` calls a landlord confirmation with the
production reader (``intake.reading.reader.read_document``) and compares its fields with the
truth the way ``servicepoint evaluate`` scores them. Per layout kind and output
(text PDF, scan, photo) it prints the documents, the share of fields read correctly,
how many documents had every field trusted (confidence at or above the service's
``min_field_confidence``), and how many trusted a wrong value: the figure that must
stay 0, because a trusted wrong value is what an unsafe automatic decision is made of.
Much faster than a whole evaluation (no identity documents, no decision).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from intake.applications.documents import DocType
from intake.applications.evaluate import field_correct
from intake.reading.reader import read_document
from intake.services import get_service

THRESHOLD = float(get_service("anmeldung").min_field_confidence)


def _read(task: tuple[str, str, str, dict[str, Any]]) -> dict[str, Any]:
    case, file, path, truth = task
    reading = read_document(Path(path), declared_type=DocType.LANDLORD_CONFIRMATION)
    fields = {}
    for name, expected in truth["fields"].items():
        got = reading.fields.get(name)
        value = got.value if got is not None else None
        confidence = got.confidence if got is not None else 0.0
        fields[name] = {
            "expected": expected,
            "value": value,
            "confidence": confidence,
            "correct": field_correct(name, value, expected),
        }
    return {"case": case, "file": file, "type": str(reading.type), "fields": fields,
            "seconds": reading.seconds}  # fmt: skip


def tasks(corpus: Path) -> list[tuple[tuple[str, str, str, dict[str, Any]], dict[str, Any]]]:
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    found = []
    for case in manifest["cases"]:
        truth = json.loads((corpus / case / "expected.json").read_text(encoding="utf-8"))
        for file, doc in truth["documents"].items():
            if doc["type"] == "landlord_confirmation":
                task = (case, file, str(corpus / case / file), doc)
                found.append((task, truth))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="one JSON line per document")
    args = parser.parse_args()
    work = tasks(args.corpus)
    with ProcessPoolExecutor(max_workers=max(1, min(args.workers, 2))) as pool:
        results = list(pool.map(_read, [t for t, _ in work]))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result, (_, truth) in zip(results, work, strict=True):
        layout = truth.get("layout", "?")
        output = truth.get("output") or Path(result["file"]).suffix.lstrip(".")
        result["layout"], result["output"] = layout, output
        for key in (layout, f"{layout}/{output}", "all"):
            groups[key].append(result)
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results))
    print(f"{'kind':28} {'docs':>4} {'fields':>7} {'trusted':>7} {'trusted_wrong':>13}")
    for key in sorted(groups, key=lambda k: (k == "all", k)):
        rows = groups[key]
        values = [f for r in rows for f in r["fields"].values()]
        accuracy = sum(f["correct"] for f in values) / max(1, len(values))
        trusted = [
            r for r in rows if all(f["confidence"] >= THRESHOLD for f in r["fields"].values())
        ]
        wrong = sum(
            1
            for r in rows
            for f in r["fields"].values()
            if f["confidence"] >= THRESHOLD and not f["correct"]
        )
        print(f"{key:28} {len(rows):4d} {accuracy:7.3f} {len(trusted):7d} {wrong:13d}")
    for result in results:
        bad = {
            n: f
            for n, f in result["fields"].items()
            if not f["correct"] or f["confidence"] < THRESHOLD
        }
        if bad:
            shown = "; ".join(f"{n}={f['value']!r}@{f['confidence']:.2f}" for n, f in bad.items())
            print(
                f"  {result['case']} {result['layout']}/{result['output']}: {shown}",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
