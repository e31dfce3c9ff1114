"""The steps of processing and finishing a case, as the Prefect flows call them.

Every step is idempotent and safe against a second run of the same case at the same
time: taking a case is one conditional UPDATE (a lease), concluding and finishing check
the status they expect, and every side effect is keyed by case.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from intake.applications import completion
from intake.applications.documents import DocType, DocumentReading
from intake.applications.evaluate import DocumentTask
from intake.applications.models import Application, AuditEntry, Document, Status
from intake.applications.service import record, resource_id
from intake.services.decision import Decision
from servicepoint import events
from servicepoint.errors import Conflict, InvalidInput
from servicepoint.settings import OFFICE_TIME, Settings, get_settings

SYSTEM = "system"


def now() -> datetime:
    return datetime.now(UTC)


def application_id_from(value: str) -> str:
    """Accept a bare id or an event resource id ``servicepoint.application.<id>``."""
    return value.rsplit(".", 1)[-1]


def take(session: Session, application_id: str, lease: timedelta, owner: str) -> Application | None:
    """Take the case for processing, or None when it is done or another run holds it.

    ``owner`` identifies the flow run: a retry of the same run takes its case back.
    """
    moment = now()
    taken = session.execute(
        update(Application)
        .where(
            and_(
                col(Application.id) == application_id,
                or_(
                    col(Application.status) == Status.SUBMITTED,
                    and_(
                        col(Application.status) == Status.PROCESSING,
                        or_(
                            col(Application.processing_lease_until).is_(None),
                            col(Application.processing_lease_until) < moment,
                            col(Application.processing_owner) == owner,
                        ),
                    ),
                ),
            )
        )
        .values(processing_lease_until=moment + lease, processing_owner=owner)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    application = session.get(Application, application_id, populate_existing=True)
    assert application is not None
    if application.status != Status.PROCESSING:
        record(session, application, "processing_started", SYSTEM, to_status=Status.PROCESSING)
    else:
        record(
            session,
            application,
            "processing_resumed",
            SYSTEM,
            reason="the previous run did not finish within its lease",
        )
    return application


def document_tasks(
    session: Session, application: Application, settings: Settings
) -> list[tuple[int, DocumentTask]]:
    tasks = []
    query = select(Document).where(Document.application_id == application.id)
    for document in session.exec(query.order_by(col(Document.id))):
        try:
            declared: DocType | None = DocType(document.declared_type)
        except ValueError:
            declared = None
        assert document.id is not None
        path = stored_path(document.sha256, settings)
        reference = application.submitted_at.astimezone(OFFICE_TIME).date()
        job = DocumentTask(document.file, document.file, path, declared, reference)
        tasks.append((document.id, job))
    return tasks


def stored_path(sha256: str, settings: Settings) -> Path:
    return settings.documents_dir / sha256[:2] / sha256[2:4] / sha256


_TRANSIENT = ("timeout", "crashed")


def cached_reading(session: Session, document_id: int) -> DocumentReading | None:
    """The document's reading if it was read before, or the reading of the same content
    uploaded into the same kind of slot elsewhere (originals are immutable and stored by
    content, so what was read from them is too). Failed readings are never reused."""
    document = session.get(Document, document_id)
    if document is None:
        return None
    if document.reading_json is not None:
        return reading_from_json(json.loads(document.reading_json))
    twin = session.exec(
        select(Document).where(
            Document.sha256 == document.sha256,
            Document.declared_type == document.declared_type,
            col(Document.reading_json).is_not(None),
            col(Document.purged_at).is_(None),
        )
    ).first()
    if twin is None or twin.reading_json is None:
        return None
    reading = reading_from_json(json.loads(twin.reading_json))
    if any(p in _TRANSIENT or p.startswith("error:") for p in reading.problems):
        return None
    reading.file = document.file
    return reading


def save_reading(session: Session, document_id: int, reading: DocumentReading) -> None:
    document = session.get(Document, document_id)
    if document is None:
        return
    document.reading_json = json.dumps(reading.as_json(), ensure_ascii=False, default=str)
    document.doc_type = str(reading.type)
    document.read_at = now()
    session.add(document)


def is_read(session: Session, document_id: int) -> bool:
    document = session.get(Document, document_id)
    return document is None or document.read_at is not None or document.purged_at is not None


def note_added_reading(
    session: Session, application_id: str, document_id: int, reading: DocumentReading
) -> None:
    """Audit what was read from a document handed in after submission (once)."""
    application = session.get(Application, application_id)
    if application is None:
        return
    already = session.exec(
        select(AuditEntry).where(
            AuditEntry.application_id == application_id, AuditEntry.action == "document_read"
        )
    ).all()
    if any(json.loads(entry.details_json).get("document_id") == document_id for entry in already):
        return
    record(
        session,
        application,
        "document_read",
        SYSTEM,
        details={
            "document_id": document_id,
            "type": str(reading.type),
            "problems": list(reading.problems),
        },
    )


def reading_from_json(data: dict[str, Any]) -> DocumentReading:
    """Rebuild a reading stored as JSON (what the decision needs: types, fields, MRZ)."""
    from intake.applications.documents import FieldValue, MRZResult, PageText, TextSource, Word

    fields = {
        name: FieldValue(
            value=v["value"],
            confidence=v["confidence"],
            source=v["source"],
            page=v.get("page"),
            box=tuple(v["box"]) if v.get("box") else None,
        )
        for name, v in data.get("fields", {}).items()
    }
    mrz = None
    if data.get("mrz"):
        m = data["mrz"]
        mrz = MRZResult(
            format=m["format"], lines=m["lines"], checks=m["checks"], fields=m.get("fields", {})
        )
    pages = [
        PageText(
            index=p["index"],
            width=p["width"],
            height=p["height"],
            source=TextSource(p["source"]),
            text=p["text"],
            words=[
                Word(w["text"], w["confidence"], tuple(w["box"]), w.get("line", 0))
                for w in p.get("words", [])
            ],
            rotation=p.get("rotation", 0),
            skew=p.get("skew", 0.0),
            crop=tuple(p["crop"]) if p.get("crop") else None,
        )
        for p in data.get("pages", [])
    ]
    return DocumentReading(
        file=data["file"],
        media_type=data["media_type"],
        type=DocType(data["type"]),
        type_confidence=data["type_confidence"],
        fields=fields,
        pages=pages,
        mrz=mrz,
        problems=list(data.get("problems", [])),
        ocr_used=data.get("ocr_used", False),
        seconds=data.get("seconds", 0.0),
    )


def conclude(session: Session, application: Application, decision: Decision) -> str:
    """Store the decision; ``auto`` approves the case, ``review`` queues it for a clerk."""
    if application.status != Status.PROCESSING:
        return application.status  # another run concluded it already
    application.decision = decision.decision
    application.reasons_json = json.dumps(decision.reasons)
    application.findings_json = json.dumps(
        [f.as_json() for f in decision.findings], ensure_ascii=False, default=str
    )
    application.processed_at = now()
    # The audit entry names the flow run that decided, so that an operator can go from
    # a case to its run in Prefect (and tests can tell which worker decided it).
    run = {"run": application.processing_owner} if application.processing_owner else {}
    application.processing_lease_until = None
    application.processing_owner = None
    payload = {
        "reference": application.reference,
        "decision": decision.decision,
        "reasons": decision.reasons,
    }
    events.enqueue(session, events.APPLICATION_PROCESSED, resource_id(application), payload)
    if decision.auto:
        mark_decided(
            session,
            application,
            Status.APPROVED,
            SYSTEM,
            reason="Alle Prüfungen bestanden (automatische Entscheidung).",
            details=run,
        )
    else:
        record(
            session,
            application,
            "queued_for_review",
            SYSTEM,
            to_status=Status.REVIEW,
            reason=", ".join(decision.reasons),
            details={"reasons": decision.reasons, **run},
        )
    application.version += 1
    session.add(application)
    return application.status


def mark_decided(
    session: Session,
    application: Application,
    outcome: Status,
    actor: str,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    application.decided_at = now()
    application.decided_by = actor
    application.outcome_reason = reason
    record(
        session, application, "decided", actor, to_status=outcome, reason=reason, details=details
    )
    events.enqueue(
        session,
        events.APPLICATION_DECIDED,
        resource_id(application),
        {"reference": application.reference, "outcome": str(outcome), "actor": actor},
    )


def decide_by_clerk(
    session: Session,
    application: Application,
    outcome: str,
    reason: str,
    actor: str,
    version: int | None,
) -> Application:
    """A clerk's decision on a case in review: a database change plus an event."""
    if outcome not in (Status.APPROVED, Status.REJECTED):
        raise InvalidInput(
            "Entscheidung muss „approved“ oder „rejected“ sein.",
            "The outcome must be 'approved' or 'rejected'.",
            details=[{"field": "outcome", "code": "invalid"}],
        )
    if outcome == Status.REJECTED and not reason.strip():
        raise InvalidInput(
            "Bitte begründen Sie die Ablehnung.",
            "Please give a reason for the rejection.",
            details=[{"field": "reason", "code": "required"}],
        )
    if application.status != Status.REVIEW:
        raise Conflict(
            "Der Vorgang ist nicht (mehr) in Prüfung.",
            "The case is not (or no longer) in review.",
            details={"status": application.status},
        )
    if version is not None and version != application.version:
        raise Conflict(details={"current_version": application.version})
    mark_decided(session, application, Status(outcome), actor, reason.strip() or None)
    application.version += 1
    application.claimed_by = None
    session.add(application)
    return application


