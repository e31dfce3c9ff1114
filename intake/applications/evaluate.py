"""Reading documents in worker processes, evaluating cases and scoring a corpus.

The production flow and ``servicepoint evaluate`` share one path:
:func:`process_application_documents` reads an application's uploads and decides.
Documents are read in worker processes (forked from a server process that has the
reader imported), at most ``workers`` at a time, so OCR spreads over the cores; a
worker reads one document after another and keeps its tesseract engines loaded
between them. A document that hangs or crashes is killed with its worker at its time
limit and ends as unreadable instead of blocking the run; a fresh worker takes over.

Scoring (:func:`score`) follows CONTRACTS §1; names are compared ignoring case, accents
and ICAO transliteration, streets treat ``Straße``/``Strasse``/``Str.`` alike.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from intake.applications.documents import DocType, DocumentReading
from intake.reading.names import comparable, normalize_street
from intake.reading.normalize import (
    iso_date,
    normalize_house_number,
    normalize_postal_code,
    submission_date,
)
from intake.services.decision import Decision, decide
from servicepoint.settings import get_settings

# A reading gets this long beyond its own time limit before its process is killed.
_KILL_GRACE_SECONDS = 10.0
_MISSING = Path("/nonexistent")  # where an upload without a known path is "found"


@dataclass(frozen=True, slots=True)
class DocumentTask:
    key: str  # unique within one run, e.g. "case-001/documents/scan.jpg"
    file: str  # the name the application uses (DocumentReading.file)
    path: Path
    declared_type: DocType | None = None
    reference: date | None = None  # the submission date (MRZ birth-date century)


# --- reading in worker processes --------------------------------------------------------


def _context() -> multiprocessing.context.BaseContext:
    """Fork from a clean server process with the reader imported (safe with threads)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["intake.reading.reader", "intake.applications.evaluate"])
    return context


def _serve_readings(connection: Connection, max_pages: int, time_limit: float) -> None:
    """Worker process: read the documents sent to it, one at a time, until told to stop.

    The worker lives for many documents, so the tesseract engines it loads
    (``intake.reading.tesseract_engine``: created in this process, never inherited) are loaded
    once and reused for every page. Each answer is (reading, tesseract readings made).
    """
    os.setpgrp()  # own process group, so a kill also ends a running tesseract command
    os.environ["OMP_THREAD_LIMIT"] = "1"
    from intake.reading import ocr
    from intake.reading.reader import read_document

    try:
        while (task := connection.recv()) is not None:
            started, calls = time.monotonic(), ocr.CALLS
            try:
                reading = read_document(
                    task.path,
                    declared_type=task.declared_type,
                    max_pages=max_pages,
                    time_limit=time_limit,
                    reference=task.reference,
                )
                reading.file = task.file
                reading.seconds = round(time.monotonic() - started, 3)
            except Exception as exc:  # noqa: BLE001 - any failure becomes an unreadable document
                reading = _failed_reading(task, f"error:{type(exc).__name__}", started)
            connection.send((reading, ocr.CALLS - calls))
    except (EOFError, OSError):
        pass  # the parent is gone: nothing is left to read for
    finally:
        connection.close()


def _failed_reading(task: DocumentTask, problem: str, started: float) -> DocumentReading:
    return DocumentReading(
        file=task.file,
        media_type="application/octet-stream",
        type=DocType.OTHER,
        type_confidence=0.0,
        problems=[problem],
        seconds=round(time.monotonic() - started, 3),
    )


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    connection: Connection
    task: DocumentTask | None = None  # the document being read, None while idle
    started: float = 0.0
    served: int = 0


# A worker is replaced after this many documents, so that whatever a reading leaves
# behind in memory (fragmentation, caches) cannot grow without bound.
_DOCUMENTS_PER_WORKER = 200


