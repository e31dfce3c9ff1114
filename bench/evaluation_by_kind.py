"""The figures of one ``servicepoint evaluate`` run, per kind of case.

    .venv/bin/python bench/evaluation_by_kind.py CORPUS_DIR RESULTS.jsonl

For a corpus whose ``expected.json`` names the landlord confirmation's ``layout`` and
``output`` (``tests.corpusgen`` writes both; other corpora count as ``-``) it prints,
per layout kind and per output: the cases that should be automated, how many were,
the unsafe automatic decisions and the share of fields read right; then the reasons
that sent cases to a clerk that should have been automated, and the fields by document
type, worst first. The overall figures are ``servicepoint evaluate``'s own
(:func:`intake.applications.evaluate.score`), so the two always agree.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from intake.applications.evaluate import corpus_cases, field_correct, score


class _Group:
    def __init__(self) -> None:
        self.clean = 0
        self.automated = 0
        self.unsafe = 0
        self.fields_right = 0
        self.fields = 0

    def row(self, name: str) -> str:
        rate = f"{self.automated / self.clean:.3f}" if self.clean else "-"
        fields = f"{self.fields_right / self.fields:.3f}" if self.fields else "-"
        return f"| {name} | {self.clean} | {self.automated} | {rate} | {self.unsafe} | {fields} |"


def _document_kind(file: str, truth: dict[str, Any]) -> str:
    stem = Path(file).stem.rstrip("_0123456789")
    return f"{truth.get('type')} ({stem})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    lines = [json.loads(x) for x in args.results.read_text("utf-8").splitlines() if x.strip()]
    results = {str(r["case"]): r for r in lines}
    groups: dict[str, dict[str, _Group]] = {
        "layout": defaultdict(_Group),
        "output": defaultdict(_Group),
    }
    reasons: Counter[str] = Counter()
    fields: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for case in corpus_cases(args.corpus):
        truth = json.loads((args.corpus / case / "expected.json").read_text("utf-8"))
        result = results.get(case, {"decision": "review", "reasons": [], "documents": {}})
        right = total = 0
        for file, expected in truth.get("documents", {}).items():
            got = result.get("documents", {}).get(file, {}).get("fields", {})
            for name, value in expected.get("fields", {}).items():
                correct = field_correct(name, got.get(name), value)
                tally = fields[(_document_kind(file, expected), name)]
                tally[0] += int(correct)
                tally[1] += 1
                right += int(correct)
                total += 1
        clean = truth["decision"] == "auto"
        automated = result["decision"] == "auto"
        for axis, key in (
            ("layout", truth.get("layout", "-")),
            ("output", truth.get("output", "-")),
        ):
            for group in (groups[axis][str(key)], groups[axis]["all"]):
                group.clean += int(clean)
                group.automated += int(clean and automated)
                group.unsafe += int(automated and (not clean or right < total))
                group.fields_right += right
                group.fields += total
        if clean and not automated:
            reasons.update(result.get("reasons", []) or ["(none)"])
    for axis, by_key in groups.items():
        print(f"\n| {axis} | should be automated | automated | rate | unsafe | fields right |")
        print("|---|---|---|---|---|---|")
        for key in sorted(by_key, key=lambda k: (k == "all", k)):
            print(by_key[key].row(key))
    print("\nReasons of cases sent to a clerk that should have been automated:")
    for code, count in reasons.most_common():
        print(f"  {code}: {count}")
    print("\nFields by document kind, worst first (right / total):")
    for (kind, name), (hits, count) in sorted(fields.items(), key=lambda x: x[1][0] / x[1][1]):
        if hits < count:
            print(f"  {kind} {name}: {hits}/{count}")
    summary = score(lines, args.corpus)
    print("\nservicepoint evaluate's summary:", json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