@dataclass(slots=True)
class Finished:
    letter: completion.Letter | None
    export: Path | None
    mailed: bool
    already: bool = False


def finish(
    session: Session, application: Application, settings: Settings | None = None
) -> Finished:
    """Letter, export record and e-mail for a decided case, each at most once."""
    settings = settings or get_settings()
    if application.status not in (Status.APPROVED, Status.REJECTED):
        return Finished(None, None, False, already=True)
    letter = completion.ensure_letter(application, settings)
    export = (
        completion.ensure_export(application, settings)
        if application.status == Status.APPROVED
        else None
    )
    mailed = completion.notify_once(session, application, letter, settings)
    if application.completed_at is None:
        application.completed_at = now()
        record(
            session,
            application,
            "completed",
            SYSTEM,
            details={"letter": letter.pdf_path.name, "mailed": mailed},
        )
        session.add(application)
        return Finished(letter, export, mailed)
    return Finished(letter, export, mailed, already=True)


def sweep_stuck(
    session: Session,
    stuck_after: timedelta,
    queued: set[str] | None = None,
    start: Callable[[Application], bool] | None = None,
    finishing: set[str] | None = None,
) -> dict[str, int]:
    """Re-announce cases whose event or flow run got lost; their flows are idempotent.

    ``queued``: ids of submitted cases whose flow run is still scheduled (not lost);
    ``finishing``: the same for decided cases and their finishing run.
    ``start``: starts a case's processing directly and says whether it did; the
    announcement went unanswered once already (the orchestrator may drop an event
    under load), so the sweeper does not rely on the event path alone."""
    queued = queued or set()
    finishing = finishing or set()
    moment = now()
    limit = moment - stuck_after
    waiting = {row.resource_id for row in events.pending(session, limit=10_000)}
    counts = {"submitted": 0, "started": 0, "decided": 0, "documents": 0}
    stuck = session.exec(
        select(Application).where(
            or_(
                and_(
                    col(Application.status) == Status.SUBMITTED,
                    col(Application.received_at) < limit,
                ),
                and_(
                    col(Application.status) == Status.PROCESSING,
                    col(Application.processing_lease_until) < moment,
                ),
            )
        )
    )
    for application in stuck:
        if application.status == Status.SUBMITTED and application.id in queued:
            continue
        if resource_id(application) in waiting:
            continue
        if start is not None and start(application):
            counts["started"] += 1
            continue
        events.enqueue(
            session,
            events.APPLICATION_SUBMITTED,
            resource_id(application),
            {"reference": application.reference, "resent": True},
        )
        counts["submitted"] += 1
    unfinished = session.exec(
        select(Application).where(
            col(Application.status).in_([Status.APPROVED, Status.REJECTED]),
            col(Application.completed_at).is_(None),
            col(Application.decided_at) < limit,
        )
    )
    for application in unfinished:
        if application.id not in finishing and resource_id(application) not in waiting:
            events.enqueue(
                session,
                events.APPLICATION_DECIDED,
                resource_id(application),
                {"reference": application.reference, "outcome": application.status, "resent": True},
            )
            counts["decided"] += 1
    counts["documents"] = _sweep_unread_documents(session, limit, waiting)
    return counts