def iter_readings(
    tasks: Sequence[DocumentTask],
    *,
    workers: int | None = None,
    time_limit: float | None = None,
    max_pages: int | None = None,
    kill_grace: float = _KILL_GRACE_SECONDS,
    tesseract_calls: dict[str, int] | None = None,
) -> Iterator[tuple[DocumentTask, DocumentReading]]:
    """Read every task's document in ``workers`` worker processes; yield each as it finishes.

    A reading still running ``kill_grace`` seconds after its own time limit is killed
    with its worker (and any tesseract it started) and reported with the problem
    ``timeout``; a worker that dies ends its document as ``crashed``; either is replaced
    by a fresh worker for the documents still waiting.
    ``tesseract_calls``, if given, receives the number of tesseract readings per task key.
    """
    settings = get_settings()
    workers = max(1, min(workers or settings.ocr_workers, len(tasks) or 1))
    limit = time_limit if time_limit is not None else settings.document_time_limit
    pages = max_pages if max_pages is not None else settings.max_pages
    context = _context()
    pending = list(reversed(tasks))
    pool: list[_Worker] = []
    try:
        while pending or any(w.task is not None for w in pool):
            for worker in [w for w in pool if w.task is None and w.served >= _DOCUMENTS_PER_WORKER]:
                _stop(worker)
                pool.remove(worker)
            while pending and len(pool) < workers:
                pool.append(_start(context, pages, limit))
            for worker in pool:
                if pending and worker.task is None:
                    _assign(worker, pending.pop())
            for task, reading, calls, worker in _collect(pool, limit + kill_grace):
                if tesseract_calls is not None:
                    tesseract_calls[task.key] = calls
                if not worker.process.is_alive() or worker.connection.closed:
                    pool.remove(worker)
                yield task, reading
    finally:
        for worker in pool:
            if worker.task is None:
                _stop(worker)
            else:
                _kill(worker)


def _start(
    context: multiprocessing.context.BaseContext, max_pages: int, time_limit: float
) -> _Worker:
    parent, child = context.Pipe(duplex=True)
    process = context.Process(  # type: ignore[attr-defined]
        target=_serve_readings, args=(child, max_pages, time_limit), daemon=True
    )
    process.start()
    child.close()
    return _Worker(process, parent)


def _assign(worker: _Worker, task: DocumentTask) -> None:
    worker.task, worker.started = task, time.monotonic()
    try:
        worker.connection.send(task)
    except OSError:
        pass  # a worker that died meanwhile: _collect finds its connection at EOF


def _collect(
    pool: list[_Worker], hard_limit: float
) -> Iterator[tuple[DocumentTask, DocumentReading, int, _Worker]]:
    """Wait for the next finished (or overdue) reading; yield what ended, with its worker.

    A killed or dead worker is yielded with its connection closed (to be replaced)."""
    busy = [w for w in pool if w.task is not None]
    now = time.monotonic()
    timeout = max(0.0, min(w.started + hard_limit for w in busy) - now)
    ready = set(wait([w.connection for w in busy], timeout=timeout))
    for worker in busy:
        task = worker.task
        assert task is not None
        if worker.connection in ready:
            reading, calls = _receive(worker, task)
        elif time.monotonic() - worker.started > hard_limit:
            _kill(worker)
            reading, calls = _failed_reading(task, "timeout", worker.started), 0
        else:
            continue
        worker.task = None
        worker.served += 1
        yield task, reading, calls, worker


def _receive(worker: _Worker, task: DocumentTask) -> tuple[DocumentReading, int]:
    try:
        answer = worker.connection.recv()
    except (EOFError, OSError):  # the worker died without an answer (crash, OOM kill)
        _kill(worker)
        return _failed_reading(task, "crashed", worker.started), 0
    match answer:
        case (DocumentReading() as reading, int(calls)):
            return reading, calls
    _kill(worker)
    return _failed_reading(task, "crashed", worker.started), 0


def _stop(worker: _Worker) -> None:
    """Let an idle worker finish; kill it if it does not."""
    try:
        worker.connection.send(None)
    except OSError:
        pass
    worker.process.join(timeout=5)
    _kill(worker)


def _kill(worker: _Worker) -> None:
    pid = worker.process.pid
    if pid is not None and worker.process.is_alive():
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            worker.process.kill()
    worker.process.join(timeout=5)
    worker.connection.close()


# --- one application ------------------------------------------------------------------


def document_tasks(
    application: Mapping[str, Any],
    paths: Mapping[str, Path] | Sequence[Path],
    prefix: str = "",
) -> list[DocumentTask]:
    """One task per upload of ``application``.

    ``paths`` maps each ``documents[].file`` to its place on disk, or lists the paths
    in the order of ``documents``.
    """
    documents = [d for d in application.get("documents") or [] if isinstance(d, Mapping)]
    if not isinstance(paths, Mapping):
        paths = {
            str(doc.get("file", "")): path for doc, path in zip(documents, paths, strict=False)
        }
    try:
        reference: date | None = submission_date(str(application.get("submitted_at") or ""))
    except ValueError:
        reference = None
    tasks = []
    for doc in documents:
        file = str(doc.get("file", ""))
        declared = doc.get("declared_type")
        try:
            declared_type = DocType(declared) if declared else None
        except ValueError:
            declared_type = None
        path = paths.get(file) or _MISSING / file
        tasks.append(DocumentTask(f"{prefix}{file}", file, path, declared_type, reference))
    return tasks


