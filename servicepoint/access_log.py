"""The web app's access log without routine polling.

uvicorn logs every request at INFO. Monitoring asks ``/healthz`` every few seconds and a
citizen's open status page asks ``/antrag/<id>/status.json`` until the case is decided:
answered well, those lines tell an operator nothing and bury the ones that do. They are
dropped; the same requests failing (4xx/5xx) are still logged.
"""

from __future__ import annotations

import logging
import re

ROUTINE_PATHS = re.compile(r"^/(healthz|antrag/[^/?]+/status\.json)(\?.*)?$")


class RoutinePollingFilter(logging.Filter):
    """Drops uvicorn access lines of successful routine polling requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return True
        _client, method, path, _version, status = args
        routine = method in ("GET", "HEAD") and ROUTINE_PATHS.match(str(path)) is not None
        return not (routine and isinstance(status, int) and status < 400)


def quiet_routine_polling() -> None:
    """Install the filter on uvicorn's access logger (once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RoutinePollingFilter) for f in access.filters):
        access.addFilter(RoutinePollingFilter())
