"""Imports every table of every domain, so Alembic and tests see the whole schema."""

from intake.models import Application, AuditEntry, Document, Notification
from servicepoint.auth import User
from servicepoint.events import OutboxEvent
from servicepoint.sessions import WebSession

__all__ = [
    "Application",
    "AuditEntry",
    "Document",
    "Notification",
    "OutboxEvent",
    "User",
    "WebSession",
]
