"""CPU seconds of the pipeline against the tesseract CLI, document by document.

    python bench/ocr_cpu.py ../shared/corpus/anmeldung-dev [--seconds LIMIT]

Each document that needs OCR is read by the pipeline in this process (the engines kept
loaded, as in a reading worker), then its pages by ``tesseract IMAGE stdout -l deu --dpi
300 tsv``. CPU time (user + system: this process for the pipeline, the finished children
for the CLI) does not depend on how busy the machine is, unlike wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ocr_throughput import ocr_documents, page_images  # noqa: E402

from intake.applications.documents import DocType  # noqa: E402
from intake.reading.reader import read_document  # noqa: E402


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--seconds", type=float, default=float("inf"), help="stop after this")
    args = parser.parse_args(argv)
    os.environ["OMP_THREAD_LIMIT"] = "1"
    tasks = ocr_documents(args.corpus)
    rows: dict[str, list[float]] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        pages: dict[str, list[Path]] = {}
        for key, path in page_images(tasks, Path(folder)):
            pages.setdefault(key, []).append(path)
        read_document(tasks[0].path)  # the engines are loaded once, as in a worker
        for task in tasks:
            if time.monotonic() - started > args.seconds:
                break
            before = _cpu(resource.RUSAGE_SELF)
            reading = read_document(task.path, declared_type=task.declared_type)
            pipeline = _cpu(resource.RUSAGE_SELF) - before
            before = _cpu(resource.RUSAGE_CHILDREN)
            for image in pages.get(task.key, []):
                command = ["tesseract", str(image), "stdout", "-l", "deu", "--dpi", "300", "tsv"]
                subprocess.run(command, check=True, capture_output=True)
            cli = _cpu(resource.RUSAGE_CHILDREN) - before
            identity = reading.type in (DocType.ID_CARD, DocType.PASSPORT)
            row = rows.setdefault("identity" if identity else str(reading.type), [0, 0.0, 0.0])
            row[0] += 1
            row[1] += pipeline
            row[2] += cli
    totals = [sum(r[i] for r in rows.values()) for i in range(3)]
    sys.stdout.write("| documents | n | pipeline CPU s | CLI CPU s | pipeline / CLI speed |\n")
    sys.stdout.write("|---|---:|---:|---:|---:|\n")
    for kind, (n, pipeline, cli) in [*sorted(rows.items()), ("all", totals)]:
        sys.stdout.write(
            f"| {kind} | {n:.0f} | {pipeline:.1f} | {cli:.1f} | {cli / pipeline:.2f}× |\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
