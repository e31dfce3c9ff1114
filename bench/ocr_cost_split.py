"""Where one document's reading time goes, against the bare tesseract CLI on its page.

One process, one document at a time (no parallelism, so nothing competes for a
core): every page image of the corpus that needs OCR is read once by the
``tesseract`` CLI as ``bench/ocr_throughput.py`` runs it, then the same document
goes through ``read_document`` (what ``servicepoint evaluate`` runs per upload).
The reading's time is split by what it spent it on: tesseract on the page
(including readings of a turned page), tesseract on the cut-out MRZ, and
everything else (image decoding, cut, deskew, MRZ segmentation, field
extraction). The split shows how far the pipeline can come to the CLI at best.

    /work/venv/bin/python bench/ocr_cost_split.py ../shared/corpus/anmeldung-dev
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ocr_throughput import machine, ocr_documents, page_images  # this folder

from intake.reading import ocr
from intake.reading.reader import read_document

_T = TypeVar("_T")


class Clock:
    """Seconds spent in tesseract processes started by intake.reading.ocr, by purpose."""

    def __init__(self) -> None:
        self.seconds = {"page": 0.0, "mrz": 0.0}
        self.runs = {"page": 0, "mrz": 0}
        self._invoke = ocr._invoke

    def __enter__(self) -> Clock:
        def timed(call: Callable[[], _T], what: str) -> _T:
            names = {frame.name for frame in traceback.extract_stack(limit=12)}
            purpose = "mrz" if "read_mrz_cells" in names else "page"
            started = time.perf_counter()
            try:
                return self._invoke(call, what)
            finally:
                self.seconds[purpose] += time.perf_counter() - started
                self.runs[purpose] += 1

        ocr._invoke = timed
        return self

    def __exit__(self, *exc: object) -> None:
        ocr._invoke = self._invoke


def raw_seconds(image: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["tesseract", str(image), "stdout", "-l", "deu", "--dpi", "300", "tsv"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="split of the pipeline's time per document")
    parser.add_argument("corpus", type=Path)
    args = parser.parse_args(argv)
    os.environ["OMP_THREAD_LIMIT"] = "1"

    tasks = ocr_documents(args.corpus)
    raw = total = 0.0
    with tempfile.TemporaryDirectory() as folder, Clock() as clock:
        images = page_images(tasks, Path(folder))
        if len(images) != len(tasks):
            raise SystemExit("this split needs one OCR page per document")
        for task, image in zip(tasks, images, strict=True):
            raw += raw_seconds(image)
            started = time.perf_counter()
            read_document(task.path, declared_type=task.declared_type, reference=task.reference)
            total += time.perf_counter() - started
    page, mrz = clock.seconds["page"], clock.seconds["mrz"]
    rest = total - page - mrz
    rows = [
        ("tesseract CLI, one run per page", raw, len(images)),
        ("pipeline: tesseract on the page", page, clock.runs["page"]),
        ("pipeline: tesseract on the cut-out MRZ", mrz, clock.runs["mrz"]),
        ("pipeline: everything else (Python, images)", rest, 0),
        ("pipeline: all", total, clock.runs["page"] + clock.runs["mrz"]),
    ]
    lines = [
        f"Measured on {machine()}; {len(tasks)} documents of `{args.corpus.name}`, one at a time.",
        "",
        "| part | seconds | per document | × CLI | tesseract runs |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, seconds, runs in rows:
        lines.append(
            f"| {name} | {seconds:.1f} | {seconds / len(tasks):.2f} | {seconds / raw:.2f} "
            f"| {runs or ''} |"
        )
    lines.append("")
    lines.append(f"pages/s ratio pipeline / CLI, one at a time: **{raw / total:.2f}×**")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