def _sweep_unread_documents(session: Session, limit: datetime, waiting: set[str]) -> int:
    """Documents handed in after the case was processed that nobody has read yet."""
    unread = session.exec(
        select(Document, Application)
        .join(Application, col(Application.id) == col(Document.application_id))
        .where(
            col(Document.read_at).is_(None),
            col(Document.purged_at).is_(None),
            col(Document.uploaded_at) < limit,
            col(Application.status).not_in([Status.SUBMITTED, Status.PROCESSING]),
        )
    )
    count = 0
    for document, application in unread:
        if resource_id(application) not in waiting:
            events.enqueue(
                session,
                events.DOCUMENT_ADDED,
                resource_id(application),
                {"reference": application.reference, "document_id": document.id, "resent": True},
            )
            count += 1
    return count


def purge_expired(
    session: Session, retention: timedelta, settings: Settings | None = None
) -> dict[str, int]:
    """Delete the uploads (and what was read from them) of cases closed before the
    retention period; the case record, its letter and its audit trail stay."""
    settings = settings or get_settings()
    limit = now() - retention
    cases = list(
        session.exec(
            select(Application).where(
                col(Application.status).in_([Status.APPROVED, Status.REJECTED]),
                col(Application.decided_at) < limit,
                col(Application.documents_purged_at).is_(None),
            )
        )
    )
    files = 0
    for application in cases:
        documents = list(
            session.exec(select(Document).where(Document.application_id == application.id))
        )
        for document in documents:
            document.reading_json = None
            document.purged_at = now()
            session.add(document)
        session.flush()
        for sha in {d.sha256 for d in documents}:
            if _still_needed(session, sha):
                continue
            path = stored_path(sha, settings)
            if path.exists():
                path.unlink()
                files += 1
        application.documents_purged_at = now()
        record(
            session,
            application,
            "documents_purged",
            SYSTEM,
            reason=f"retention period of {retention.days} days passed",
            details={"documents": len(documents)},
        )
    return {"cases": len(cases), "files": files}


def _still_needed(session: Session, sha256: str) -> bool:
    """Another case that is not purged yet holds the same content."""
    return (
        session.exec(
            select(Document.id).where(Document.sha256 == sha256, col(Document.purged_at).is_(None))
        ).first()
        is not None
    )


def readings_in_order(results: Sequence[tuple[int, DocumentReading]]) -> list[DocumentReading]:
    return [reading for _, reading in sorted(results, key=lambda item: item[0])]
