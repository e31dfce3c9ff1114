"""Relaying VP8 video and Opus audio without decoding and re-encoding them.

aiortc decodes every frame it receives, and a relay then encodes it again for the other
side: per direction and video frame about a millisecond of decoding and several of VP8
encoding, per 20 ms of audio an Opus decode, an Opus encode and a pure-Python level
computation over every sample, all in the one process that serves every call. A 1:1
consultation needs none of that: the citizen's encoded frames can go to the clerk as
they are.

aiortc's sender already sends pre-encoded packets (anything that is not a decoded
``Frame`` is packetised as it is). On the receiving side this module gives a track
encoded frames instead of decoded ones: :func:`forward_encoded` marks a remote track
before its receiver starts, and the receiver's decoder thread, started through
:func:`install`, then hands on each complete VP8 frame or Opus packet as an
``av.Packet`` (time stamps of the RTP clock; ``is_keyframe`` from the VP8 frame tag)
instead of decoding it. Tracks not marked, among them every track of a test or
benchmark client in the same process, are decoded as before.

What a relay of encoded frames must do that a relay of pictures need not (handled in
:mod:`video.relay`): start forwarding a source only at a keyframe and ask the source for
one (RTCP PLI) when it switches; never drop a single frame in the middle, because every
later frame refers to it, but wait for the next keyframe instead; pass a receiver's own
keyframe request on to the source; force a keyframe from its own encoder when it goes
back to pictures it draws itself (waiting screen, tutorial).
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
import weakref
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeAlias

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver, rtcrtpreceiver

from video import media

if TYPE_CHECKING:
    EncodedFrame: TypeAlias = av.Packet[Any]
else:  # av.Packet is generic for type checkers only
    EncodedFrame = av.Packet

VIDEO_TIME_BASE = Fraction(1, 90_000)
AUDIO_TIME_BASE = Fraction(1, media.SAMPLE_RATE)
_OPUS_FRAME_MS = (10, 20, 40, 60) * 3 + (10, 20) * 2 + (2.5, 5, 10, 20) * 4

# Where aiortc's RTCRtpReceiver keeps {RTX SSRC: media SSRC} (a private, name-mangled
# attribute set from the negotiated encodings in ``receive``).
RTX_SSRC_ATTRIBUTE = "_RTCRtpReceiver__rtx_ssrc"

_marked: weakref.WeakSet[asyncio.Queue[Any]] = weakref.WeakSet()
_decoding_worker = rtcrtpreceiver.decoder_worker


def is_vp8_keyframe(data: bytes) -> bool:
    """Whether a VP8 frame is a key frame: bit 0 of its frame tag is 0 (RFC 6386 9.1)."""
    return bool(data) and not data[0] & 0x01


def opus_samples(data: bytes) -> int:
    """Duration of an Opus packet in 48 kHz samples, from its TOC byte (RFC 6716 3.1)."""
    if not data:
        return 0
    toc = data[0]
    per_frame = _OPUS_FRAME_MS[toc >> 3] * 48
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = data[1] & 0x3F if len(data) > 1 else 0
    return int(per_frame * frames)


def media_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC of the media a receiver gets, for an RTCP keyframe request.

    The receiver's synchronisation sources include a browser's retransmission stream
    (RTX, also used for bandwidth probes); a PLI naming that SSRC is ignored, so RTX
    SSRCs are mapped to the media SSRC they repair. aiortc keeps that map private: if a
    version no longer has it where we read it, raise rather than guess, since a guess
    would ask the retransmission stream for keyframes and the picture would never
    recover (tests/video/test_forward.py checks it on a real receiver)."""
    try:
        repairs: dict[int, int] = getattr(receiver, RTX_SSRC_ATTRIBUTE)
    except AttributeError:
        raise RuntimeError(
            f"aiortc's RTCRtpReceiver has no {RTX_SSRC_ATTRIBUTE} (its RTX to media SSRC "
            "map): video.forward.media_ssrc must be adapted to this aiortc version"
        ) from None
    for source in receiver.getSynchronizationSources():
        return repairs.get(source.source, source.source)
    return None


def forward_encoded(track: MediaStreamTrack) -> bool:
    """Have a remote track deliver encoded VP8 frames or Opus packets (``av.Packet``).

    Must be called before the track's receiver starts, i.e. from the peer connection's
    ``track`` event. Returns False for a track that is not a remote one."""
    track_queue = getattr(track, "_queue", None)
    if not isinstance(track_queue, asyncio.Queue):
        return False
    _marked.add(track_queue)
    return True


def _passing_worker(
    loop: asyncio.AbstractEventLoop,
    input_q: queue.Queue[Any],
    output_q: asyncio.Queue[Any],
    *more: threading.Event,
) -> None:
    """The receiver's decoder thread: encoded frames for marked tracks, else decoding.

    ``more`` is what else aiortc passes its decoder thread (its decode-error flag)."""
    if output_q not in _marked:
        _decoding_worker(loop, input_q, output_q, *more)
        return
    while True:
        task = input_q.get()
        if task is None:
            asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
            return
        codec, encoded = task
        packet = av.Packet(encoded.data)
        packet.pts = encoded.timestamp
        if codec.name == "VP8":
            packet.time_base = VIDEO_TIME_BASE
            packet.is_keyframe = is_vp8_keyframe(encoded.data)
        elif codec.name == "opus":
            packet.time_base = AUDIO_TIME_BASE
        else:
            continue  # only VP8 and Opus are negotiated (relay._prefer_codecs)
        asyncio.run_coroutine_threadsafe(output_q.put(packet), loop)


def install() -> None:
    """Route aiortc's receiver threads through :func:`_passing_worker` (idempotent)."""
    rtcrtpreceiver.decoder_worker = _passing_worker  # type: ignore[assignment]


def decode_still(packets: list[EncodedFrame]) -> av.VideoFrame | None:
    """The last picture of a run of VP8 frames that starts with a keyframe."""
    decoder = av.CodecContext.create("vp8", "r")
    picture = None
    for packet in packets:
        for frame in decoder.decode(av.Packet(bytes(packet))):
            if isinstance(frame, av.VideoFrame):
                picture = frame
    return picture


@functools.cache
def opus_silence() -> bytes:
    """One encoded 20 ms of stereo silence, to be sent again and again (Opus packets
    stand alone), so that the relay never encodes audio itself."""
    encoder = av.CodecContext.create("libopus", "w")
    assert isinstance(encoder, av.AudioCodecContext)
    encoder.sample_rate, encoder.format, encoder.layout = media.SAMPLE_RATE, "s16", "stereo"
    encoder.options = {"application": "voip"}
    packets = []
    for index in range(5):
        frame = media.silence()
        frame.pts = index * media.AUDIO_SAMPLES
        packets.extend(encoder.encode(frame))
    return bytes(packets[-1])
