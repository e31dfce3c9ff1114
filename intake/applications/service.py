"""Applications: submission, status changes with their audit trail, what a citizen sees.

Services never commit: the caller (a request dependency or a flow task) owns the
transaction, so a submission's application, documents, audit entry and outbox row are
written together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from intake.applications import uploads
from intake.applications.models import Application, AuditEntry, Document, Status
from intake.services import get_service
from intake.services.decision import validate_application
from servicepoint import auth, events
from servicepoint.errors import Conflict, InvalidInput, NotFound, TooLarge, UnsupportedType
from servicepoint.settings import Settings, get_settings

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes


@dataclass(slots=True)
class IncomingFile:
    filename: str
    content: bytes


@dataclass(slots=True)
class Problem:
    """One thing wrong with a submission, named by field path or file."""

    field: str
    code: str
    message_de: str
    message_en: str
    status: int = 422

    def as_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "code": self.code,
            "message": self.message_en,
            "message_de": self.message_de,
        }


@dataclass(slots=True)
class Submitted:
    application: Application
    access_token: str
    created: bool = True  # False: an earlier submission with the same idempotency key


@dataclass(slots=True)
class SubmissionOptions:
    channel: str = "api"
    email: str | None = None
    language: str = "de"
    idempotency_key: str | None = None
    actor: str = "citizen"
    extra_audit: dict[str, Any] = field(default_factory=dict)
    # The portal brings its own token (kept in the draft), so a repeated submission of
    # the same draft can still show the citizen a working link; None: a new one.
    access_token: str | None = None


def new_reference(now: datetime) -> str:
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"HSP-{now:%Y}-{suffix}"


def raise_for(problems: Sequence[Problem]) -> None:
    if not problems:
        return
    body = [p.as_json() for p in problems]
    statuses = {p.status for p in problems}
    message_de = "Die Angaben oder Dateien sind nicht vollständig oder nicht gültig."
    message_en = "The application or its files are incomplete or invalid."
    if statuses == {415}:
        raise UnsupportedType(problems[0].message_de, problems[0].message_en, details=body)
    if 413 in statuses and statuses <= {413, 422}:
        raise TooLarge(problems[0].message_de, problems[0].message_en, details=body)
    raise InvalidInput(message_de, message_en, details=body)


def check_form(data: Mapping[str, Any]) -> list[Problem]:
    """Validate the typed application against its service definition."""
    service_id = str(data.get("service") or "")
    try:
        service = get_service(service_id)
    except KeyError:
        return [
            Problem(
                "service",
                "unknown_service",
                f"Die Dienstleistung „{service_id}“ gibt es nicht.",
                f"There is no service '{service_id}'.",
            )
        ]
    return [
        Problem(f.field or "application", "invalid", f.message_de, f.message_en)
        for f in validate_application(service, data)
    ]


def match_files(
    data: Mapping[str, Any], files: Sequence[IncomingFile]
) -> tuple[dict[str, IncomingFile], list[Problem]]:
    """Pair each ``documents[].file`` with an uploaded part (exact name or base name)."""
    by_name = {f.filename: f for f in files}
    by_base = {Path(f.filename).name: f for f in files}
    matched: dict[str, IncomingFile] = {}
    problems: list[Problem] = []
    documents = data.get("documents")
    if not isinstance(documents, list):
        return {}, [
            Problem(
                "documents",
                "invalid",
                "Die Dokumentenliste fehlt.",
                "The list of documents is missing.",
            )
        ]
    for index, entry in enumerate(documents):
        name = str(entry.get("file") or "") if isinstance(entry, Mapping) else ""
        found = by_name.get(name) or by_base.get(Path(name).name)
        if not name or found is None:
            problems.append(
                Problem(
                    f"documents[{index}].file",
                    "file_missing",
                    f"Zur Angabe „{name}“ wurde keine Datei hochgeladen.",
                    f"No file was uploaded for '{name}'.",
                )
            )
            continue
        if name in matched:
            problems.append(
                Problem(
                    f"documents[{index}].file",
                    "duplicate",
                    f"Die Datei „{name}“ ist doppelt angegeben.",
                    f"The file '{name}' is listed twice.",
                )
            )
            continue
        matched[name] = found
    used = {id(f) for f in matched.values()}
    for upload in files:
        if id(upload) not in used:
            problems.append(
                Problem(
                    f"files[{upload.filename}]",
                    "file_unlisted",
                    f"Die Datei „{upload.filename}“ steht in keiner Dokumentangabe.",
                    f"The file '{upload.filename}' is not listed in documents.",
                )
            )
    return matched, problems


def check_uploads(
    matched: Mapping[str, IncomingFile], settings: Settings
) -> tuple[dict[str, uploads.UploadCheck], list[Problem]]:
    checks: dict[str, uploads.UploadCheck] = {}
    problems: list[Problem] = []
    for name, upload in matched.items():
        try:
            checks[name] = uploads.validate_upload(
                upload.content, upload.filename, settings=settings
            )
        except uploads.UploadRejected as exc:
            problems.append(
                Problem(
                    f"files[{upload.filename}]",
                    exc.code,
                    exc.message_de,
                    exc.message_en,
                    exc.http_status,
                )
            )
    return checks, problems


def _submitted_with_key(session: Session, key: str) -> Application | None:
    return session.exec(select(Application).where(Application.idempotency_key == key)).first()


def _wait_for_submissions_with_key(session: Session, key: str) -> None:
    """Hold, until this transaction ends, what a concurrent submission with the same
    idempotency key must wait for, so that its look-up afterwards finds this one's
    application (a failed insert on the unique key would roll back its whole transaction,
    which belongs to the caller).

    PostgreSQL: a transaction-scoped advisory lock on the key. SQLite: its one write
    lock, taken now by an UPDATE that changes nothing; any writer waits for it anyway
    from the insert on, so this costs only the look-up that follows.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        digest = hashlib.sha256(f"servicepoint.submission:{key}".encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    elif dialect == "sqlite":
        session.execute(text("UPDATE applications SET version = version WHERE 0 = 1"))
    else:
        raise NotImplementedError(f"no submission lock for the {dialect} database")


def submit(
    session: Session,
    data: dict[str, Any],
    files: Sequence[IncomingFile],
    options: SubmissionOptions | None = None,
    settings: Settings | None = None,
) -> Submitted:
    """Validate and store a submission; one outbox event announces it."""
    options = options or SubmissionOptions()
    settings = settings or get_settings()
    if options.idempotency_key:
        earlier = _submitted_with_key(session, options.idempotency_key)
        if earlier is not None:
            return Submitted(earlier, "", created=False)
    if len(files) > settings.max_files_per_application:
        raise_for(
            [
                Problem(
                    "files",
                    "too_many_files",
                    f"Höchstens {settings.max_files_per_application} Dateien.",
                    f"At most {settings.max_files_per_application} files.",
                )
            ]
        )
    problems = check_form(data)
    matched, file_problems = match_files(data, files)
    checks, upload_problems = check_uploads(matched, settings)
    raise_for([*problems, *file_problems, *upload_problems])
    if options.idempotency_key:
        # Another request with this key may have passed the look-up above at the same
        # moment (a double click, a client retrying): wait for its transaction, then look
        # again, instead of failing on the unique key at the insert.
        _wait_for_submissions_with_key(session, options.idempotency_key)
        earlier = _submitted_with_key(session, options.idempotency_key)
        if earlier is not None:
            return Submitted(earlier, "", created=False)

    now = datetime.now(UTC)
    token = options.access_token or auth.new_token()
    service = get_service(str(data["service"]))
    application = Application(
        id=uuid.uuid4().hex,
        reference=new_reference(now),
        service=service.id,
        data_json=json.dumps(data, ensure_ascii=False),
        citizen_token_hash=auth.hash_token(token),
        citizen_email=options.email,
        language=options.language,
        idempotency_key=options.idempotency_key,
        submitted_at=_aware(datetime.fromisoformat(str(data["submitted_at"]))),
        received_at=now,
        due_date=now + timedelta(days=service.deadline_days or 14),
    )
    session.add(application)
    session.flush()  # the application row must exist before its documents reference it
    for entry in data["documents"]:
        name = str(entry["file"])
        stored = uploads.store_original(matched[name].content, settings=settings)
        session.add(
            Document(
                application_id=application.id,
                file=name,
                declared_type=str(entry.get("declared_type") or ""),
                person_index=entry.get("person"),
                original_name=matched[name].filename[:255],
                sha256=stored.sha256,
                media_type=stored.media_type,
                size=stored.size,
                pages=checks[name].pages,
            )
        )
    record(
        session,
        application,
        "submitted",
        options.actor,
        to_status=Status.SUBMITTED,
        details={"channel": options.channel, "documents": len(matched), **options.extra_audit},
    )
    events.enqueue(
        session,
        events.APPLICATION_SUBMITTED,
        resource_id(application),
        {"reference": application.reference, "service": application.service},
    )
    session.flush()
    return Submitted(application, token)


def add_document(
    session: Session,
    application: Application,
    incoming: IncomingFile,
    slot: str | None,
    actor: str,
    *,
    person: int | None = None,
    source: str = "upload",
    settings: Settings | None = None,
) -> Document:
    """A document handed in after submission (a clerk asked for it, or took a still of
    it in a video consultation: ``source="video"``).

    Validated like every upload (raises :class:`intake.applications.uploads.UploadRejected` with the
    citizen's message), stored content-addressed, listed in the application's
    ``documents`` as ``nachreichung/<name>`` (so a later re-check sees it with its declared
    type) and recorded as ``document_added``; an outbox event has the flows read it like
    every upload. The caller commits.
    """
    settings = settings or get_settings()
    check = uploads.validate_upload(incoming.content, incoming.filename, settings=settings)
    stored = uploads.store_original(incoming.content, settings=settings)
    taken = {document.file for document in documents_of(session, application)}
    base = _safe_file_name(incoming.filename)
    file, counter = f"nachreichung/{base}", 2
    while file in taken:
        stem, dot, suffix = base.rpartition(".")
        file = (
            f"nachreichung/{stem}-{counter}.{suffix}" if dot else f"nachreichung/{base}-{counter}"
        )
        counter += 1
    declared = _declared_type_for(application, slot, person)
    document = Document(
        application_id=application.id,
        file=file,
        declared_type=declared,
        person_index=person,
        original_name=Path(incoming.filename).name[:255] or "upload",
        sha256=stored.sha256,
        media_type=stored.media_type,
        size=stored.size,
        pages=check.pages,
        source=source,
    )
    session.add(document)
    data = application.data
    entry: dict[str, Any] = {"file": file, "declared_type": declared}
    if person is not None:
        entry["person"] = person
    data["documents"] = [*(data.get("documents") or []), entry]
    application.data_json = json.dumps(data, ensure_ascii=False)
    session.add(application)
    session.flush()
    record(
        session,
        application,
        "document_added",
        actor,
        details={"file": file, "slot": slot, "sha256": stored.sha256, "document_id": document.id},
    )
    events.enqueue(
        session,
        events.DOCUMENT_ADDED,
        resource_id(application),
        {"reference": application.reference, "document_id": document.id},
    )
    return document


def _safe_file_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name).strip("._")
    return (safe or "upload")[-80:]


