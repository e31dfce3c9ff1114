"""The aiortc side of a consultation: the server is the peer of every participant and
relays audio and video between them, with admission control, the waiting room and the
data channel. The tracks it wires together, and the rules that keep a relayed call
healthy, are in :mod:`video.tracks`.

Nothing is recorded: frames live in memory only as long as they are forwarded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaPlayer
from av import VideoFrame

from video import forward, media
from video.tracks import IncomingSource, OutgoingAudio, OutgoingVideo, Still
from video.tracks import NotInCall as NotInCall  # raised to the views as relay.NotInCall

log = logging.getLogger(__name__)

IDLE_LIMIT = 20.0  # seconds without any incoming media: the peer is gone
CONNECT_LIMIT = 20.0  # seconds for a new peer connection to connect
CHECK_LIMIT = 120.0  # the device check loopback ends after this
CONSENT_VALID = 120.0  # seconds a citizen's consent to a still capture stays valid
MAX_CHAT = 2000

EventHook = Callable[[str, str], Awaitable[None]]


class Busy(Exception):
    """Every line is taken; try again in ``retry_minutes``."""

    def __init__(self, retry_minutes: int) -> None:
        super().__init__(f"all lines are busy, retry in {retry_minutes} min")
        self.retry_minutes = retry_minutes


class NoConsent(Exception):
    """A still capture needs the citizen's fresh consent."""


@dataclass(eq=False)
class Participant:
    role: str
    pc: RTCPeerConnection
    video_out: OutgoingVideo
    audio_out: OutgoingAudio
    joined_at: float = field(default_factory=time.monotonic)
    video_in: IncomingSource | None = None
    audio_in: IncomingSource | None = None
    channel: RTCDataChannel | None = None
    closed: bool = False

    def send(self, message: dict[str, Any]) -> None:
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(json.dumps(message))

    def last_media(self) -> float:
        sources = [s.last_at for s in (self.video_in, self.audio_in) if s is not None]
        return max(sources, default=self.joined_at)


@dataclass(eq=False)
class Room:
    consultation_id: str
    clerk_id: int | None
    starts_at: datetime
    ends_at: datetime
    opened_at: float = field(default_factory=time.monotonic)
    citizen: Participant | None = None
    clerk: Participant | None = None
    admitted: bool = False
    waiting_since: float | None = None
    consent_at: float | None = None

    def participants(self) -> list[Participant]:
        return [p for p in (self.citizen, self.clerk) if p is not None]


def _prefer_codecs(pc: RTCPeerConnection) -> None:
    """VP8 video and Opus audio on every leg, so that frames relay as they arrive."""
    wanted = {"video": ("video/VP8", "video/rtx"), "audio": ("audio/opus",)}
    for transceiver in pc.getTransceivers():
        codecs = [
            codec
            for codec in RTCRtpSender.getCapabilities(transceiver.kind).codecs
            if codec.mimeType in wanted.get(transceiver.kind, ())
        ]
        if codecs:
            transceiver.setCodecPreferences(codecs)


