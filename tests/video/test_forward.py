"""Relaying encoded VP8 frames: keyframe rules of the outgoing track, on real VP8 data."""

from __future__ import annotations

import asyncio
import queue
import re
import threading
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCRtpCodecParameters
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from av import VideoFrame
from PIL import Image

from servicepoint import auth
from tests.e2e.conftest import LiveServer
from tests.video.clients import GREEN, Participant
from tests.video.conftest import consultation, tokens
from video import api, forward, media
from video.tracks import IncomingSource, OutgoingVideo


def vp8_frames(count: int, colour: tuple[int, int, int]) -> list[Any]:
    """Real VP8 frames from libvpx: a keyframe, then delta frames."""
    encoder = av.CodecContext.create("libvpx", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = 160, 120, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    encoder.options = {"deadline": "realtime", "cpu-used": "8"}
    packets = []
    for index in range(count):
        frame = VideoFrame.from_image(Image.new("RGB", (160, 120), colour))  # type: ignore[no-untyped-call]
        frame.pts = index
        packets.extend(encoder.encode(frame.reformat(format="yuv420p")))
    packets.extend(encoder.encode(None))
    out = []
    for packet in packets[:count]:
        copy = av.Packet(bytes(packet))
        copy.is_keyframe = forward.is_vp8_keyframe(bytes(packet))
        out.append(copy)
    return out


class Silent(MediaStreamTrack):
    kind = "video"

    async def recv(self) -> Any:
        await asyncio.sleep(3600)


class FakeReceiver:
    _RTCRtpReceiver__rtx_ssrc: dict[int, int] = {}  # noqa: RUF012 (as aiortc's has it)

    def __init__(self) -> None:
        self.plis: list[int] = []

    def getSynchronizationSources(self) -> list[Any]:  # noqa: N802 (aiortc's name)
        return [type("Source", (), {"source": 1234})()]

    async def _send_rtcp_pli(self, ssrc: int) -> None:
        self.plis.append(ssrc)


class FakeSender:
    def __init__(self) -> None:
        self.keyframes = 0

    def _send_keyframe(self) -> None:
        self.keyframes += 1


def test_keyframe_flag_follows_the_vp8_frame_tag() -> None:
    frames = vp8_frames(4, (200, 30, 30))
    assert [forward.is_vp8_keyframe(bytes(p)) for p in frames] == [True, False, False, False]
    assert not forward.is_vp8_keyframe(b"")
    picture = forward.decode_still(frames)
    assert picture is not None
    assert (picture.width, picture.height) == (160, 120)
    red, green, blue = picture.to_image().getpixel((80, 60))  # type: ignore[no-untyped-call]
    assert red > 150
    assert green < 90
    assert blue < 90


def test_outgoing_video_passes_encoded_frames_only_as_an_unbroken_chain() -> None:
    key, *deltas = vp8_frames(20, (30, 190, 40))

    async def scenario() -> None:
        receiver, sender = FakeReceiver(), FakeSender()
        source = IncomingSource(Silent(), receiver)  # type: ignore[arg-type]
        source.encoded = True
        out = OutgoingVideo(media.paused_screen)
        out.attach(sender)  # type: ignore[arg-type]
        out.set_source(source)
        await asyncio.sleep(0)
        assert receiver.plis == [1234]  # a new source is asked for a keyframe at once

        # Delta frames before any keyframe are held back: the receiver sees a screen.
        out._buffer.put(deltas[0])
        assert isinstance(await out.recv(), VideoFrame)
        # A keyframe passes, and so do the deltas that follow it, restamped.
        out._buffer.put(key)
        first = await out.recv()
        assert first is key
        assert first.time_base == Fraction(1, 90_000)
        out._buffer.put(deltas[1])
        second = await out.recv()
        assert second is deltas[1]
        assert second.pts > first.pts

        # Frames pushed out unread break the chain: nothing passes until a keyframe.
        for delta in deltas[2:12]:
            out._buffer.put(delta)
        got = await out.recv()
        assert isinstance(got, VideoFrame), "a broken chain must not be forwarded"
        assert sender.keyframes == 1  # our own picture after relayed frames is a keyframe
        out._buffer.put(deltas[12])
        assert isinstance(await out.recv(), VideoFrame)
        out._buffer.put(key)
        assert await out.recv() is key

        # The receiver reports a lost picture: the request goes on to the source.
        source._asked_at = -1e9  # let the next request through at once
        asked = len(receiver.plis)
        sender._send_keyframe()  # what aiortc calls on an RTCP PLI from the receiver
        await asyncio.sleep(0)
        assert len(receiver.plis) == asked + 1
        assert sender.keyframes == 1  # our encoder was not involved
        out._buffer.put(deltas[13])  # ...and the chain waits for the new keyframe
        assert isinstance(await out.recv(), VideoFrame)
        out.stop()
        source.stop()

    asyncio.run(scenario())


def test_passing_worker_hands_on_packets_for_marked_tracks_only() -> None:
    frames = vp8_frames(3, (30, 30, 200))

    async def scenario() -> tuple[list[Any], list[Any]]:
        codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
        opus = RTCRtpCodecParameters(
            mimeType="audio/opus", clockRate=48_000, channels=2, payloadType=111
        )
        loop = asyncio.get_running_loop()
        results = []
        for mark in (True, False):
            track_queue: asyncio.Queue[Any] = asyncio.Queue()
            if mark:
                forward._marked.add(track_queue)
            tasks: queue.Queue[Any] = queue.Queue()
            for index, packet in enumerate(frames):
                tasks.put((codec, JitterFrame(bytes(packet), index * 3000)))
            if mark:
                tasks.put((opus, JitterFrame(forward.opus_silence(), 960)))
            tasks.put(None)
            worker = threading.Thread(
                target=forward._passing_worker,
                args=(loop, tasks, track_queue, threading.Event()),
            )
            worker.start()
            items = []
            while (item := await asyncio.wait_for(track_queue.get(), 10)) is not None:
                items.append(item)
            worker.join()
            results.append(items)
        return results[0], results[1]

    passed, decoded = asyncio.run(scenario())
    assert [type(p) for p in passed] == [av.Packet] * 4
    video, audio = passed[:3], passed[3]
    assert [p.is_keyframe for p in video] == [True, False, False]
    assert [p.pts for p in video] == [0, 3000, 6000]
    assert {p.time_base for p in video} == {Fraction(1, 90_000)}
    assert [bytes(p) for p in video] == [bytes(f) for f in frames]
    assert bytes(audio) == forward.opus_silence()
    assert (audio.pts, audio.time_base) == (960, Fraction(1, 48_000))
    assert decoded
    assert all(isinstance(f, VideoFrame) for f in decoded)


@pytest.mark.parametrize("kind", ["audio", "video"])
def test_only_remote_tracks_can_be_marked(kind: str) -> None:
    async def mark() -> bool:  # a remote track's queue belongs to a running loop
        return forward.forward_encoded(RemoteStreamTrack(kind))

    assert asyncio.run(mark())
    assert forward.forward_encoded(Silent()) is False  # not a remote track


@pytest.mark.parametrize(("milliseconds", "samples"), [(10, 480), (20, 960), (60, 2880)])
def test_opus_duration_from_the_toc_byte(milliseconds: int, samples: int) -> None:
    encoder = av.CodecContext.create("libopus", "w")
    assert isinstance(encoder, av.AudioCodecContext)
    encoder.sample_rate, encoder.format, encoder.layout = 48_000, "s16", "stereo"
    encoder.options = {"frame_duration": str(milliseconds)}
    packets = []
    for index in range(6):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=samples)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts = 48_000, index * samples
        packets.extend(encoder.encode(frame))
    assert packets
    assert {forward.opus_samples(bytes(p)) for p in packets} == {samples}
    # Code 1/2 (two frames) and code 3 (frame count in the second byte), 20 ms CELT frames:
    assert forward.opus_samples(bytes([31 << 3 | 1, 0])) == 1920
    assert forward.opus_samples(bytes([31 << 3 | 3, 3])) == 2880
    assert forward.opus_samples(b"") == 0


