"""OCR throughput: the evaluate pipeline against the bare tesseract CLI, side by side.

Both runs use the same page images (every page of the corpus that needs OCR: photos,
scans and the embedded images of scanned PDFs) and the same parallelism (N processes,
``OMP_THREAD_LIMIT=1``). The pipeline figure includes everything the evaluate command
does per document (type detection, orientation, deskew, MRZ passes, field extraction).

    .venv/bin/python bench/ocr_throughput.py ../shared/corpus/anmeldung-dev \\
        --workers 2 --rounds 3

Beside the overall pages per second, each document type's speed compares the pipeline's
reading time per document with the CLI's time on the same pages (summed over the rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from intake.applications.documents import DocType, TextSource
from intake.applications.evaluate import DocumentTask, corpus_cases, iter_readings
from intake.applications.uploads import PDF, sniff
from intake.reading.pdftext import read_pdf

SECTION = "## OCR throughput"


@dataclass(slots=True)
class Run:
    name: str
    pages: int
    seconds: float
    tesseract_runs: int
    load: tuple[float, float]  # 1-minute load average before and after

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def ocr_documents(corpus: Path) -> list[DocumentTask]:
    """Every upload of the corpus that has at least one page without a text layer."""
    tasks = []
    for case in corpus_cases(corpus):
        application = json.loads((corpus / case / "application.json").read_text("utf-8"))
        for doc in application["documents"]:
            path = corpus / case / doc["file"]
            if _needs_ocr(path):
                declared = DocType(doc["declared_type"]) if doc.get("declared_type") else None
                tasks.append(DocumentTask(f"{case}/{doc['file']}", doc["file"], path, declared))
    return tasks


def _needs_ocr(path: Path) -> bool:
    if sniff(path.read_bytes()[:2048]) != PDF:
        return True
    return any(page.images for page in read_pdf(path).pages)


def page_images(tasks: list[DocumentTask], folder: Path) -> list[tuple[str, Path]]:
    """The images tesseract reads, with their task's key: image files as they are,
    scanned PDF pages extracted."""
    images = []
    for number, task in enumerate(tasks):
        if sniff(task.path.read_bytes()[:2048]) != PDF:
            images.append((task.key, task.path))
            continue
        for index, page in enumerate(read_pdf(task.path).pages):
            if page.images:
                target = folder / f"{number:03d}-{index}.png"
                page.images[0].save(target)
                images.append((task.key, target))
    return images


@dataclass(slots=True)
class Kinds:
    """Per detected document type: documents, OCR pages, summed seconds of each side."""

    rows: dict[str, list[float]]

    def add(self, kind: str, column: int, value: float) -> None:
        self.rows.setdefault(kind, [0.0, 0.0, 0.0, 0.0, 0.0])[column] += value


def run_pipeline(
    tasks: list[DocumentTask], workers: int, kinds: Kinds
) -> tuple[Run, dict[str, str]]:
    """The pipeline run; fills ``kinds`` and returns each task's detected type."""
    load, started = os.getloadavg()[0], time.monotonic()
    pages, calls = 0, dict[str, int]()
    detected: dict[str, str] = {}
    for task, reading in iter_readings(tasks, workers=workers, tesseract_calls=calls):
        ocr_pages = sum(1 for page in reading.pages if page.source is TextSource.OCR)
        pages += ocr_pages
        kind = detected[task.key] = str(reading.type)
        kinds.add(kind, 0, 1)
        kinds.add(kind, 1, ocr_pages)
        kinds.add(kind, 2, reading.seconds)
        kinds.add(kind, 4, calls.get(task.key, 0))
    seconds = time.monotonic() - started
    name = f"evaluate pipeline (N={workers})"
    run = Run(name, pages, seconds, sum(calls.values()), (load, os.getloadavg()[0]))
    return run, detected


