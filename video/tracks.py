"""The media tracks of a relayed call: what comes in from a participant, what goes out to
one, and the still pictures taken from it (the calls themselves: :mod:`video.relay`).

Rules that keep a relayed call healthy (see docs/architecture.md):

* every incoming track is drained all the time by an :class:`IncomingSource`; frames
  nobody forwards are dropped, so forwarding never starts seconds behind;
* video and audio are relayed as the encoded VP8 frames and Opus packets they arrive
  as, without decoding and re-encoding (:mod:`video.forward`): a receiver gets a video
  source from a keyframe on, a gap in the forwarded frames is healed by asking the
  source for a new keyframe, and the relay's own encoder sends a keyframe whenever it
  takes over again (status screens; a pre-encoded tutorial starts with its own);
* each outgoing track owns a small bounded buffer (the latest frames) and stamps every
  frame with its own continuous clock, whatever the source (waiting screen, the other
  participant's camera, a tutorial file) — a receiver never sees time jump back;
* a source that stalls is replaced by a status screen after half a second, never by its
  last (stale) frame.

Nothing is recorded: frames live in memory only as long as they are forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from aiortc import (
    MediaStreamTrack,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, Packet, VideoFrame
from av.frame import Frame

from video import forward, media

VIDEO_CLOCK = 90_000
STALE_AFTER = 0.5  # seconds without a fresh frame before a status screen is sent
KEYFRAME_RETRY = 1.0  # seconds before a keyframe request to a source is repeated
GOP_LIMIT = 300  # encoded frames kept for a still capture before a new keyframe is asked

Media = Frame | forward.EncodedFrame
_M = TypeVar("_M", Frame, forward.EncodedFrame)


class NotInCall(Exception):
    """The consultation has no such participant connected."""


class FrameBuffer:
    """The latest frames for one outgoing track, bounded so latency stays bounded.

    ``dropped`` counts frames pushed out unread: for encoded video that breaks the
    chain of frames, and the reader waits for the next keyframe."""

    def __init__(self, maxlen: int) -> None:
        self._frames: deque[Media] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, frame: Media) -> None:
        if len(self._frames) == self._frames.maxlen:
            self.dropped += 1
        self._frames.append(frame)
        self._ready.set()

    def clear(self) -> None:
        self._frames.clear()
        self._ready.clear()

    async def get(self, timeout: float) -> Media | None:
        if not self._frames:
            self._ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), max(timeout, 0.0))
        return self._frames.popleft() if self._frames else None


class IncomingSource:
    """Drains one incoming track for as long as it lives and fans frames out.

    A video source marked for forwarding yields encoded frames (``av.Packet``); it keeps
    the frames since the last keyframe so that a still picture can be decoded on demand.
    """

    def __init__(
        self,
        track: MediaStreamTrack,
        receiver: RTCRtpReceiver | None = None,
        *,
        encoded: bool = False,
    ) -> None:
        self.track = track
        self.receiver = receiver
        self.encoded = encoded and forward.forward_encoded(track)
        self.subscribers: set[FrameBuffer] = set()
        self.latest: Media | None = None
        self.since_keyframe: list[forward.EncodedFrame] = []
        self.last_at = time.monotonic()
        self.frames = 0
        self.keyframe_requests = 0
        self._asked_at = -math.inf
        self._task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, Packet):
                if self.track.kind == "video":
                    self._keep(frame)
            elif not isinstance(frame, Frame):
                continue
            self.latest = frame
            self.last_at = time.monotonic()
            self.frames += 1
            for buffer in self.subscribers:
                buffer.put(frame)

    def _keep(self, packet: forward.EncodedFrame) -> None:
        if packet.is_keyframe:
            self.since_keyframe = [packet]
        elif self.since_keyframe:
            self.since_keyframe.append(packet)
            if len(self.since_keyframe) > GOP_LIMIT:
                self.since_keyframe = []
                self.request_keyframe()

    def request_keyframe(self) -> None:
        """Ask the sender for a keyframe (RTCP PLI), at most once per KEYFRAME_RETRY."""
        now = time.monotonic()
        if self.receiver is None or now - self._asked_at < KEYFRAME_RETRY:
            return
        ssrc = forward.media_ssrc(self.receiver)
        if ssrc is None:
            return
        self._asked_at = now
        self.keyframe_requests += 1
        asyncio.ensure_future(self.receiver._send_rtcp_pli(ssrc))

    def still(self) -> Still | None:
        """What a still capture is made of: the frames since the last keyframe, or the
        latest decoded picture; None before there is a picture."""
        if self.encoded:
            return Still(None, tuple(self.since_keyframe)) if self.since_keyframe else None
        return Still(self.latest) if isinstance(self.latest, VideoFrame) else None

    def stop(self) -> None:
        self._task.cancel()
        self.subscribers.clear()
        self.latest = None
        self.since_keyframe = []


def _resubscribe(
    buffer: FrameBuffer, old: IncomingSource | None, new: IncomingSource | None
) -> None:
    """Stop feeding ``buffer`` from ``old``, empty it, and feed it from ``new`` on."""
    if old is not None:
        old.subscribers.discard(buffer)
    buffer.clear()
    if new is not None:
        new.subscribers.add(buffer)


class _Restamper:
    """One continuous clock per outgoing track, whatever the source."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.time_base = Fraction(1, rate)
        self._start: float | None = None
        self._last = -1

    def stamp(self, frame: _M) -> _M:
        now = time.monotonic()
        if self._start is None:
            self._start = now
        pts = max(int((now - self._start) * self.rate), self._last + 1)
        self._last = pts
        frame.pts = pts
        frame.time_base = self.time_base
        return frame


