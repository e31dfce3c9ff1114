"""Imports every table of the kernel and of every registered domain (servicepoint.domains),
so Alembic and tests see the whole schema."""

from servicepoint import domains
from servicepoint.auth import User
from servicepoint.events import OutboxEvent
from servicepoint.ratelimit import RateLimit
from servicepoint.sessions import WebSession

DOMAIN_TABLE_MODULES = domains.import_tables()

__all__ = ["DOMAIN_TABLE_MODULES", "OutboxEvent", "RateLimit", "User", "WebSession"]
