"""Imported by the runner's forkserver only (``flows.runner.start_flow_runs_warm``).

Every flow run is a fork of that process, so what is done here once is not paid again by
each run: the database engine is created and the statements of taking a case are
compiled, by taking a case that does not exist (the UPDATE matches no row and nothing is
written). The engine's connections are then closed: a forked run must open its own.
"""

from __future__ import annotations

import logging
from datetime import timedelta


def warm_database() -> None:
    from intake.applications import processing
    from servicepoint.db import get_engine, session_scope

    try:
        with session_scope() as session:
            missing = "0" * 32
            processing.take(session, missing, timedelta(minutes=1), "warm-up")
            processing.cached_reading(session, 0)
            session.rollback()
    except Exception:  # noqa: BLE001 - an unmigrated database: the runs pay it themselves
        logging.getLogger("servicepoint.flows").info("database warm-up skipped", exc_info=True)
    finally:
        get_engine().dispose()


warm_database()