class CallManager:
    """The consultations of this process, with admission control."""

    def __init__(
        self, max_calls: int, on_event: EventHook | None = None, *, forward_video: bool = True
    ) -> None:
        self.max_calls = max_calls
        self.on_event = on_event
        self.forward_video = forward_video
        if forward_video:
            forward.install()
        self.rooms: dict[str, Room] = {}
        self.checks: set[Participant] = set()
        self.peer_connections: set[RTCPeerConnection] = set()
        self._watchdog: asyncio.Task[None] | None = None

    # --- capacity --------------------------------------------------------------------
    @property
    def active_calls(self) -> int:
        return sum(1 for room in self.rooms.values() if room.participants()) + len(self.checks)

    def retry_minutes(self) -> int:
        now = datetime.now(UTC)
        ends = [room.ends_at for room in self.rooms.values()]
        if not ends:
            return 1
        soonest = min(ends)
        return max(1, min(30, math.ceil((soonest - now).total_seconds() / 60)))

    def has_capacity(self, consultation_id: str | None = None) -> bool:
        room = self.rooms.get(consultation_id or "")
        if room is not None and room.participants():
            return True  # the call already holds its line
        return self.active_calls < self.max_calls

    def stats(self) -> dict[str, int]:
        return {
            "calls": self.active_calls,
            "rooms": len(self.rooms),
            "peer_connections": len(self.peer_connections),
        }

    # --- joining ---------------------------------------------------------------------
    async def join(
        self,
        consultation_id: str,
        role: str,
        offer: RTCSessionDescription,
        *,
        clerk_id: int | None,
        starts_at: datetime,
        ends_at: datetime,
    ) -> RTCSessionDescription:
        if not self.has_capacity(consultation_id):
            raise Busy(self.retry_minutes())
        room = self.rooms.get(consultation_id)
        if room is None:
            room = Room(consultation_id, clerk_id, starts_at, ends_at)
            self.rooms[consultation_id] = room
        previous = room.citizen if role == "citizen" else room.clerk
        if previous is not None:  # a rejoin (reload, new network) replaces the old peer
            await self._close(room, previous, notify=False)
        screen = (
            (lambda: self._waiting_screen(room))
            if role == "citizen"
            else media.clerk_waiting_screen
        )
        participant = self._new_participant(role, screen)
        if role == "citizen":
            room.citizen = participant
            room.waiting_since = room.waiting_since or time.monotonic()
        else:
            room.clerk = participant
        self._wire(room, participant)
        try:
            answer = await self._answer(participant, offer)
        except Exception:
            await self._close(room, participant, notify=False)
            raise
        self._route(room)
        if self.on_event is not None:
            await self.on_event(consultation_id, "started")
        self._ensure_watchdog()
        return answer

    async def check(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """The device check: everything the browser sends comes straight back."""
        if self.active_calls >= self.max_calls:
            raise Busy(self.retry_minutes())
        participant = self._new_participant("check", media.paused_screen)
        self.checks.add(participant)
        pc = participant.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            source = self._incoming(pc, track)
            if track.kind == "video":
                participant.video_in = source
                participant.video_out.set_source(source)
            else:
                participant.audio_in = source
                participant.audio_out.set_source(source)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close_check(participant)

        try:
            answer = await self._answer(participant, offer)
        except Exception:
            await self._close_check(participant)
            raise
        self._ensure_watchdog()
        return answer

    def _incoming(self, pc: RTCPeerConnection, track: MediaStreamTrack) -> IncomingSource:
        receiver = next((r for r in pc.getReceivers() if r.track is track), None)
        return IncomingSource(track, receiver, encoded=self.forward_video)

    def _new_participant(self, role: str, screen: Callable[[], VideoFrame]) -> Participant:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: answer at once
        self.peer_connections.add(pc)
        return Participant(
            role, pc, OutgoingVideo(screen), OutgoingAudio(encoded=self.forward_video)
        )

    async def _answer(
        self, participant: Participant, offer: RTCSessionDescription
    ) -> RTCSessionDescription:
        pc = participant.pc
        await pc.setRemoteDescription(offer)
        pc.addTrack(participant.audio_out)
        participant.video_out.attach(pc.addTrack(participant.video_out))
        _prefer_codecs(pc)
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription

    def _wire(self, room: Room, participant: Participant) -> None:
        pc = participant.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            source = self._incoming(pc, track)
            if track.kind == "video":
                participant.video_in = source
            else:
                participant.audio_in = source
            self._route(room)

        @pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            participant.channel = channel

            @channel.on("message")
            def on_message(message: object) -> None:
                if isinstance(message, str):
                    asyncio.ensure_future(self._on_message(room, participant, message))

            self._announce(room)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close(room, participant)

        def player_ended() -> None:
            if room.clerk is not None:
                room.clerk.send({"type": "tutorial-ended"})

        participant.video_out.on_player_end = player_ended

    # --- routing ---------------------------------------------------------------------
    def _waiting_screen(self, room: Room) -> VideoFrame:
        position, minutes = self.queue_position(room)
        return media.waiting_screen(position, minutes)

    def queue_position(self, room: Room) -> tuple[int, int]:
        """Position among the citizens waiting for the same clerk, and the expected wait."""
        ahead = [
            other
            for other in self.rooms.values()
            if other is not room
            and other.clerk_id == room.clerk_id
            and other.citizen is not None
            and (other.admitted or (other.waiting_since or 0) < (room.waiting_since or 0))
        ]
        position = len(ahead) + 1
        until_start = (room.starts_at - datetime.now(UTC)).total_seconds() / 60
        minutes = max(1, math.ceil(max(until_start, 0.0)) + 15 * len(ahead))
        return position, minutes

    def _route(self, room: Room) -> None:
        citizen, clerk = room.citizen, room.clerk
        live = room.admitted and citizen is not None and clerk is not None
        if citizen is not None:
            citizen.video_out.set_source(clerk.video_in if live and clerk else None)
            citizen.audio_out.set_source(clerk.audio_in if live and clerk else None)
            citizen.video_out.screen = (
                media.paused_screen if room.admitted else (lambda: self._waiting_screen(room))
            )
        if clerk is not None:
            clerk.video_out.set_source(citizen.video_in if live and citizen else None)
            clerk.audio_out.set_source(citizen.audio_in if live and citizen else None)
            clerk.video_out.screen = (
                media.paused_screen if room.admitted else media.clerk_waiting_screen
            )

    def _announce(self, room: Room) -> None:
        if room.citizen is not None:
            if room.admitted:
                room.citizen.send({"type": "state", "state": "admitted"})
            else:
                position, minutes = self.queue_position(room)
                room.citizen.send(
                    {
                        "type": "state",
                        "state": "waiting",
                        "position": position,
                        "wait_minutes": minutes,
                    }
                )
        if room.clerk is not None:
            room.clerk.send(
                {
                    "type": "state",
                    "state": "admitted" if room.admitted else "waiting",
                    "citizen_present": room.citizen is not None,
                }
            )

    # --- in the call -----------------------------------------------------------------
    async def admit(self, consultation_id: str) -> bool:
        room = self.rooms.get(consultation_id)
        if room is None:
            return False
        room.admitted = True
        self._route(room)
        self._announce(room)
        if self.on_event is not None:
            await self.on_event(consultation_id, "admitted")
        return True

    def waiting(self, clerk_id: int | None = None) -> list[dict[str, Any]]:
        """Who is waiting (for the clerk's list), oldest first."""
        rows = []
        for room in self.rooms.values():
            if room.citizen is None or room.admitted:
                continue
            if clerk_id is not None and room.clerk_id not in (clerk_id, None):
                continue
            position, minutes = self.queue_position(room)
            rows.append({"consultation_id": room.consultation_id, "position": position, "since": 0})
        return sorted(rows, key=lambda row: int(row["position"]))

    def room_state(self, consultation_id: str) -> dict[str, Any]:
        room = self.rooms.get(consultation_id)
        if room is None:
            return {"citizen_present": False, "clerk_present": False, "admitted": False}
        return {
            "citizen_present": room.citizen is not None,
            "clerk_present": room.clerk is not None,
            "admitted": room.admitted,
            "playing": bool(room.citizen and room.citizen.video_out.playing),
        }

    async def _on_message(self, room: Room, participant: Participant, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        other = room.clerk if participant is room.citizen else room.citizen
        if kind == "chat" and room.admitted and other is not None:
            text = str(message.get("text", ""))[:MAX_CHAT]
            if text:
                other.send({"type": "chat", "from": participant.role, "text": text})
        elif kind == "hangup":
            await self.end(room.consultation_id)
        elif kind == "capture-consent" and participant is room.citizen:
            room.consent_at = time.monotonic()
            if room.clerk is not None:
                room.clerk.send({"type": "capture-consent"})

    def request_consent(self, consultation_id: str) -> None:
        room = self.rooms.get(consultation_id)
        if room is None or room.citizen is None:
            raise NotInCall()
        room.citizen.send({"type": "capture-request"})

    def give_consent(self, consultation_id: str) -> None:
        room = self.rooms.get(consultation_id)
        if room is None or room.citizen is None:
            raise NotInCall()
        room.consent_at = time.monotonic()

    def capture(self, consultation_id: str) -> Still:
        """One still frame of the citizen's camera (needs fresh consent, used once).

        Runs on the loop and only takes the frames; :meth:`Still.jpeg` decodes them."""
        room = self.rooms.get(consultation_id)
        if room is None or room.citizen is None or room.citizen.video_in is None:
            raise NotInCall()
        if room.consent_at is None or time.monotonic() - room.consent_at > CONSENT_VALID:
            raise NoConsent()
        source = room.citizen.video_in
        still = source.still()
        if still is None:
            source.request_keyframe()  # a retry in a moment finds a picture
            raise NotInCall()
        room.consent_at = None
        return still

    def play(self, consultation_id: str, path: Path) -> None:
        """Play a tutorial file into the citizen's video instead of the clerk's camera."""
        room = self.rooms.get(consultation_id)
        if room is None or room.citizen is None:
            raise NotInCall()
        # Pre-encoded VP8 goes out as it is when the relay forwards encoded video.
        player = MediaPlayer(str(path), decode=not self.forward_video)
        room.citizen.video_out.play(player)

    def stop_playing(self, consultation_id: str) -> None:
        room = self.rooms.get(consultation_id)
        if room is not None and room.citizen is not None:
            room.citizen.video_out.stop_player()

    # --- leaving ---------------------------------------------------------------------
    async def end(self, consultation_id: str) -> None:
        """Hang up for everybody in the consultation."""
        room = self.rooms.get(consultation_id)
        if room is None:
            return
        for participant in room.participants():
            participant.send({"type": "ended"})
        for participant in room.participants():
            await self._close(room, participant, notify=False)

    async def leave(self, consultation_id: str, role: str) -> None:
        room = self.rooms.get(consultation_id)
        if room is None:
            return
        participant = room.citizen if role == "citizen" else room.clerk
        if participant is not None:
            await self._close(room, participant)

    async def _close(self, room: Room, participant: Participant, notify: bool = True) -> None:
        if participant.closed:
            return
        participant.closed = True
        if room.citizen is participant:
            room.citizen = None
            room.waiting_since = None
        if room.clerk is participant:
            room.clerk = None
        await self._release(participant)
        if room.participants():
            self._route(room)
            if notify:
                self._announce(room)
            return
        if self.rooms.get(room.consultation_id) is room:
            del self.rooms[room.consultation_id]
        if self.on_event is not None:
            await self.on_event(room.consultation_id, "ended")

    async def _close_check(self, participant: Participant) -> None:
        if participant.closed:
            return
        participant.closed = True
        self.checks.discard(participant)
        await self._release(participant)

    async def _release(self, participant: Participant) -> None:
        for source in (participant.video_in, participant.audio_in):
            if source is not None:
                source.stop()
        participant.video_out.stop()
        participant.audio_out.stop()
        try:
            await participant.pc.close()
        finally:
            self.peer_connections.discard(participant.pc)

    async def close_all(self) -> None:
        for consultation_id in list(self.rooms):
            await self.end(consultation_id)
        for participant in list(self.checks):
            await self._close_check(participant)

    # --- network loss ----------------------------------------------------------------
    def _ensure_watchdog(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while self.rooms or self.checks:
            await asyncio.sleep(2.0)
            now = time.monotonic()
            for room in list(self.rooms.values()):
                for participant in room.participants():
                    if self._gone(participant, now):
                        await self._close(room, participant)
            for participant in list(self.checks):
                if self._gone(participant, now) or now - participant.joined_at > CHECK_LIMIT:
                    await self._close_check(participant)

    @staticmethod
    def _gone(participant: Participant, now: float) -> bool:
        if participant.pc.connectionState != "connected":
            return now - participant.joined_at > CONNECT_LIMIT
        return now - participant.last_media() > IDLE_LIMIT