def _breakdown(kinds: Kinds) -> str:
    lines = [
        "| detected type | documents | OCR pages | pipeline s (sum) | CLI s (sum, same pages) "
        "| **pipeline / CLI speed** | tesseract readings |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    identity = [0.0, 0.0]
    for kind, (docs, pages, seconds, cli, runs) in sorted(kinds.rows.items()):
        if kind in ("id_card", "passport"):
            identity[0] += seconds
            identity[1] += cli
        lines.append(
            f"| {kind} | {docs:.0f} | {pages:.0f} | {seconds:.1f} | {cli:.1f} "
            f"| {cli / seconds if seconds else 0:.2f}× | {runs:.0f} |"
        )
    if identity[0]:
        lines.append(
            f"| **identity documents** | | | {identity[0]:.1f} | {identity[1]:.1f} "
            f"| **{identity[1] / identity[0]:.2f}×** | |"
        )
    return "\n".join(lines)


def run_tesseract(
    images: list[tuple[str, Path]], workers: int, kinds: Kinds, detected: dict[str, str]
) -> Run:
    environment = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(item: tuple[str, Path]) -> tuple[str, float]:
        key, image = item
        started = time.monotonic()
        subprocess.run(
            ["tesseract", str(image), "stdout", "-l", "deu", "--dpi", "300", "tsv"],
            check=True,
            capture_output=True,
            env=environment,
        )
        return key, time.monotonic() - started

    load, started = os.getloadavg()[0], time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for key, seconds in pool.map(one, images):
            kinds.add(detected.get(key, "unknown"), 3, seconds)
    seconds = time.monotonic() - started
    name = f"tesseract CLI (N={workers})"
    return Run(name, len(images), seconds, len(images), (load, os.getloadavg()[0]))


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
    first = (version.stdout or version.stderr).splitlines()[0]
    return f"{os.cpu_count()} cores (nproc), {model}; {first}; Python {platform.python_version()}"


def table(rounds: list[list[Run]]) -> str:
    lines = [
        "| round | run | pages | seconds | pages/s | tesseract readings | load before/after |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for number, runs in enumerate(rounds, 1):
        lines.extend(
            f"| {number} | {r.name} | {r.pages} | {r.seconds:.1f} | {r.rate:.3f} "
            f"| {r.tesseract_runs} | {r.load[0]:.1f} / {r.load[1]:.1f} |"
            for r in runs
        )
        pipeline, raw = sorted(runs, key=lambda r: not r.name.startswith("evaluate"))
        ratio = pipeline.rate / raw.rate if raw.rate else 0.0
        lines.append(f"| {number} | **ratio pipeline / tesseract** | | | **{ratio:.2f}×** | | |")
    return "\n".join(lines)


def write_docs(target: Path, body: str) -> None:
    """Replace (or append) the OCR throughput section of the benchmarks document."""
    text = target.read_text("utf-8") if target.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + (text[end + 1 :] if end != -1 else "")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text.rstrip("\n") + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="OCR throughput: pipeline vs tesseract CLI")
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=1, help="pairs of runs, order alternating")
    parser.add_argument("--write-docs", type=Path, default=None, metavar="BENCHMARKS.md")
    args = parser.parse_args(argv)
    os.environ["OMP_THREAD_LIMIT"] = "1"

    tasks = ocr_documents(args.corpus)
    rounds: list[list[Run]] = []
    kinds = Kinds({})
    with tempfile.TemporaryDirectory() as folder:
        images = page_images(tasks, Path(folder))
        detected: dict[str, str] = {}
        for number in range(args.rounds):
            # alternate the order, so that neither side always runs on a warmer machine
            # (the first round reads first: the CLI's pages are grouped by detected type)
            if number % 2:
                raw = run_tesseract(images, args.workers, kinds, detected)
                pipeline, detected = run_pipeline(tasks, args.workers, kinds)
                rounds.append([raw, pipeline])
            else:
                pipeline, detected = run_pipeline(tasks, args.workers, kinds)
                raw = run_tesseract(images, args.workers, kinds, detected)
                rounds.append([pipeline, raw])
            # each round as it ends: a long run on a busy machine keeps what it measured
            sys.stderr.write(table(rounds[-1:]).replace("| 1 |", f"| {number + 1} |") + "\n")
            sys.stderr.write(_breakdown(kinds) + "\n")
            sys.stderr.flush()
    result = (
        table(rounds)
        + "\n\nBy detected document type (all rounds summed; per-document reading time of "
        + "the pipeline against the CLI's time on the same pages):\n\n"
        + _breakdown(kinds)
    )
    command = " ".join(["python bench/ocr_throughput.py", *map(str, argv or sys.argv[1:])])
    body = (
        f"{SECTION}\n\n"
        f"Measured {date.today().isoformat()} on {machine()}.\n"
        f"{len(tasks)} documents of `{args.corpus.name}` that need OCR, "
        f"{len(images)} page images; both runs with {args.workers} parallel processes and "
        "`OMP_THREAD_LIMIT=1`. The pipeline counts every step of `servicepoint evaluate` "
        "per document (type detection, orientation, deskew, MRZ passes, fields); the "
        "tesseract run is one `tesseract IMAGE stdout -l deu --dpi 300 tsv` per page.\n\n"
        f"Command: `{command}`\n\n{result}\n"
    )
    sys.stdout.write(body)
    if args.write_docs is not None:
        write_docs(args.write_docs, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
