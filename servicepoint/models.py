"""Imports every table of every domain, so Alembic and tests see the whole schema."""

from backoffice.models import DocumentRequest
from intake.applications.models import Application, AuditEntry, Document, Notification
from intake.assistant.models import UnansweredQuestion
from servicepoint.auth import User
from servicepoint.events import OutboxEvent
from servicepoint.ratelimit import RateLimit
from servicepoint.sessions import WebSession
from tutorials.models import Tutorial, TutorialDailyCount
from video.models import Consultation, ConsultationSlot, VideoNode, VideoPlacement

__all__ = [
    "Application",
    "AuditEntry",
    "Consultation",
    "ConsultationSlot",
    "DocumentRequest",
    "Document",
    "Notification",
    "OutboxEvent",
    "RateLimit",
    "Tutorial",
    "TutorialDailyCount",
    "UnansweredQuestion",
    "User",
    "VideoNode",
    "VideoPlacement",
    "WebSession",
]
