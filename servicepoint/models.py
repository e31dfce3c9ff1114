"""Imports every table of every domain, so Alembic and tests see the whole schema."""

from servicepoint.auth import User
from servicepoint.events import OutboxEvent

__all__ = ["OutboxEvent", "User"]