def _declared_type_for(application: Application, slot: str | None, person: int | None) -> str:
    """The document type a later upload is declared as, from the slot a clerk asked for."""
    try:
        definition = get_service(application.service)
    except KeyError:
        return "other"
    requirement = definition.requirement(slot or "")
    if requirement is None:
        known = {str(t) for r in definition.documents for t in r.accepted_types}
        return slot if slot in known else "other"
    accepted = [str(t) for t in requirement.accepted_types]
    persons = application.data.get("persons") or []
    if person is not None and 0 <= person < len(persons):
        chosen = str(persons[person].get("id_document_type") or "")
        if chosen in accepted:
            return chosen
    return accepted[0]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def resource_id(application: Application) -> str:
    return f"servicepoint.application.{application.id}"


def record(
    session: Session,
    application: Application,
    action: str,
    actor: str,
    *,
    to_status: str | None = None,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append an audit entry; with ``to_status`` also change the case's status."""
    entry = AuditEntry(
        application_id=application.id,
        actor=actor,
        action=action,
        from_status=application.status if to_status else None,
        to_status=to_status,
        reason=reason,
        details_json=json.dumps(dict(details or {}), ensure_ascii=False, default=str),
    )
    if to_status:
        application.status = to_status
        session.add(application)
    session.add(entry)
    return entry


def get(session: Session, application_id: str) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound()
    return application


def for_citizen(session: Session, application_id: str, token: str | None) -> Application:
    """The case behind a citizen's secret link; a wrong token looks like a missing case."""
    application = session.get(Application, application_id)
    if (
        application is None
        or not token
        or not auth.tokens_equal(token, application.citizen_token_hash)
    ):
        raise NotFound()
    return application


def documents_of(session: Session, application: Application) -> list[Document]:
    query = select(Document).where(Document.application_id == application.id)
    return list(session.exec(query.order_by(Document.id)))  # type: ignore[arg-type]


def audit_of(session: Session, application: Application) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.application_id == application.id)
    return list(session.exec(query.order_by(AuditEntry.id)))  # type: ignore[arg-type]


