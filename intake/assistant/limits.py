"""How often one client may ask: a window shared by every web process, its own budget."""

from __future__ import annotations

from fastapi import Request

from intake.portal import portal
from servicepoint.ratelimit import SharedWindow
from servicepoint.settings import get_settings

questions = SharedWindow(scope="assistant")


def questions_limited(request: Request) -> float:
    """Count a question of this client; seconds to wait, or 0 when allowed."""
    host = request.client.host if request.client else None
    limit = get_settings().assistant_questions_per_minute
    return questions.hit(portal.client_key(host), limit)
