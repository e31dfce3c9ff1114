"""How often one client may ask: the portal's sliding window, its own budget."""

from __future__ import annotations

from fastapi import Request

from intake import portal
from servicepoint.settings import get_settings

questions = portal.SlidingWindow()


def questions_limited(request: Request) -> float:
    """Count a question of this client; seconds to wait, or 0 when allowed."""
    host = request.client.host if request.client else None
    limit = get_settings().assistant_questions_per_minute
    return questions.hit(portal.client_key(host), limit)
