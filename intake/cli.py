"""``servicepoint evaluate`` and ``servicepoint read`` (CONTRACTS §1 and §5)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from intake.applications.documents import DocType, DocumentReading


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = sub.add_parser(
        "evaluate",
        help="run every case of a corpus through reading, validation and decision",
        description="Evaluate a corpus (CONTRACTS §1): one JSON line per case, then the "
        "summary figures.",
    )
    evaluate.add_argument("corpus", type=Path, metavar="CORPUS_DIR")
    evaluate.add_argument("--out", type=Path, required=True, metavar="RESULTS.jsonl")
    evaluate.add_argument(
        "--workers", type=int, default=None, help="parallel reader processes (default: cores)"
    )
    evaluate.add_argument("--quiet", action="store_true", help="no progress line per case")
    evaluate.set_defaults(handler=run_evaluate)

    read = sub.add_parser(
        "read",
        help="read documents and print their type, fields and MRZ",
        description="Read documents as the intake pipeline does (CONTRACTS §5).",
    )
    read.add_argument("files", type=Path, nargs="+", metavar="FILE")
    read.add_argument("--json", action="store_true", help="print the JSON list of CONTRACTS §5")
    read.add_argument(
        "--type",
        choices=[str(t) for t in DocType],
        default=None,
        help="the type the uploader declared (default: detect)",
    )
    read.set_defaults(handler=run_read)

    from intake.assistant import cli as assistant_cli

    assistant_cli.register(sub)


def run_evaluate(args: argparse.Namespace) -> int:
    from intake.applications.evaluate import (
        evaluate_corpus,
        format_summary,
        print_progress,
        score,
        write_results,
    )

    os.environ["OMP_THREAD_LIMIT"] = "1"  # inherited by every tesseract process
    corpus: Path = args.corpus
    if not (corpus / "manifest.json").exists() and not any(corpus.glob("*/application.json")):
        sys.stderr.write(f"error: {corpus} is not a corpus (no manifest.json, no cases)\n")
        return 2
    started = time.monotonic()
    results = evaluate_corpus(
        corpus, workers=args.workers, progress=None if args.quiet else print_progress
    )
    write_results(results, args.out)
    summary: dict[str, Any] = (
        score(results, corpus) if _has_truth(corpus) else {"cases": len(results)}
    )
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    sys.stdout.write(format_summary(summary) + "\n")
    return 0


def _has_truth(corpus: Path) -> bool:
    return any(corpus.glob("*/expected.json"))


def run_read(args: argparse.Namespace) -> int:
    from intake.applications.evaluate import DocumentTask, iter_readings

    os.environ["OMP_THREAD_LIMIT"] = "1"
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        sys.stderr.write(f"error: no such file: {', '.join(missing)}\n")
        return 2
    declared = DocType(args.type) if args.type else None
    tasks = [DocumentTask(str(i), str(p), p, declared) for i, p in enumerate(args.files)]
    done = {task.key: reading for task, reading in iter_readings(tasks)}
    readings = [done[task.key] for task in tasks]
    if args.json:
        sys.stdout.write(json.dumps([read_json(r) for r in readings], ensure_ascii=False, indent=2))
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n\n".join(read_text(r) for r in readings) + "\n")
    return 0


def read_json(reading: DocumentReading) -> dict[str, Any]:
    """One element of the ``servicepoint read --json`` list (CONTRACTS §5)."""
    return {
        "file": reading.file,
        "type": str(reading.type),
        "fields": reading.field_values(),
        "confidence": reading.confidences(),
        "mrz": reading.mrz.as_json() if reading.mrz else None,
    }


def read_text(reading: DocumentReading) -> str:
    lines = [
        f"{reading.file}",
        f"  type: {reading.type} (confidence {reading.type_confidence:.2f}, "
        f"{reading.media_type}, {len(reading.pages)} page(s), {reading.seconds:.1f}s"
        f"{', OCR' if reading.ocr_used else ''})",
    ]
    if reading.problems:
        lines.append(f"  problems: {', '.join(reading.problems)}")
    width = max((len(name) for name in reading.fields), default=0)
    for name, value in reading.fields.items():
        shown = ", ".join(value.value) if isinstance(value.value, list) else value.value
        lines.append(f"  {name:<{width}}  {value.confidence:4.2f}  {shown}")
    if reading.mrz is not None:
        mrz = reading.mrz
        verdict = "valid" if mrz.valid else "INVALID"
        lines.append(f"  MRZ {mrz.format}: {verdict}{' (corrected)' if mrz.corrected else ''}")
        lines.extend(f"    {line}" for line in mrz.lines)
        for name, ok in mrz.checks.items():
            lines.append(f"    check {name}: {'ok' if ok else 'FAILED'}")
    elif reading.type in (DocType.ID_CARD, DocType.PASSPORT):
        lines.append("  MRZ: not found")
    return "\n".join(lines)
