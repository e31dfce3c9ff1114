"""Compare two results files of ``servicepoint evaluate`` case by case.

    python bench/compare_evaluations.py BEFORE.jsonl AFTER.jsonl

Prints every case whose decision, reasons, document types, fields, confidences or
reading problems differ (reading times are left out: they always do), and a count.
Exit status 1 when any case differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def load(path: Path) -> dict[str, dict[str, Any]]:
    lines = (json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip())
    return {str(line["case"]): line for line in lines}


def comparable(line: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in line.items() if key != "seconds"}


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            found += differences(before.get(key), after.get(key), f"{path}.{key}")
        return found
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    before, after = load(args.before), load(args.after)
    changed = 0
    for case in sorted(set(before) | set(after)):
        if case not in before or case not in after:
            sys.stdout.write(f"{case}: only in {'after' if case in after else 'before'}\n")
            changed += 1
            continue
        found = differences(comparable(before[case]), comparable(after[case]))
        if found:
            changed += 1
            sys.stdout.write(f"{case}:\n" + "".join(f"  {d}\n" for d in found))
    sys.stdout.write(f"{len(set(before) | set(after))} cases, {changed} differ\n")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
