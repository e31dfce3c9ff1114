"""Tables of the back office: the clerks' requests to citizens for further documents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from servicepoint.auth import utcnow


class DocumentRequest(SQLModel, table=True):
    """A clerk asked the citizen for another document; the case waits until it arrives.

    The request is open until the citizen uploads a document to the case after
    ``requested_at`` or a clerk closes it (``closed_at``). The case keeps its public status
    ``review`` (the API's status values are a contract); the audit entry
    ``document_requested`` tells the citizen's status page what is asked for.
    """

    __tablename__ = "document_requests"

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(foreign_key="applications.id", index=True, max_length=32)
    slot: str = Field(max_length=64)  # a DocumentRequirement.slot of the service, or "other"
    message: str = Field(sa_column=Column(Text, nullable=False))
    requested_by: str = Field(max_length=64)
    requested_at: datetime = Field(default_factory=utcnow, index=True)
    closed_at: datetime | None = None
    closed_by: str | None = Field(default=None, max_length=64)