class OutgoingVideo(MediaStreamTrack):
    """The video one participant receives: a relayed source, a file or a screen.

    A relayed source arrives encoded and goes out as it is, from a keyframe on; files
    and screens are pictures that the sender encodes."""

    kind = "video"

    def __init__(self, screen: Callable[[], VideoFrame]) -> None:
        super().__init__()
        self.screen = screen
        self._buffer = FrameBuffer(8)
        self._source: IncomingSource | None = None
        self._player: MediaPlayer | None = None
        self._clock = _Restamper(VIDEO_CLOCK)
        self._next_screen = 0.0
        self._need_keyframe = True
        self._dropped = 0
        self._last_sent_encoded = False
        self._force_own_keyframe: Callable[[], None] | None = None
        self.on_player_end: Callable[[], None] | None = None
        self.sent_encoded = 0  # frames that went out as they came (relayed, tutorials)
        self.sent_pictures = 0  # pictures the sender had to encode (screens, fallback)

    def attach(self, sender: RTCRtpSender) -> None:
        """Take over the sender's keyframe requests: the receiver lost a picture."""
        self._force_own_keyframe = sender._send_keyframe

        def on_picture_loss() -> None:
            if not self._last_sent_encoded:
                if self._force_own_keyframe is not None:
                    self._force_own_keyframe()
            elif self._player is None and self._source is not None:
                self._need_keyframe = True
                self._source.request_keyframe()
            # A pre-encoded tutorial cannot make a keyframe: its next one is < 1 s away.

        sender._send_keyframe = on_picture_loss  # type: ignore[method-assign]

    @property
    def source(self) -> IncomingSource | None:
        return self._source

    def set_source(self, source: IncomingSource | None) -> None:
        if source is self._source:
            return
        _resubscribe(self._buffer, self._source, source)
        self._source = source
        self._need_keyframe = True
        if source is not None and source.encoded:
            source.request_keyframe()

    def play(self, player: MediaPlayer) -> None:
        self.stop_player()
        self._player = player

    @property
    def playing(self) -> bool:
        return self._player is not None

    def stop_player(self) -> None:
        player, self._player = self._player, None
        self._need_keyframe = True
        if player is not None and player.video is not None:
            player.video.stop()

    async def recv(self) -> Media:
        if self.readyState != "live":
            raise MediaStreamError
        if self._player is not None and self._player.video is not None:
            try:
                played = await self._player.video.recv()
                if isinstance(played, Packet):
                    return self._played(played)
                if isinstance(played, Frame):
                    return self._picture(played)
            except MediaStreamError:
                self.stop_player()
                if self.on_player_end is not None:
                    self.on_player_end()
        if self._source is not None:
            frame = await self._relayed()
            if isinstance(frame, Packet):
                return self._encoded(frame)
            if frame is not None:
                return self._picture(frame)
        return self._picture(await self._paced_screen())

    async def _relayed(self) -> Media | None:
        """The next frame of the source, or None when it has none to show now.

        Encoded frames pass only as an unbroken chain from a keyframe: after a switch,
        a frame dropped here, or a picture of the relay's own, they wait for the next
        keyframe (asked for from the source) while screens fill the time. No wait is
        longer than STALE_AFTER, or 0.1 s while a keyframe is awaited."""
        assert self._source is not None
        source = self._source
        patience = 0.1 if self._need_keyframe and source.encoded else STALE_AFTER
        deadline = time.monotonic() + patience
        while True:
            frame = await self._buffer.get(deadline - time.monotonic())
            if not isinstance(frame, Packet):
                return frame
            if self._buffer.dropped != self._dropped:
                self._dropped = self._buffer.dropped
                self._need_keyframe = True
            if frame.is_keyframe:
                self._need_keyframe = False
            if not self._need_keyframe:
                return frame
            source.request_keyframe()
            if time.monotonic() >= deadline:
                return None

    def _played(self, packet: forward.EncodedFrame) -> Media:
        """A frame of a pre-encoded tutorial (VP8 WebM, a keyframe every second).

        The file starts with a keyframe; should playback start elsewhere, the frames
        before the next keyframe are replaced by a screen."""
        if self._need_keyframe and not forward.is_vp8_keyframe(bytes(packet)):
            return self._picture(self.screen())
        return self._encoded(packet)

    def _encoded(self, packet: forward.EncodedFrame) -> forward.EncodedFrame:
        """A frame that goes out as it came, continuing an unbroken chain."""
        self._need_keyframe = False
        self._last_sent_encoded = True
        self.sent_encoded += 1
        return self._clock.stamp(packet)

    def _picture(self, frame: Frame) -> Frame:
        """A picture the sender encodes; the first after relayed frames is a keyframe."""
        if self._last_sent_encoded and self._force_own_keyframe is not None:
            self._force_own_keyframe()
        self._last_sent_encoded = False
        self.sent_pictures += 1
        self._need_keyframe = True  # the receiver's reference is now a picture of ours
        return self._clock.stamp(frame)

    async def _paced_screen(self) -> VideoFrame:
        # Screens go out at 10 fps: enough for text, cheap to encode.
        now = time.monotonic()
        if self._next_screen > now:
            await asyncio.sleep(self._next_screen - now)
        self._next_screen = max(now, self._next_screen) + 0.1
        return self.screen()

    def stop(self) -> None:
        self.set_source(None)
        self.stop_player()
        super().stop()