def process_application_documents(
    application: Mapping[str, Any],
    paths: Mapping[str, Path] | Sequence[Path],
    *,
    workers: int | None = None,
) -> tuple[list[DocumentReading], Decision]:
    """Read every upload of ``application`` and decide; the production flow calls this."""
    tasks = document_tasks(application, paths)
    workers = workers or max(1, min(len(tasks), get_settings().ocr_workers))
    done = dict(iter_readings(tasks, workers=workers))
    readings = [done[task] for task in tasks]
    return readings, decide(application, readings)


def evaluate_case(case_dir: Path) -> dict[str, Any]:
    """The evaluation line (CONTRACTS §1) of one corpus case."""
    application = json.loads((case_dir / "application.json").read_text(encoding="utf-8"))
    paths = case_paths(case_dir, application)
    readings, decision = process_application_documents(application, paths)
    return result_line(case_dir.name, readings, decision)


def case_paths(case_dir: Path, application: Mapping[str, Any]) -> dict[str, Path]:
    """Map each upload's ``file`` to its path, refusing names that leave the case folder."""
    root = case_dir.resolve()
    paths = {}
    for doc in application.get("documents") or []:
        file = str(doc.get("file", ""))
        path = (root / file).resolve()
        paths[file] = path if path.is_relative_to(root) else root / "missing"
    return paths


def result_line(
    case: str, readings: Sequence[DocumentReading], decision: Decision
) -> dict[str, Any]:
    """The JSONL line of one case; ``seconds`` is the time spent reading its documents
    (summed over documents, which may have been read in parallel)."""
    seconds = sum(r.seconds for r in readings)
    return {
        "case": case,
        "decision": decision.decision,
        "reasons": list(decision.reasons),
        "documents": {r.file: _document_entry(r) for r in readings},
        "seconds": round(seconds, 3),
        # Beside the contract: what the clerk would see, for failure analysis.
        "findings": [f.as_json() for f in decision.findings],
    }


def _document_entry(reading: DocumentReading) -> dict[str, Any]:
    fields = _public_fields(reading)
    return {
        "type": str(reading.type),
        "fields": fields,
        # Beside the contract: per-field confidence and reading problems, for calibration.
        "confidence": {k: v for k, v in reading.confidences().items() if k in fields},
        "problems": list(reading.problems),
    }


def _public_fields(reading: DocumentReading) -> dict[str, Any]:
    """Document fields, without internal markers such as ``mrz_viz_mismatch``."""
    return {
        name: value for name, value in reading.field_values().items() if not name.startswith("mrz_")
    }


# --- a whole corpus ----------------------------------------------------------------------


def corpus_cases(corpus_dir: Path) -> list[str]:
    manifest = corpus_dir / "manifest.json"
    if manifest.exists():
        return [str(c) for c in json.loads(manifest.read_text(encoding="utf-8"))["cases"]]
    return sorted(p.name for p in corpus_dir.iterdir() if (p / "application.json").exists())