def test_pre_encoded_silence_decodes_to_20_ms_of_silence() -> None:
    decoder = av.CodecContext.create("libopus", "r")
    assert isinstance(decoder, av.AudioCodecContext)
    decoder.sample_rate, decoder.layout = 48_000, "stereo"
    silence = forward.opus_silence()
    assert forward.opus_samples(silence) == 960
    frames = [f for _ in range(3) for f in decoder.decode(av.Packet(silence))]
    assert sum(f.samples for f in frames) == 3 * 960
    peak = max(float(np.abs(f.to_ndarray()).max()) for f in frames)
    assert peak < 0.001


def test_keyframe_requests_name_the_media_stream_not_its_retransmissions() -> None:
    class BrowserReceiver(FakeReceiver):
        # A browser's RTX stream (retransmissions, bandwidth probes) as the latest source.
        _RTCRtpReceiver__rtx_ssrc = {999: 1234}  # noqa: RUF012

        def getSynchronizationSources(self) -> list[Any]:  # noqa: N802 (aiortc's name)
            return [type("Source", (), {"source": 999})()]

    assert forward.media_ssrc(BrowserReceiver()) == 1234  # type: ignore[arg-type]
    assert forward.media_ssrc(FakeReceiver()) == 1234  # type: ignore[arg-type]