def check_version(application: Application, version: int | None) -> None:
    if version is not None and version != application.version:
        raise Conflict(
            "Der Vorgang wurde inzwischen von jemand anderem geändert. Bitte laden Sie ihn neu; "
            "Ihre Eingaben sind unten noch zu sehen.",
            "The case was changed by someone else in the meantime. Please reload it; your "
            "input is still shown below.",
            details={"current_version": application.version},
        )


def public_view(session: Session, application: Application) -> dict[str, Any]:
    """The status of a case in the shape of CONTRACTS §2 (documents like §1 results)."""
    documents: dict[str, Any] = {}
    for document in documents_of(session, application):
        reading = json.loads(document.reading_json) if document.reading_json else None
        documents[document.file] = {
            "type": document.doc_type,
            "declared_type": document.declared_type,
            "fields": {
                name: value["value"]
                for name, value in (reading or {}).get("fields", {}).items()
                if not name.startswith("mrz_viz")
            },
        }
    return {
        "id": application.id,
        "reference": application.reference,
        "service": application.service,
        "status": application.status,
        "decision": application.decision,
        "reasons": application.reasons,
        "documents": documents,
        "submitted_at": application.submitted_at.isoformat(),
        "decided_at": application.decided_at.isoformat() if application.decided_at else None,
    }