def evaluate_corpus(
    corpus_dir: Path,
    *,
    workers: int | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate every case, spreading all documents of all cases over the workers."""
    applications: dict[str, dict[str, Any]] = {}
    tasks: list[DocumentTask] = []
    for case in corpus_cases(corpus_dir):
        case_dir = corpus_dir / case
        application = _load_application(case_dir)
        applications[case] = application
        tasks.extend(document_tasks(application, case_paths(case_dir, application), f"{case}/"))
    readings: dict[str, DocumentReading] = {}
    remaining = {
        case: len(application.get("documents") or []) for case, application in applications.items()
    }
    results = {
        case: _finish(case, applications[case], readings) for case, n in remaining.items() if n == 0
    }
    for task, reading in iter_readings(tasks, workers=workers):
        readings[task.key] = reading
        case = task.key.split("/", 1)[0]
        remaining[case] -= 1
        if remaining[case] == 0:
            results[case] = _finish(case, applications[case], readings)
            if progress is not None:
                progress(results[case])
    return [results[case] for case in applications]


def _load_application(case_dir: Path) -> dict[str, Any]:
    """The case's application; an unreadable one becomes an empty (invalid) application."""
    try:
        loaded = json.loads((case_dir / "application.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _finish(
    case: str, application: dict[str, Any], readings: Mapping[str, DocumentReading]
) -> dict[str, Any]:
    ordered = [readings[f"{case}/{task.file}"] for task in document_tasks(application, {})]
    return result_line(case, ordered, decide(application, ordered))


def write_results(results: Sequence[Mapping[str, Any]], out: Path) -> None:
    with out.open("w", encoding="utf-8") as stream:
        for line in results:
            stream.write(json.dumps(line, ensure_ascii=False) + "\n")


# --- scoring ---------------------------------------------------------------------------


def _name_key(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(comparable(str(v)) for v in value)
    return comparable(str(value))


def _upper_key(value: Any) -> str:
    return "".join(str(value).split()).upper()


_FIELD_KEYS: dict[str, Callable[[Any], Any]] = {
    "surname": _name_key,
    "given_names": _name_key,
    "landlord_name": _name_key,
    "residents": _name_key,
    "city": _name_key,
    "street": lambda v: normalize_street(str(v)),
    "house_number": lambda v: normalize_house_number(str(v)),
    "postal_code": lambda v: normalize_postal_code(str(v)),
    "birth_date": lambda v: iso_date(str(v)),
    "expiry_date": lambda v: iso_date(str(v)),
    "move_in_date": lambda v: iso_date(str(v)),
    "document_number": _upper_key,
    "nationality": _upper_key,
}


def field_correct(name: str, extracted: Any, expected: Any) -> bool:
    if extracted is None or extracted == "" or extracted == []:
        return False
    key: Callable[[Any], Any] = _FIELD_KEYS.get(name, _upper_key)
    if isinstance(expected, list) and not isinstance(extracted, list):
        extracted = [extracted]
    return bool(key(extracted) == key(expected))


def _reason_found(expected: Any, reported: Sequence[str]) -> bool:
    """An expected reason, or a list of alternatives of which any one counts."""
    if isinstance(expected, list):
        return any(str(code) in reported for code in expected)
    return str(expected) in reported


@dataclass(slots=True)
class _Tally:
    hits: int = 0
    total: int = 0

    def add(self, hit: bool) -> None:
        self.hits += int(hit)
        self.total += 1

    @property
    def rate(self) -> float | None:
        return round(self.hits / self.total, 4) if self.total else None


def score(results: Sequence[Mapping[str, Any]], corpus_dir: Path) -> dict[str, Any]:
    """The summary figures of CONTRACTS §1 for ``results`` against the corpus truth."""
    by_case = {str(r["case"]): r for r in results}
    tallies = {name: _Tally() for name in ("automation", "fields", "reasons", "types", "decisions")}
    unsafe: list[str] = []
    for case in corpus_cases(corpus_dir):
        truth = json.loads((corpus_dir / case / "expected.json").read_text(encoding="utf-8"))
        result = by_case.get(case, {"decision": "review", "reasons": [], "documents": {}})
        fields_ok = _score_documents(truth, result, tallies)
        for expected in truth.get("reasons", []):
            tallies["reasons"].add(_reason_found(expected, result.get("reasons", [])))
        tallies["decisions"].add(result["decision"] == truth["decision"])
        if truth["decision"] == "auto":
            tallies["automation"].add(result["decision"] == "auto")
        if result["decision"] == "auto" and (truth["decision"] != "auto" or not fields_ok):
            unsafe.append(case)
    seconds = [float(r["seconds"]) for r in results if "seconds" in r]
    return {
        "cases": len(corpus_cases(corpus_dir)),
        "unsafe_auto": len(unsafe),
        "unsafe_cases": unsafe,
        "automation_rate": tallies["automation"].rate,
        "field_accuracy": tallies["fields"].rate,
        "reason_recall": tallies["reasons"].rate,
        "doc_type_accuracy": tallies["types"].rate,
        "decision_accuracy": tallies["decisions"].rate,
        "median_seconds_per_case": round(statistics.median(seconds), 2) if seconds else None,
    }


def _score_documents(
    truth: Mapping[str, Any], result: Mapping[str, Any], tallies: dict[str, _Tally]
) -> bool:
    """Tally document types and fields; True when every expected field is correct."""
    all_correct = True
    for file, expected in truth.get("documents", {}).items():
        got = result.get("documents", {}).get(file, {})
        tallies["types"].add(got.get("type") == expected.get("type"))
        for name, value in expected.get("fields", {}).items():
            correct = field_correct(name, got.get("fields", {}).get(name), value)
            tallies["fields"].add(correct)
            all_correct = all_correct and correct
    return all_correct


def format_summary(summary: Mapping[str, Any]) -> str:
    lines = []
    for key, value in summary.items():
        if isinstance(value, float):
            lines.append(f"{key}: {value:.4f}")
        elif isinstance(value, list):
            lines.append(f"{key}: {', '.join(map(str, value)) or '-'}")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def print_progress(line: Mapping[str, Any]) -> None:
    reasons = ", ".join(line["reasons"]) or "-"
    sys.stderr.write(f"{line['case']}: {line['decision']} ({reasons}) {line['seconds']:.1f}s\n")