def test_a_receiver_without_aiortcs_rtx_map_is_an_error_not_a_guess() -> None:
    class Renamed:  # an aiortc version that keeps the map elsewhere
        def getSynchronizationSources(self) -> list[Any]:  # noqa: N802 (aiortc's name)
            return [type("Source", (), {"source": 999})()]

    with pytest.raises(RuntimeError, match=forward.RTX_SSRC_ATTRIBUTE):
        forward.media_ssrc(Renamed())  # type: ignore[arg-type]


def _fid_group(sdp: str) -> tuple[int, int]:
    """(media SSRC, RTX SSRC) of the video section of an SDP (``a=ssrc-group:FID``)."""
    video = sdp.split("m=video", 1)[1].split("\nm=", 1)[0]
    found = re.search(r"a=ssrc-group:FID (\d+) (\d+)", video)
    assert found, video
    return int(found.group(1)), int(found.group(2))


def test_a_real_receiver_maps_the_rtx_ssrc_to_the_media_ssrc(
    video_server: LiveServer, clerk: auth.User
) -> None:
    """aiortc's private RTX map, read by media_ssrc, on the relay's receiver of a real call
    in which the participant's offer negotiated RTX (as browsers' offers do)."""
    citizen_token = tokens(consultation(clerk))[0]

    async def scenario() -> tuple[dict[int, int], int | None, tuple[int, int], str]:
        person = Participant(video_server.url, GREEN, analyse=False)
        await person.join(citizen_token)
        try:
            assert await person.wait_for(lambda: person.frames > 0, 10)
            offer = person.pc.localDescription.sdp
            media, rtx = _fid_group(offer)
            (relay_pc,) = [
                pc
                for pc in api.manager().peer_connections
                if pc.remoteDescription is not None
                and f"a=ssrc:{media} " in pc.remoteDescription.sdp
            ]
            (receiver,) = [t.receiver for t in relay_pc.getTransceivers() if t.kind == "video"]
            assert await person.wait_for(lambda: bool(receiver.getSynchronizationSources()), 10)
            named = forward.media_ssrc(receiver)
            repairs = getattr(receiver, forward.RTX_SSRC_ATTRIBUTE)
            return repairs, named, (media, rtx), relay_pc.localDescription.sdp
        finally:
            await person.close()

    repairs, named, (media, rtx), answer = asyncio.run(scenario())
    assert "rtx/90000" in answer.split("m=video", 1)[1].split("\nm=", 1)[0]  # RTX negotiated
    assert repairs == {rtx: media}
    assert named == media


def test_decoded_sources_pass_every_picture_without_waiting_for_keyframes() -> None:
    """The fallback (SERVICEPOINT_VIDEO_FORWARD_ENCODED=false): pictures, encoded here."""

    async def scenario() -> None:
        sender = FakeSender()
        source = IncomingSource(Silent(), FakeReceiver(), encoded=False)  # type: ignore[arg-type]
        assert not source.encoded
        out = OutgoingVideo(media.paused_screen)
        out.attach(sender)  # type: ignore[arg-type]
        out.set_source(source)
        pictures = [VideoFrame(width=64, height=48) for _ in range(3)]
        stamps: list[int] = []
        for picture in pictures:
            out._buffer.put(picture)
            got = await out.recv()
            assert got is picture
            assert got.pts is not None
            stamps.append(got.pts)
        assert stamps == sorted(set(stamps))
        assert source.keyframe_requests == 0
        assert sender.keyframes == 0
        out.stop()
        source.stop()

    asyncio.run(scenario())
