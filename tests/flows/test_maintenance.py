"""Retention (GDPR): the nightly purge flow (a real flow run on the session's Prefect
server) deletes what the law says and keeps the record."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from flows.maintenance import abandoned_after, purge_expired, queued_cases
from intake.applications import processing, service
from intake.applications.models import Application, AuditEntry, Document, Status
from intake.portal import portal
from servicepoint import db, events
from servicepoint.settings import Settings
from tests.conftest import SHARED_CORPUS
from tests.flows.conftest import Runner, flow_runs_for
from tests.flows.test_applications import expected


def _corpus_case(
    case: str, marker: bytes = b""
) -> tuple[dict[str, Any], list[service.IncomingFile]]:
    """A dev-corpus case as submitted: its data and its files (``marker`` appended)."""
    folder = SHARED_CORPUS / "anmeldung-dev" / case
    data = json.loads((folder / "application.json").read_text(encoding="utf-8"))
    files = [
        service.IncomingFile(d["file"].split("/")[-1], (folder / d["file"]).read_bytes() + marker)
        for d in data["documents"]
    ]
    return data, files


def _submit(case: str, marker: bytes) -> str:
    """Submit a corpus case with documents of its own (no content shared with other tests)."""
    data, files = _corpus_case(case, marker)
    with db.session_scope() as session:
        return service.submit(session, data, files).application.id


def _close(application_id: str, days_ago: int) -> None:
    with db.session_scope() as session:
        application = session.get(Application, application_id)
        assert application is not None
        application.status = Status.APPROVED
        application.decided_at = processing.now() - timedelta(days=days_ago)
        session.add(application)


def _stored(application_id: str, settings: Settings) -> list[bool]:
    with db.session_scope() as session:
        documents = session.exec(
            select(Document).where(Document.application_id == application_id)
        ).all()
        return [processing.stored_path(d.sha256, settings).exists() for d in documents]


def test_purge_deletes_documents_after_the_retention_period_only(
    migrated_db: str, settings: Settings, prefect_api_url: str
) -> None:
    old = _submit("case-003", b"\n%retention-old-" + os.urandom(8) + b"\n")
    recent = _submit("case-004", b"\n%retention-recent-" + os.urandom(8) + b"\n")
    _close(old, days_ago=40)
    _close(recent, days_ago=10)
    assert all(_stored(old, settings))
    assert all(_stored(recent, settings))

    counts = purge_expired(retention_days=30)

    assert counts["cases"] >= 1
    assert counts["files"] >= 2
    assert not any(_stored(old, settings))
    assert all(_stored(recent, settings))
    with db.session_scope() as session:
        application = session.get(Application, old)
        assert application is not None
        assert application.documents_purged_at is not None
        assert application.status == Status.APPROVED  # the case record stays
        for document in session.exec(select(Document).where(Document.application_id == old)):
            assert document.purged_at is not None
            assert document.reading_json is None
        actions = [
            e.action
            for e in session.exec(select(AuditEntry).where(AuditEntry.application_id == old))
        ]
        assert actions.count("documents_purged") == 1
    # Running again purges nothing twice.
    again = purge_expired(retention_days=30)
    assert again["files"] == 0


def test_purge_removes_uploads_of_drafts_that_were_never_submitted(
    migrated_db: str, settings: Settings, prefect_api_url: str
) -> None:
    unique = b"%PDF-1.4\n% never submitted " + os.urandom(16) + b"\n%%EOF\n"
    entry = portal.add_upload(portal.new_draft(), "identity", 0, "entwurf.pdf", unique, settings)
    orphan = portal.stored_file(entry["sha256"], settings)
    fresh_entry = portal.add_upload(
        portal.new_draft(), "identity", 0, "neu.pdf", unique + b"fresh", settings
    )
    fresh = portal.stored_file(fresh_entry["sha256"], settings)
    past = time.time() - abandoned_after(settings).total_seconds() - 60
    os.utime(orphan, (past, past))

    counts = purge_expired(retention_days=settings.retention_days)

    assert counts["abandoned_uploads"] >= 1
    assert not orphan.exists()
    assert fresh.exists()


def test_sweep_re_announces_a_handed_in_document_nobody_read(
    db_session: Session, settings: Settings
) -> None:
    data, files = _corpus_case("case-007")
    application = service.submit(db_session, data, files).application
    application.status = Status.REVIEW
    db_session.add(application)
    extra = service.add_document(
        db_session,
        application,
        service.IncomingFile(
            "nachweis.pdf", b"%PDF-1.4\n% handed in " + os.urandom(8) + b"\n%%EOF\n"
        ),
        "landlord_confirmation",
        "citizen",
    )
    added = [
        row
        for row in events.pending(db_session, limit=10_000)
        if row.event == events.DOCUMENT_ADDED
        and row.resource_id == service.resource_id(application)  # other tests' rows may wait
    ]
    assert [json.loads(row.payload)["document_id"] for row in added] == [extra.id]
    # The event got lost: it was marked sent, but no flow ever read the document.
    for row in events.pending(db_session, limit=10_000):
        row.sent_at = processing.now()
        db_session.add(row)
    extra.uploaded_at = processing.now() - timedelta(hours=1)
    for document in db_session.exec(select(Document).where(Document.id != extra.id)):
        document.read_at = document.read_at or processing.now()  # the others were read
        db_session.add(document)
    db_session.flush()

    counts = processing.sweep_stuck(db_session, timedelta(minutes=10))

    assert counts["documents"] >= 1
    again = [
        json.loads(row.payload)
        for row in events.pending(db_session, limit=10_000)
        if row.event == events.DOCUMENT_ADDED
    ]
    assert {"document_id": extra.id, "reference": application.reference, "resent": True} in again


def test_sweep_leaves_cases_alone_whose_run_is_still_scheduled(
    db_session: Session, settings: Settings
) -> None:
    data, files = _corpus_case("case-001")
    application = service.submit(db_session, data, files).application
    application.received_at = processing.now() - timedelta(hours=1)
    db_session.add(application)
    for row in events.pending(db_session, limit=10_000):
        row.sent_at = processing.now()
        db_session.add(row)
    db_session.flush()

    waiting = processing.sweep_stuck(db_session, timedelta(minutes=10), queued={application.id})
    assert waiting["submitted"] == 0
    lost = processing.sweep_stuck(db_session, timedelta(minutes=10))
    assert lost["submitted"] >= 1
    assert any(
        row.resource_id == service.resource_id(application)
        for row in events.pending(db_session, limit=10_000)
    )


def test_queued_cases_lists_scheduled_runs_of_process_application(runner: Runner) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    application_id = "f" * 32
    later = processing.now() + timedelta(hours=2)
    run = run_deployment(
        "process-application/process-application",
        parameters={"application_id": f"servicepoint.application.{application_id}"},
        scheduled_time=later,
        timeout=0,
    )
    try:
        assert application_id in queued_cases()
    finally:
        with get_client(sync_client=True) as client:
            client.delete_flow_run(run.id)
    assert application_id not in queued_cases()


def test_sweeper_starts_a_case_whose_event_created_no_run(runner: Runner) -> None:
    """The orchestrator may drop an event under load (seen with Prefect on SQLite): the
    sweeper then creates the run itself instead of relying on the event path again."""
    from flows.maintenance import sweep_stuck

    marker = b"\n%swept-" + os.urandom(8) + b"\n"
    data, files = _corpus_case("case-001", marker)
    with db.session_scope() as session:
        application = service.submit(session, data, files).application
        application.received_at = processing.now() - timedelta(hours=1)
        session.add(application)
        for row in events.pending(session, limit=10_000):
            if row.resource_id == service.resource_id(application):
                row.sent_at = processing.now()  # relayed, but it started nothing
                session.add(row)
        application_id, reference = application.id, application.reference

    # Only cases older than 45 minutes: this one (1 hour), none of the other tests' cases.
    counts = sweep_stuck(stuck_after_minutes=45)

    assert counts["started"] >= 1
    deadline = time.monotonic() + 240
    status = "submitted"
    while time.monotonic() < deadline and status in ("submitted", "processing"):
        with db.session_scope() as session:
            found = session.get(Application, application_id)
            assert found is not None
            status = found.status
        time.sleep(0.5)
    assert expected("case-001")["decision"] == "auto"
    assert status == "approved"
    with db.session_scope() as session:
        swept = session.get(Application, application_id)
        assert swept is not None
        assert (swept.decision, swept.reasons) == ("auto", [])
        decided = session.exec(
            select(AuditEntry).where(
                AuditEntry.application_id == application_id, AuditEntry.action == "decided"
            )
        ).all()
        assert len(decided) == 1
        announcements = session.exec(
            select(events.OutboxEvent).where(
                events.OutboxEvent.resource_id == f"servicepoint.application.{application_id}",
                events.OutboxEvent.event == events.APPLICATION_SUBMITTED,
            )
        ).all()
    assert len(announcements) == 1  # started directly, not announced a second time
    runs = asyncio.run(flow_runs_for(reference))
    assert any("swept" in run.tags for run in runs)


def test_sweep_leaves_decided_cases_alone_whose_finishing_run_is_scheduled(
    db_session: Session, settings: Settings
) -> None:
    data, files = _corpus_case("case-004")
    application = service.submit(db_session, data, files).application
    application.status = Status.APPROVED
    application.decided_at = processing.now() - timedelta(hours=1)
    db_session.add(application)
    for row in events.pending(db_session, limit=10_000):
        row.sent_at = processing.now()
        db_session.add(row)
    db_session.flush()

    def decided_rows() -> list[str]:
        return [
            row.resource_id
            for row in events.pending(db_session, limit=10_000)
            if row.event == events.APPLICATION_DECIDED
        ]

    processing.sweep_stuck(db_session, timedelta(minutes=10), finishing={application.id})
    assert service.resource_id(application) not in decided_rows()
    processing.sweep_stuck(db_session, timedelta(minutes=10))
    assert service.resource_id(application) in decided_rows()