class OutgoingAudio(MediaStreamTrack):
    """The audio one participant receives: the other side's microphone or silence.

    With ``encoded`` the microphone arrives as Opus packets and goes out as it is, and
    silence is a pre-encoded packet: the relay then never encodes audio."""

    kind = "audio"

    def __init__(self, *, encoded: bool = False) -> None:
        super().__init__()
        self._buffer = FrameBuffer(5)
        self._source: IncomingSource | None = None
        self._silence = forward.opus_silence() if encoded else None
        self._samples = 0
        self._t0: float | None = None

    def set_source(self, source: IncomingSource | None) -> None:
        if source is self._source:
            return
        _resubscribe(self._buffer, self._source, source)
        self._source = source

    async def recv(self) -> Media:
        if self.readyState != "live":
            raise MediaStreamError
        got = await self._buffer.get(0.1) if self._source is not None else None
        if isinstance(got, Packet):
            return self._stamp(got, forward.opus_samples(bytes(got)) or media.AUDIO_SAMPLES)
        if isinstance(got, AudioFrame):
            return self._stamp(got, got.samples)
        await self._pace()
        if self._silence is not None:
            return self._stamp(Packet(self._silence), media.AUDIO_SAMPLES)
        return self._stamp(media.silence(), media.AUDIO_SAMPLES)

    def _stamp(self, item: Media, samples: int) -> Media:
        """Time stamps by the samples sent so far: one continuous 48 kHz clock."""
        item.pts = self._samples
        item.time_base = Fraction(1, media.SAMPLE_RATE)
        self._samples += samples
        return item

    async def _pace(self) -> None:
        now = time.monotonic()
        if self._t0 is None or abs(self._t0 + self._samples / media.SAMPLE_RATE - now) > 0.2:
            self._t0 = now - self._samples / media.SAMPLE_RATE
        delay = self._t0 + self._samples / media.SAMPLE_RATE - now
        if delay > 0:
            await asyncio.sleep(delay)

    def stop(self) -> None:
        self.set_source(None)
        super().stop()


@dataclass(frozen=True)
class Still:
    """A still picture taken in a call: decoded already, or the encoded frames from a
    keyframe on. Turned into JPEG off the event loop."""

    picture: VideoFrame | None
    encoded: tuple[forward.EncodedFrame, ...] = ()

    def jpeg(self) -> bytes:
        picture = self.picture or forward.decode_still(list(self.encoded))
        if picture is None:
            raise NotInCall()
        buffer = io.BytesIO()
        picture.to_image().save(  # type: ignore[no-untyped-call]
            buffer, format="JPEG", quality=92
        )
        return buffer.getvalue()
