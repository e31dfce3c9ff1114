"""Flows of an application's life: process it when submitted, finish it when decided.

Thin orchestration over ``intake.applications.processing``: each task owns one
transaction, every step is idempotent, so a crashed or repeated run is recovered by
running again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from prefect import Task, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.slots import ocr_slot
from intake.applications import processing
from intake.applications.documents import DocumentReading
from intake.applications.evaluate import DocumentTask, iter_readings
from intake.applications.models import Application
from intake.services.decision import decide
from servicepoint.db import session_scope
from servicepoint.settings import get_settings

P = ParamSpec("P")
R = TypeVar("R")


def step(
    run_name: str, delays: tuple[int, ...] = (1, 5, 15)
) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A flow step: a task retried after ``delays`` seconds.

    The steps are idempotent through the database, not through Prefect's task cache: with
    its default policy Prefect would pickle and hash every argument (the readings with all
    their words) on each call, to build a cache key nothing ever reads.
    """
    return task(
        cache_policy=NO_CACHE,
        task_run_name=run_name,
        retries=len(delays),
        retry_delay_seconds=list(delays),
    )


async def _label_run(reference: str) -> None:
    """Name the run ``<flow>/<case reference>`` and tag it with the reference, so an
    administrator finds a case's runs in the Prefect UI.

    Called as a task beside the work: Prefect's own ``flow_run_name`` would rename the
    run through the API before the flow body starts, on the critical path of every case.
    """
    from prefect.client.orchestration import get_client

    run_id = flow_run.id
    if not run_id:
        return
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
        tags = sorted({*run.tags, reference, "servicepoint"})
        await client.update_flow_run(run_id, name=f"{flow_run.flow_name}/{reference}", tags=tags)


def _labelling(reference: str | None) -> asyncio.Task[None] | None:
    return asyncio.create_task(_label_run(reference)) if reference else None


async def _labelled(labelling: asyncio.Task[None] | None, reference: str) -> None:
    """Wait for the labelling started at the flow's start, or label now by ``reference``
    when the run was started without one."""
    await (labelling if labelling is not None else _label_run(reference))


@step("take {application_id}")
async def take_case(application_id: str, owner: str) -> dict[str, Any] | None:
    return await asyncio.to_thread(_take, application_id, owner)


def _take(application_id: str, owner: str) -> dict[str, Any] | None:
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


@step("read {file}", delays=(2, 10))
async def read_document(
    document_id: int, file: str, path: str, declared: Any, reference: str | None = None
) -> DocumentReading:
    """Read one upload in its own process (killed at the time limit); cached when done."""
    cached = await asyncio.to_thread(_reuse, document_id)
    if cached is not None:
        return cached
    async with ocr_slot():  # one tesseract process per core of this host
        # a twin may have been read while we waited
        cached = await asyncio.to_thread(_reuse, document_id)
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
    await asyncio.to_thread(_save_reading, document_id, reading)
    return reading


def _save_reading(document_id: int, reading: DocumentReading) -> None:
    with session_scope() as session:
        processing.save_reading(session, document_id, reading)


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


@step("decide {application_id}")
async def conclude_case(application_id: str, readings: list[DocumentReading]) -> str:
    return await asyncio.to_thread(_conclude, application_id, readings)


def _conclude(application_id: str, readings: list[DocumentReading]) -> str:
    with session_scope() as session:
        application = session.get(Application, application_id)
        assert application is not None
        decision = decide(application.data, readings)
        return processing.conclude(session, application, decision)


@flow(
    name="process-application",
    log_prints=True,
    retries=2,
    retry_delay_seconds=10,
)
async def process_application(application_id: str, reference: str | None = None) -> str:
    """Read, validate and decide one application (triggered by its submitted event)."""
    logger = get_run_logger()
    application_id = processing.application_id_from(application_id)
    labelling = _labelling(reference)
    taken = await take_case(application_id, str(flow_run.id or uuid.uuid4()))
    if taken is None:
        await _labelled(labelling, reference or application_id)
        logger.info("case %s is done or being processed by another run", application_id)
        return "skipped"
    labelling = labelling or _labelling(taken["reference"])
    readings = await asyncio.gather(
        *[
            read_document(doc_id, file, path, declared, reference)
            for doc_id, file, path, declared, reference in taken["documents"]
        ]
    )
    await _labelled(labelling, taken["reference"])
    status = await conclude_case(application_id, list(readings))
    logger.info("case %s: %s", taken["reference"], status)
    return status


@step("finish {application_id}", delays=(5, 30, 120))
async def finish_case(application_id: str) -> dict[str, Any]:
    return await asyncio.to_thread(_finish, application_id)


def _finish(application_id: str) -> dict[str, Any]:
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


@flow(name="finish-application", log_prints=True)
async def finish_application(application_id: str, reference: str | None = None) -> dict[str, Any]:
    """Complete a decided case: letter, export record, e-mail (triggered by decided)."""
    application_id = processing.application_id_from(application_id)
    labelling = _labelling(reference)
    result = await finish_case(application_id)
    await _labelled(labelling, str(result.get("reference") or application_id))
    return result


@step("find document {document_id}")
async def added_document(application_id: str, document_id: int) -> dict[str, Any] | None:
    """What the reader needs of a document handed in after submission; None when it was
    read already (a repeated event) or is gone (purged, or of another case)."""
    return await asyncio.to_thread(_added_document, application_id, document_id)


def _added_document(application_id: str, document_id: int) -> dict[str, Any] | None:
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


@step("note reading {document_id}")
async def note_reading(application_id: str, document_id: int, reading: DocumentReading) -> None:
    await asyncio.to_thread(_note_reading, application_id, document_id, reading)


def _note_reading(application_id: str, document_id: int, reading: DocumentReading) -> None:
    with session_scope() as session:
        processing.note_added_reading(session, application_id, document_id, reading)


@flow(
    name="read-added-document",
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
    labelling = _labelling(reference)
    job = await added_document(application_id, number)
    if job is None:
        await _labelled(labelling, reference or application_id)
        return "skipped"
    labelling = labelling or _labelling(job["reference"])
    reading = await read_document(
        number, job["file"], job["path"], job["declared"], job["submitted"]
    )
    await _labelled(labelling, job["reference"])
    await note_reading(application_id, number, reading)
    return str(reading.type)
