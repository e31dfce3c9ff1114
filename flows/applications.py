"""Flows of an application's life: process it when submitted, finish it when decided.

Thin orchestration over ``intake.processing``: each task owns one transaction, every step
is idempotent, so a crashed or repeated run is recovered by running again.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.concurrency.asyncio import concurrency
from prefect.runtime import flow_run

from intake import processing
from intake.decision import decide
from intake.documents import DocumentReading
from intake.evaluate import DocumentTask, iter_readings
from intake.models import Application
from servicepoint.db import session_scope
from servicepoint.settings import get_settings

OCR_LIMIT = "servicepoint-ocr"  # global concurrency limit: one tesseract process per core


def _run_name() -> str:
    params = flow_run.parameters or {}
    reference = params.get("reference") or processing.application_id_from(
        str(params.get("application_id", "?"))
    )
    return f"{flow_run.flow_name}/{reference}"


async def _tag_run(reference: str) -> None:
    """Tag the run with the case reference so the Prefect UI finds a case's runs."""
    from prefect.client.orchestration import get_client

    run_id = flow_run.id
    if not run_id:
        return
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
        tags = sorted({*run.tags, reference, "servicepoint"})
        await client.update_flow_run(run_id, tags=tags)


@task(task_run_name="take {application_id}", retries=3, retry_delay_seconds=[1, 5, 15])
def take_case(application_id: str, owner: str) -> dict[str, Any] | None:
    lease = timedelta(minutes=get_settings().stuck_after_minutes)
    with session_scope() as session:
        application = processing.take(session, application_id, lease, owner)
        if application is None:
            return None
        settings = get_settings()
        documents = processing.document_tasks(session, application, settings)
        return {
            "reference": application.reference,
            "data": application.data,
            "documents": [
                (doc_id, t.file, str(t.path), t.declared_type, _iso(t.reference))
                for doc_id, t in documents
            ],
        }


@task(
    task_run_name="read {file}",
    retries=2,
    retry_delay_seconds=[2, 10],
)
async def read_document(
    document_id: int, file: str, path: str, declared: Any, reference: str | None = None
) -> DocumentReading:
    """Read one upload in its own process (killed at the time limit); cached when done."""
    cached = _reuse(document_id)
    if cached is not None:
        return cached
    async with concurrency(OCR_LIMIT, occupy=1, strict=False):
        cached = _reuse(document_id)  # a twin may have been read while we waited
        if cached is not None:
            return cached
        submitted = date.fromisoformat(reference) if reference else None
        job = DocumentTask(file, file, Path(path), declared, submitted)
        results = await asyncio.to_thread(lambda: list(iter_readings([job], workers=1)))
    reading = results[0][1]
    if any(p.startswith("error:") or p == "crashed" for p in reading.problems):
        # A crash of the reader may be transient (memory, a killed process): retry it;
        # after the last retry the reading stands and the case goes to review.
        if read_document.retries and _attempt() <= read_document.retries:
            raise RuntimeError(f"reading {file} failed: {reading.problems}")
    with session_scope() as session:
        processing.save_reading(session, document_id, reading)
    return reading


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _reuse(document_id: int) -> DocumentReading | None:
    with session_scope() as session:
        cached = processing.cached_reading(session, document_id)
        if cached is not None:
            processing.save_reading(session, document_id, cached)
    return cached


def _attempt() -> int:
    from prefect.runtime import task_run

    return int(task_run.run_count or 1)


@task(task_run_name="decide {application_id}", retries=3, retry_delay_seconds=[1, 5, 15])
def conclude_case(application_id: str, readings: list[DocumentReading]) -> str:
    with session_scope() as session:
        application = session.get(Application, application_id)
        assert application is not None
        decision = decide(application.data, readings)
        return processing.conclude(session, application, decision)


@flow(
    name="process-application",
    flow_run_name=_run_name,
    log_prints=True,
    retries=2,
    retry_delay_seconds=10,
)
async def process_application(application_id: str, reference: str | None = None) -> str:
    """Read, validate and decide one application (triggered by its submitted event)."""
    logger = get_run_logger()
    application_id = processing.application_id_from(application_id)
    taken = take_case(application_id, str(flow_run.id or uuid.uuid4()))
    if taken is None:
        logger.info("case %s is done or being processed by another run", application_id)
        return "skipped"
    tagging = asyncio.create_task(_tag_run(taken["reference"]))  # beside the reading
    readings = await asyncio.gather(
        *[
            read_document(doc_id, file, path, declared, reference)
            for doc_id, file, path, declared, reference in taken["documents"]
        ]
    )
    await tagging
    status = conclude_case(application_id, list(readings))
    logger.info("case %s: %s", taken["reference"], status)
    return status


@task(task_run_name="finish {application_id}", retries=3, retry_delay_seconds=[5, 30, 120])
def finish_case(application_id: str) -> dict[str, Any]:
    with session_scope() as session:
        application = session.get(Application, application_id)
        if application is None:
            return {"status": "missing"}
        done = processing.finish(session, application)
        return {
            "status": application.status,
            "mailed": done.mailed,
            "already": done.already,
            "reference": application.reference,
        }


@flow(name="finish-application", flow_run_name=_run_name, log_prints=True)
async def finish_application(application_id: str, reference: str | None = None) -> dict[str, Any]:
    """Complete a decided case: letter, export record, e-mail (triggered by decided)."""
    application_id = processing.application_id_from(application_id)
    result = finish_case(application_id)
    if result.get("reference"):
        await _tag_run(str(result["reference"]))
    return result


@task(task_run_name="find document {document_id}", retries=3, retry_delay_seconds=[1, 5, 15])
def added_document(application_id: str, document_id: int) -> dict[str, Any] | None:
    """What the reader needs of a document handed in after submission; None when it was
    read already (a repeated event) or is gone (purged, or of another case)."""
    with session_scope() as session:
        application = session.get(Application, application_id)
        if application is None:
            return None
        for doc_id, job in processing.document_tasks(session, application, get_settings()):
            if doc_id == document_id:
                if processing.is_read(session, doc_id):
                    return None
                return {
                    "reference": application.reference,
                    "file": job.file,
                    "path": str(job.path),
                    "declared": job.declared_type,
                    "submitted": _iso(job.reference),
                }
    return None


@task(task_run_name="note reading {document_id}", retries=3, retry_delay_seconds=[1, 5, 15])
def note_reading(application_id: str, document_id: int, reading: DocumentReading) -> None:
    with session_scope() as session:
        processing.note_added_reading(session, application_id, document_id, reading)


@flow(
    name="read-added-document",
    flow_run_name=_run_name,
    log_prints=True,
    retries=2,
    retry_delay_seconds=10,
)
async def read_added_document(
    application_id: str, document_id: str, reference: str | None = None
) -> str:
    """Read a document handed in after submission (a citizen's hand-in or a still from a
    video consultation) with the same reader as every upload, for the clerk's case view."""
    application_id = processing.application_id_from(application_id)
    number = int(document_id)
    job = added_document(application_id, number)
    if job is None:
        return "skipped"
    await _tag_run(job["reference"])
    reading = await read_document(
        number, job["file"], job["path"], job["declared"], job["submitted"]
    )
    note_reading(application_id, number, reading)
    return str(reading.type)
