"""Sliding-window rate limits: in one process's memory, or shared through the database.

The portal limits submissions (and access-code attempts, late uploads) per client. With
several web processes behind a proxy, a limit kept in each process's memory would let a
client through once per process; ``SharedWindow`` keeps the window in the application
database (table ``rate_limits``), so the limit holds whichever process answers.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Text, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col

from servicepoint.db import get_engine


def admit(
    events: Iterable[float], moment: float, window: float, limit: int
) -> tuple[list[float], float]:
    """The events still inside the window (plus this one when admitted), and the wait.

    The wait is 0 when the event is admitted, else the seconds until it would be.
    """
    kept = [at for at in events if at > moment - window]
    if len(kept) >= limit:
        return kept, max(0.1, kept[0] + window - moment)
    kept.append(moment)
    return kept, 0.0


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds per key, in this process's memory.

    Exact for one process only; several web processes use :class:`SharedWindow`.
    """

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, now: float | None = None) -> float:
        """Count an event; 0 when allowed, else the seconds until the next one would be."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            kept, wait = admit(self._events.get(key, ()), moment, self.window, limit)
            self._events[key] = deque(kept)
            if len(self._events) > 10_000:
                self._forget_idle(moment)
            return wait

    def _forget_idle(self, moment: float) -> None:
        idle = [k for k, v in self._events.items() if not v or v[-1] <= moment - self.window]
        for key in idle:
            del self._events[key]

    def reset(self) -> None:
        with self._lock:
            self._events.clear()


class RateLimit(SQLModel, table=True):
    """One key's recent events (epoch seconds), for limits shared by every process."""

    __tablename__ = "rate_limits"

    key: str = Field(primary_key=True, max_length=128)
    events_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(index=True)


FORGET_EVERY = 500  # hits of this process between deletions of idle keys


class SharedWindow:
    """Like :class:`SlidingWindow`, kept in the application database.

    Each hit is one transaction that first writes the key's row (an upsert) and only then
    reads it: the write takes the row lock on PostgreSQL and the write lock on SQLite, so
    two processes counting the same client at once are serialised and neither reads a
    count the other is about to change.
    """

    def __init__(self, window: float = 60.0, scope: str = "") -> None:
        self.window = window
        self.scope = f"{scope}:" if scope else ""
        self._hits = 0

    def hit(self, key: str, limit: int, now: float | None = None) -> float:
        key = (self.scope + key)[:128]
        with Session(get_engine()) as db:
            db.execute(_touch(db, key, datetime.now(UTC)))
            # The clock is read once the row is ours: a hit that waited for the lock
            # counts after the one it waited for, so the events stay in order.
            moment = time.time() if now is None else now
            stamp = datetime.fromtimestamp(moment, UTC)
            row = db.get(RateLimit, key, populate_existing=True)
            assert row is not None  # written just now, in this transaction
            kept, wait = admit(json.loads(row.events_json), moment, self.window, limit)
            row.events_json = json.dumps(kept)
            row.updated_at = stamp
            db.add(row)
            self._hits += 1
            if self._hits % FORGET_EVERY == 0:
                idle = stamp - timedelta(seconds=self.window)
                db.execute(delete(RateLimit).where(col(RateLimit.updated_at) < idle))
            db.commit()
        return wait

    def reset(self) -> None:
        """Forget every hit of this window's scope (all scopes for the unscoped one)."""
        with Session(get_engine()) as db:
            query = delete(RateLimit)
            if self.scope:
                query = query.where(col(RateLimit.key).startswith(self.scope))
            db.execute(query)
            db.commit()


def _touch(db: Session, key: str, stamp: datetime) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE``: the row exists and is ours to change."""
    dialect = db.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(RateLimit).values(key=key, events_json="[]", updated_at=stamp)
    return statement.on_conflict_do_update(
        index_elements=[RateLimit.key], set_={"updated_at": stamp}
    )
