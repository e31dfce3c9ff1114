"""Tables of applications: the case, its documents, its audit trail, its notifications."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from servicepoint.auth import utcnow


class Status(StrEnum):
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    REVIEW = "review"
    APPROVED = "approved"
    REJECTED = "rejected"


OPEN_STATUSES = (Status.SUBMITTED, Status.PROCESSING, Status.REVIEW)
CLOSED_STATUSES = (Status.APPROVED, Status.REJECTED)


class Application(SQLModel, table=True):
    __tablename__ = "applications"

    id: str = Field(primary_key=True, max_length=32)
    reference: str = Field(index=True, unique=True, max_length=32)
    service: str = Field(index=True, max_length=64)
    status: str = Field(default=Status.SUBMITTED, index=True, max_length=16)
    decision: str | None = Field(default=None, max_length=16)  # auto | review
    reasons_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    findings_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    data_json: str = Field(sa_column=Column(Text, nullable=False))  # CONTRACTS §1 shape
    citizen_token_hash: str = Field(max_length=64)
    citizen_email: str | None = Field(default=None, max_length=254)
    language: str = Field(default="de", max_length=2)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=64)
    submitted_at: datetime = Field(index=True)  # what the citizen submitted (rules date)
    received_at: datetime = Field(default_factory=utcnow, index=True)
    processed_at: datetime | None = None
    processing_lease_until: datetime | None = None  # a flow run owns the case until then
    processing_owner: str | None = Field(default=None, max_length=64)  # that flow run
    decided_at: datetime | None = Field(default=None, index=True)
    decided_by: str | None = Field(default=None, max_length=64)  # "system" or a username
    outcome_reason: str | None = Field(default=None, max_length=2000)
    completed_at: datetime | None = None
    due_date: datetime | None = Field(default=None, index=True)
    claimed_by: str | None = Field(default=None, index=True, max_length=64)
    claimed_at: datetime | None = None
    documents_purged_at: datetime | None = None
    version: int = 1  # optimistic locking for clerks' changes

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data_json)
        return value

    @property
    def reasons(self) -> list[str]:
        value: list[str] = json.loads(self.reasons_json)
        return value

    @property
    def findings(self) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = json.loads(self.findings_json)
        return value


class Document(SQLModel, table=True):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("application_id", "file", name="uq_documents_app_file"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(foreign_key="applications.id", index=True, max_length=32)
    file: str = Field(max_length=255)  # the name in the application's documents[] list
    declared_type: str = Field(max_length=32)
    person_index: int | None = None
    original_name: str = Field(max_length=255)
    sha256: str = Field(index=True, max_length=64)
    media_type: str = Field(max_length=64)
    size: int
    pages: int | None = None
    source: str = Field(default="upload", max_length=16)  # upload | video | clerk
    uploaded_at: datetime = Field(default_factory=utcnow)
    doc_type: str | None = Field(default=None, max_length=32)
    reading_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    read_at: datetime | None = None
    purged_at: datetime | None = None


class AuditEntry(SQLModel, table=True):
    """Append-only: rows are only ever inserted (enforced by database triggers)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(index=True, max_length=32)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)  # citizen | system | clerk username
    action: str = Field(max_length=64)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, max_length=2000)
    details_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class Notification(SQLModel, table=True):
    """One row per (case, kind): the key that makes every notification happen once."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("application_id", "kind", name="uq_notifications_key"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(index=True, max_length=32)
    kind: str = Field(max_length=64)
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
