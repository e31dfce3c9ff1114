"""Several web processes, one call each place: which process holds a consultation's call,
and getting every request of that call there.

Only active when the process has a name (``SERVICEPOINT_NODE_NAME``, set by
``servicepoint up --scale``); a single process routes nothing. Each named process
reports itself every few seconds (``video_nodes``: its direct URL, calls held, its
limit). The first participant to join claims the consultation for a process
(``video_placements``): for the process that received the join when it has a free
line, else for the live process with the most free lines; only when no process has one
is the join answered here, with "all lines are busy" (503). Every later request of the
consultation (the other participant's join, admit, state, tutorial, capture, hang-up)
that reaches another process is forwarded to the holder over HTTP, and the holder's
answer goes back unchanged. The proxy in front (nginx, consistent hash on the
consultation id) already sends most of them to the right process; the forwarding is for
the rest. A holder that stops reporting for ``STALE_AFTER`` loses its calls to the next
join. Media never passes here: after signalling, each browser talks to the holder's
ICE candidates directly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicepoint import auth, db
from servicepoint.auth import utcnow
from servicepoint.settings import get_settings
from video import repository
from video.models import VideoNode

log = logging.getLogger(__name__)

FORWARDED_HEADER = "x-servicepoint-forwarded"
NODE_HEADER = "x-servicepoint-node"
REPORT_EVERY = 3.0  # seconds between reports of a process's calls
STALE_AFTER = timedelta(seconds=15)
MAX_BODY = 512 * 1024  # signalling bodies: an SDP, a token, a few fields
JOIN_PATH = "/api/v1/video/offer"
HANGUP_PATH = "/api/v1/video/hangup"
CHECK_PATH = "/api/v1/video/check"
WAITING_PATH = "/api/v1/video/waiting"
ROOM_PATH = re.compile(
    r"^/api/v1/consultations/([A-Za-z0-9_-]{1,32})/"
    r"(admit|state|tutorial|camera|capture-request|capture)$"
)
# Not passed on when forwarding (httpx hands the body over decoded, hence the encoding).
_HOP_HEADERS = {
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "content-encoding",
}


@dataclass(frozen=True)
class Request:
    """What routing needs to know of a request: the consultation and what it does."""

    kind: str  # "join", "room", "check", "waiting" or "" (not a call's request)
    consultation_id: str | None = None


def classify(path: str, body: bytes) -> Request:
    if path == CHECK_PATH:
        return Request("check")
    if path == WAITING_PATH:
        return Request("waiting")
    match = ROOM_PATH.match(path)
    if match:
        return Request("room", match.group(1))
    if path in (JOIN_PATH, HANGUP_PATH):
        consultation = consultation_of_token(body)
        if consultation is None:
            return Request("")  # answered here: the endpoint refuses the token
        return Request("join" if path == JOIN_PATH else "room", consultation)
    return Request("")


def consultation_of_token(body: bytes) -> str | None:
    """The consultation a join token in a JSON body names (validity is the endpoint's)."""
    from video.service import JOIN_PURPOSE

    try:
        token = json.loads(body or b"{}").get("token")
    except (ValueError, AttributeError):
        return None
    payload = auth.unsign(JOIN_PURPOSE, token) if isinstance(token, str) else None
    consultation = payload.get("c") if payload else None
    return str(consultation) if consultation else None


# --- where a request goes (database; run in a thread) ------------------------------------
def _live(session: Any) -> dict[str, VideoNode]:
    return {n.name: n for n in repository.live_nodes(session, utcnow() - STALE_AFTER)}


def _most_free(nodes: dict[str, VideoNode], other_than: str) -> VideoNode | None:
    free = [n for n in nodes.values() if n.name != other_than and n.active_calls < n.max_calls]
    return max(free, key=lambda n: (n.max_calls - n.active_calls, n.name), default=None)


def destination(me: str, request: Request, free_here: bool) -> str | None:
    """The URL of the process to forward to, or None: this process answers."""
    with db.session_scope() as session:
        nodes = _live(session)
        if request.kind == "check":
            other = None if free_here else _most_free(nodes, me)
            return other.url if other else None
        consultation = request.consultation_id or ""
        holder = repository.placement(session, consultation)
        if holder is not None and holder.node == me:
            return None
        if holder is not None and holder.node in nodes:
            return nodes[holder.node].url
        if request.kind != "join":
            return None  # no call anywhere: the endpoint here says so
        target = me if free_here else getattr(_most_free(nodes, me), "name", None)
        if target is None:
            return None  # every line busy: the endpoint here answers 503
        if holder is not None:
            moved = repository.move_placement(session, consultation, holder.node, target)
            if moved:
                return None if target == me else nodes[target].url
    if holder is None:
        try:
            with db.session_scope() as session:
                repository.place(session, consultation, target)
            return None if target == me else nodes[target].url
        except IntegrityError:
            pass  # another process placed it at the same moment: go there
    with db.session_scope() as session:
        holder = repository.placement(session, consultation)
        nodes = _live(session)
    if holder is None or holder.node == me or holder.node not in nodes:
        return None
    return nodes[holder.node].url


def release(consultation_id: str) -> None:
    """The call ended here: the consultation is no longer held by this process."""
    name = get_settings().node_name
    if name:
        with db.session_scope() as session:
            repository.release_placement(session, consultation_id, name)


def report(active_calls: int, max_calls: int) -> None:
    settings = get_settings()
    if not settings.node_name:
        return
    node = VideoNode(
        name=settings.node_name,
        url=(settings.node_url or settings.effective_public_url).rstrip("/"),
        active_calls=active_calls,
        max_calls=max_calls,
        seen_at=utcnow(),
    )
    with db.session_scope() as session:
        repository.report_node(session, node)


def live_urls(me: str) -> list[str]:
    with db.session_scope() as session:
        return [n.url for n in _live(session).values() if n.name != me]


# --- the middleware ----------------------------------------------------------------------
def _calls() -> tuple[int, int]:
    from video import api

    manager = api.manager()
    return manager.active_calls, manager.max_calls


def _free_here(request: Request) -> bool:
    from video import api

    manager = api.manager()
    if request.kind == "check":
        return manager.active_calls < manager.max_calls
    return manager.has_capacity(request.consultation_id)


async def report_forever() -> None:
    while True:
        try:
            await asyncio.to_thread(report, *_calls())
        except Exception:  # a missed report only makes this process look gone for a while
            log.exception("could not report this process's calls")
        await asyncio.sleep(REPORT_EVERY)


class VideoRouting:
    """Forwards a call's requests to the process holding the call (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._client: httpx.AsyncClient | None = None
        self._reporter: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        me = get_settings().node_name
        if not me or scope["type"] not in ("http", "lifespan"):
            await self.app(scope, receive, send)
            return
        if self._reporter is None:
            self._reporter = asyncio.create_task(report_forever())
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        tagged = _tagged(send, me)
        if FORWARDED_HEADER in headers or not path.startswith("/api/v1/"):
            await self.app(scope, receive, tagged)
            return
        body, replay = await _read_body(receive)
        request = classify(path, body or b"")
        if body is None or not request.kind:
            await self.app(scope, replay, tagged)
            return
        if request.kind == "waiting":
            await self._gather(scope, replay, tagged, me)
            return
        target = await asyncio.to_thread(destination, me, request, _free_here(request))
        if target is not None:
            try:
                await self._forward(scope, body, send, target, me)
                return
            except httpx.HTTPError as exc:
                log.warning("could not reach %s for %s: %s", target, path, exc)
        await self.app(scope, replay, tagged)
        if request.kind in ("join", "check"):
            await asyncio.to_thread(report, *_calls())  # the others see the line taken

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=60)
        return self._client

    async def _forward(self, scope: Scope, body: bytes, send: Send, target: str, me: str) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        url = target + scope["path"] + (f"?{query}" if query else "")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope.get("headers", [])
            if k.decode("latin-1").lower() not in _HOP_HEADERS
        ]
        headers.append((FORWARDED_HEADER, me))
        response = await self.client.request(scope["method"], url, headers=headers, content=body)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1"))
                    for k, v in response.headers.multi_items()
                    if k.lower() not in _HOP_HEADERS
                ]
                + [(b"content-length", str(len(response.content)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": response.content})

    async def _gather(self, scope: Scope, receive: Receive, send: Send, me: str) -> None:
        """The clerk's waiting list: the citizens waiting on every process, oldest first."""
        status, headers, local = await _capture(self.app, scope, receive)
        rows: list[Any] = []
        if status == 200:
            rows.extend(json.loads(local or b"[]"))
            forwarded = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in scope.get("headers", [])
                if k.decode("latin-1").lower() not in _HOP_HEADERS
            ] + [(FORWARDED_HEADER, me)]
            for url in await asyncio.to_thread(live_urls, me):
                try:
                    answer = await self.client.get(url + WAITING_PATH, headers=forwarded)
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200:
                    rows.extend(answer.json())
            rows.sort(key=lambda row: (int(row.get("position", 0)), str(row["consultation_id"])))
            local = json.dumps(rows).encode()
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(local)).encode()))
        tagged = _tagged(send, me)
        await tagged({"type": "http.response.start", "status": status, "headers": headers})
        await tagged({"type": "http.response.body", "body": local})


def _tagged(send: Send, me: str) -> Send:
    """Every answer of this process says which process gave it (the tests look)."""

    async def tagged(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            if NODE_HEADER.encode() not in names:
                message["headers"] = [
                    *message.get("headers", []),
                    (NODE_HEADER.encode(), me.encode()),
                ]
        await send(message)

    return tagged


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole (small) body and a receive that replays it; None when it is too large."""
    chunks: list[bytes] = []
    size, more = 0, True
    pending: list[Message] = []
    while more:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
        if size > MAX_BODY and more:
            pending.append({"type": "http.request", "body": b"".join(chunks), "more_body": True})
            chunks = []
            break
    body = b"".join(chunks) if not pending else None
    replayed = (
        [{"type": "http.request", "body": body, "more_body": False}]
        if body is not None
        else pending
    )

    async def replay() -> Message:
        if replayed:
            return replayed.pop(0)
        return await receive()

    return body, replay


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    status = 500
    headers: list[Any] = []
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return status, headers, b"".join(chunks)
