"""The web app's access log without routine polling.

uvicorn logs every request at INFO. Monitoring asks ``/healthz`` every few seconds and a
citizen's open status page asks ``/antrag/<id>/status.json`` until the case is decided:
answered well, those lines tell an operator nothing and bury the ones that do. They are
dropped; the same requests failing (4xx/5xx) are still logged.

A citizen's question to the assistant travels in the query of ``GET /assistent?q=...``
(the form without JavaScript) and may name a person, an address or a case: the log keeps
the request but not the question (``q=[masked]``).
"""

from __future__ import annotations

import logging
import re

ROUTINE_PATHS = re.compile(r"^/(healthz|antrag/[^/?]+/status\.json)(\?.*)?$")
QUESTION_PATH = re.compile(r"^/assistent(/[^?]*)?\?")
QUESTION = re.compile(r"(?<=[?&])q=[^&]*")


def mask_question(path: str) -> str:
    """The request path with the assistant's question replaced."""
    if QUESTION_PATH.match(path) is None:
        return path
    return QUESTION.sub("q=[masked]", path)


class RoutinePollingFilter(logging.Filter):
    """Drops uvicorn access lines of successful routine polling requests and masks the
    assistant's questions in the others."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return True
        client, method, path, version, status = args
        routine = method in ("GET", "HEAD") and ROUTINE_PATHS.match(str(path)) is not None
        if routine and isinstance(status, int) and status < 400:
            return False
        masked = mask_question(str(path))
        if masked != path:
            record.args = (client, method, masked, version, status)
        return True


def quiet_routine_polling() -> None:
    """Install the filter on uvicorn's access logger (once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RoutinePollingFilter) for f in access.filters):
        access.addFilter(RoutinePollingFilter())
