"""Domain events and the transactional outbox.

A state change that others must hear about writes an ``OutboxEvent`` row in the same
transaction. A relay (running in the flow-runner process) publishes unsent rows as
Prefect events and marks them sent; while Prefect is unreachable rows simply wait.
Event names and resource ids follow CONTRACTS §3.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel, select

from servicepoint.auth import utcnow

log = logging.getLogger(__name__)

APPLICATION_SUBMITTED = "servicepoint.application.submitted"
APPLICATION_PROCESSED = "servicepoint.application.processed"
APPLICATION_DECIDED = "servicepoint.application.decided"
DOCUMENT_ADDED = "servicepoint.application.document-added"
CONSULTATION_BOOKED = "servicepoint.consultation.booked"
CONSULTATION_STARTED = "servicepoint.consultation.started"
CONSULTATION_ENDED = "servicepoint.consultation.ended"
TUTORIAL_PUBLISHED = "servicepoint.tutorial.published"


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(max_length=128, index=True)
    resource_id: str = Field(max_length=200)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sent_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


def enqueue(
    session: Session, event: str, resource_id: str, payload: dict[str, Any] | None = None
) -> OutboxEvent:
    """Add an event to the outbox inside the caller's transaction."""
    row = OutboxEvent(event=event, resource_id=resource_id, payload=json.dumps(payload or {}))
    session.add(row)
    return row


def pending(session: Session, limit: int = 100) -> list[OutboxEvent]:
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.sent_at == None)  # noqa: E711  (SQL IS NULL)
        .order_by(OutboxEvent.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    return list(session.exec(query))


# --- relay --------------------------------------------------------------------------------
_EVENT_NAMESPACE = uuid.UUID("8f5b7c1e-3c55-4d55-9a53-5e7a1c0c2b11")


def event_id(row: OutboxEvent) -> str:
    """A stable event id per outbox row: a re-sent row is the same event to Prefect."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"outbox-{row.id}-{row.event}-{row.resource_id}"))


def to_prefect_event(row: OutboxEvent) -> dict[str, Any]:
    payload = json.loads(row.payload or "{}")
    resource: dict[str, str] = {"prefect.resource.id": row.resource_id}
    if "reference" in payload:
        resource["prefect.resource.name"] = str(payload["reference"])
    return {
        "id": event_id(row),
        "occurred": row.created_at.astimezone(UTC).isoformat(),
        "event": row.event,
        "resource": resource,
        "payload": payload,
    }


async def relay_once(client: httpx.AsyncClient, api_url: str, batch: int = 100) -> int:
    """Publish pending outbox rows to the Prefect API; returns how many were sent.

    Rows are marked sent only after the server accepted them (HTTP 204), so a crash
    between the two steps re-sends a row with the same event id: at-least-once delivery,
    with consumers keyed by case so a duplicate has no second effect.
    """
    from servicepoint.db import session_scope

    def load() -> list[OutboxEvent]:
        with session_scope() as session:
            return pending(session, batch)

    rows = await asyncio.to_thread(load)
    if not rows:
        return 0
    response = await client.post(
        f"{api_url}/events", json=[to_prefect_event(r) for r in rows], timeout=10.0
    )
    response.raise_for_status()
    ids = [r.id for r in rows]

    def mark() -> None:
        with session_scope() as session:
            for row in session.exec(select(OutboxEvent).where(OutboxEvent.id.in_(ids))):  # type: ignore[union-attr]
                row.sent_at = utcnow()
                row.attempts += 1
                session.add(row)

    await asyncio.to_thread(mark)
    return len(rows)


async def relay_forever(api_url: str, interval: float = 0.25) -> None:
    """Relay until cancelled; while Prefect is unreachable, rows wait and we back off."""
    delay = interval
    async with httpx.AsyncClient() as client:
        while True:
            try:
                sent = await relay_once(client, api_url)
                delay = interval  # an indexed query on an idle outbox costs well under 1 ms
                if sent:
                    log.info("relayed %d event(s)", sent)
                    continue
            except (httpx.HTTPError, OSError) as exc:
                log.warning("outbox relay: Prefect not reachable (%s); retrying", exc)
                delay = min(max(delay * 2, 1.0), 10.0)
            await asyncio.sleep(delay)
