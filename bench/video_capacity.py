"""Capacity of the aiortc relay: concurrent 1:1 consultations at 640×480, 30 fps, VP8
both ways, with Opus audio.

The web app runs in its own process (uvicorn). The citizens and clerks are aiortc clients
built to cost as little as possible, so that the figure describes the server:

* they do not encode: one VP8 + Opus file is rendered once (24 s, keyframe every second,
  kept under $TMPDIR/servicepoint-video-bench for later runs) and its packets are sent as
  they are, looped on one continuous clock;
* every video frame carries its loop index (and a fixed signature) as black/white luma
  blocks in its top row; a receiver finds the index, looks up when the other side sent
  that frame and so measures glass-to-glass latency per frame (sender and receiver of a
  stream live in one process and share one clock);
* the relay forwards the VP8 frames it receives bit for bit, so a receiver knows the
  index of a frame from its exact bytes without decoding it (a frame with any other bytes
  counts as unnumbered); one receiver per client process also decodes every frame and
  checks that the index drawn into the picture is the one its bytes said
  (``decode_mismatches`` must be 0). With ``--decode`` the relay re-encodes, the bytes
  change, and every receiver decodes and reads the luma blocks;
* the pairs are spread over ``--client-procs`` worker processes (default: 2), each with
  its own event loop, reporting over a pipe.

Reports per N: the lowest and the mean receive fps of any stream, latency p50/p95,
join time (offer posted → first frame) p50/p95, the share of received frames that carried
no bench number (status screens: a source stalled), and the CPU seconds used during the
measured window by the server, by the client processes and by everything else on the
machine, plus the load average.

    python bench/video_capacity.py --calls 1 2 3 4 --seconds 10
    python bench/video_capacity.py --leak 200     # join/leave cycles: memory and fds flat
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

import av
import httpx
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from av.packet import Packet

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from video import forward  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from video_bench_media import (  # noqa: E402
    AUDIO_RATE,
    AUDIO_STEP,
    FPS,
    HEIGHT,
    LOOP_SECONDS,
    SCENES,
    VIDEO_BITRATE,
    VIDEO_CLOCK,
    WIDTH,
    LoopedPackets,
    Media,
    frame_index,
    load_media,
    media_file,
)

SETTLE = 3.0  # seconds after the last admission before measuring
JOIN_TIMEOUT = 10.0


# --- clients ---------------------------------------------------------------------------------
def _codecs(kind: str, names: tuple[str, ...]) -> list[Any]:
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType in names]


class BenchPeer:
    """A citizen or clerk that sends the rendered packets and reads the numbers it receives.

    With ``by_bytes`` the received video arrives encoded (the relay forwards the sender's
    frames as they are) and its index is looked up from the frame's bytes; ``verify``
    decodes every frame as well and counts frames whose picture shows another index."""

    def __init__(
        self, base_url: str, media: Media, *, by_bytes: bool = False, verify: bool = False
    ) -> None:
        self.by_bytes = by_bytes
        self.index_of = {data: index for index, data in enumerate(media.video)}
        self.verifier = av.CodecContext.create("vp8", "r") if verify and by_bytes else None
        self.verified = 0
        self.mismatches = 0
        self.base_url = base_url
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.video = LoopedPackets("video", media.video, VIDEO_CLOCK, VIDEO_CLOCK // FPS)
        self.audio = LoopedPackets("audio", media.audio, AUDIO_RATE, AUDIO_STEP)
        self.pc.addTrack(self.audio)
        self.pc.addTrack(self.video)
        for transceiver in self.pc.getTransceivers():  # the packets are VP8 and Opus
            if transceiver.kind == "video":
                transceiver.setCodecPreferences(_codecs("video", ("video/VP8", "video/rtx")))
            else:
                transceiver.setCodecPreferences(_codecs("audio", ("audio/opus",)))
        self.pc.createDataChannel("chat")
        self.peer: LoopedPackets | None = None  # the video whose numbers we receive
        self.frames = 0
        self.unnumbered = 0
        self.first_frame_at: float | None = None
        self.latencies: list[float] = []
        self._tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if self.by_bytes:
                forward.forward_encoded(track)
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

    def _index(self, frame: Any) -> int | None:
        if isinstance(frame, VideoFrame):
            return frame_index(frame)
        index = self.index_of.get(bytes(frame))
        if self.verifier is not None:
            for picture in self.verifier.decode(Packet(bytes(frame))):
                assert isinstance(picture, VideoFrame)
                self.verified += 1
                if frame_index(picture) != index:
                    self.mismatches += 1
        return index

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:  # drain audio too, or aiortc's queue grows
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind != "video":
                continue
            now = time.monotonic()
            self.frames += 1
            if self.first_frame_at is None:
                self.first_frame_at = now
            index = self._index(frame)
            sent = None
            if index is not None and self.peer is not None:
                sent = self.peer.sent_at.get(index)
            if sent is None or sent > now:
                self.unnumbered += 1
            else:
                self.latencies.append(now - sent)

    async def join(self, token: str) -> float:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            body = {"token": token, "sdp": self.pc.localDescription.sdp, "type": "offer"}
            response = await client.post("/api/v1/video/offer", json=body)
        response.raise_for_status()
        answer = response.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return started

    async def first_frame(self, started: float) -> float | None:
        """Seconds from ``started`` to the first frame received, None after the timeout."""
        deadline = time.monotonic() + JOIN_TIMEOUT
        while self.first_frame_at is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return None if self.first_frame_at is None else self.first_frame_at - started

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


@dataclass
class Window:
    frames: int
    unnumbered: int


async def _open_call(
    url: str,
    media: Media,
    call: list[str],
    joins: list[float | None],
    *,
    by_bytes: bool,
    verify: bool,
) -> list[BenchPeer]:
    consultation_id, citizen_token, clerk_token = call
    citizen = BenchPeer(url, media, by_bytes=by_bytes, verify=verify)
    clerk = BenchPeer(url, media, by_bytes=by_bytes)
    citizen.peer, clerk.peer = clerk.video, citizen.video
    joins.append(await clerk.first_frame(await clerk.join(clerk_token)))
    joins.append(await citizen.first_frame(await citizen.join(citizen_token)))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        response = await client.post(
            f"/api/v1/consultations/{consultation_id}/admit", json={"token": clerk_token}
        )
    response.raise_for_status()
    return [citizen, clerk]


async def _worker(conn: Connection, job: dict[str, Any]) -> None:
    media = load_media(Path(job["media"]))
    people: list[BenchPeer] = []
    joins: list[float | None] = []
    try:
        by_bytes = not job["decode"]
        if by_bytes:
            forward.install()  # receivers of marked tracks hand on encoded frames
        for number, call in enumerate(job["calls"]):
            people += await _open_call(
                job["url"], media, call, joins, by_bytes=by_bytes, verify=number == 0
            )
        await asyncio.sleep(SETTLE)
        conn.send(("ready", {"joins": joins}))
        assert await asyncio.to_thread(conn.recv) == "start"
        started = time.monotonic()
        before = [Window(p.frames, p.unnumbered) for p in people]
        for person in people:
            person.latencies.clear()
        assert await asyncio.to_thread(conn.recv) == "stop"
        elapsed = time.monotonic() - started
        streams = [
            {
                "fps": (p.frames - b.frames) / elapsed,
                "frames": p.frames - b.frames,
                "unnumbered": p.unnumbered - b.unnumbered,
                "latencies": list(p.latencies),
                "verified": p.verified,
                "mismatches": p.mismatches,
            }
            for p, b in zip(people, before, strict=True)
        ]
        conn.send(("result", {"streams": streams}))
    except Exception:
        conn.send(("error", traceback.format_exc()))
    finally:
        for person in people:
            await person.close()


def worker_main(conn: Connection, job: dict[str, Any]) -> None:
    """Entry point of a client process: its share of the calls on its own event loop."""
    asyncio.run(_worker(conn, job))
    conn.close()


# --- the server and its database -------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, max_calls: int, *, decode: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SERVICEPOINT_MAX_CALLS_PER_PROCESS": str(max_calls),
        "SERVICEPOINT_VIDEO_FORWARD_ENCODED": "false" if decode else "true",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "servicepoint.asgi:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=REPO,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("server did not start")


def prepare_database() -> int:
    """Migrate the bench database and create the clerk who starts every consultation."""
    from servicepoint import auth, db  # the client processes do not need the app
    from servicepoint.settings import get_settings

    settings = get_settings()
    settings.ensure_dirs()
    db.upgrade(settings.effective_database_url)
    with db.session_scope() as session:
        clerk_id = auth.create_user(session, "bench-clerk", "bench-bench-bench").id
    assert clerk_id is not None
    return clerk_id


def new_consultation(clerk_id: int) -> list[str]:
    """[consultation id, citizen token, clerk token] of a consultation starting now."""
    from servicepoint import auth, db
    from video import service

    with db.session_scope() as session:
        user = session.get(auth.User, clerk_id)
        assert user is not None
        item = service.start_now(
            session, user, service.StartNow("Bench", "bench@example.org", "Benchmark")
        )
        return [
            item.id,
            service.join_token(item, service.Role.CITIZEN),
            service.join_token(item, service.Role.CLERK),
        ]


# --- measuring -------------------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_cpu_seconds() -> float:
    """CPU time all cores spent busy (not idle, not waiting for I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICK


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _expect(conn: Connection, kind: str, timeout: float) -> dict[str, Any]:
    if not conn.poll(timeout):
        raise RuntimeError(f"a client process sent no {kind!r} within {timeout:.0f} s")
    got, payload = conn.recv()
    if got == "error":
        raise RuntimeError(f"a client process failed:\n{payload}")
    assert got == kind, got
    return dict(payload)


def run_calls(
    url: str,
    clerk_id: int,
    n: int,
    seconds: float,
    procs: int,
    media: Path,
    server: int,
    *,
    decode: bool,
) -> dict[str, float]:
    calls = [new_consultation(clerk_id) for _ in range(n)]
    procs = max(1, min(procs, n))
    context = multiprocessing.get_context("spawn")
    workers: list[tuple[SpawnProcess, Connection]] = []
    for k in range(procs):
        here, there = context.Pipe()
        job = {"url": url, "media": str(media), "calls": calls[k::procs], "decode": decode}
        process = context.Process(target=worker_main, args=(there, job), daemon=True)
        process.start()
        there.close()
        workers.append((process, here))
    try:
        joins: list[float | None] = []
        for _, conn in workers:
            joins += _expect(conn, "ready", 30 + 2 * JOIN_TIMEOUT * n)["joins"]
        pids = [process.pid for process, _ in workers if process.pid is not None]
        server_0, clients_0 = cpu_seconds(server), sum(map(cpu_seconds, pids))
        machine_0 = machine_cpu_seconds()
        for _, conn in workers:
            conn.send("start")
        time.sleep(seconds)
        server_cpu = cpu_seconds(server) - server_0
        clients_cpu = sum(map(cpu_seconds, pids)) - clients_0
        machine_cpu = machine_cpu_seconds() - machine_0
        load1 = os.getloadavg()[0]
        for _, conn in workers:
            conn.send("stop")
        streams: list[dict[str, Any]] = []
        for _, conn in workers:
            streams += _expect(conn, "result", 30)["streams"]
    finally:
        for process, conn in workers:
            process.join(20)
            if process.is_alive():
                process.terminate()
            conn.close()
    time.sleep(2)  # the server tears the calls down before the next N
    fps = [s["fps"] for s in streams]
    latencies = [v for s in streams for v in s["latencies"]]
    received = sum(s["frames"] for s in streams)
    joined = [j for j in joins if j is not None]
    return {
        "procs": procs,
        "min_fps": min(fps),
        "mean_fps": statistics.mean(fps),
        "p50_latency": pct(latencies, 0.5),
        "p95_latency": pct(latencies, 0.95),
        "join_p50": pct(joined, 0.5),
        "join_p95": pct(joined, 0.95),
        "failed_joins": len(joins) - len(joined),
        "unnumbered": 100 * sum(s["unnumbered"] for s in streams) / max(received, 1),
        "verified": sum(s["verified"] for s in streams),
        "mismatches": sum(s["mismatches"] for s in streams),
        "server_cpu": server_cpu,
        "clients_cpu": clients_cpu,
        "other_cpu": max(0.0, machine_cpu - server_cpu - clients_cpu),
        "load1": load1,
    }


async def leak(url: str, clerk_id: int, cycles: int, pid: int, media: Media) -> None:
    """Join and leave ``cycles`` times; the server's RSS per cycle and its trend."""
    _, citizen_token, _ = new_consultation(clerk_id)
    rss: list[int] = []
    failed = 0
    for index in range(cycles):
        person = BenchPeer(url, media)
        if await person.first_frame(await person.join(citizen_token)) is None:
            failed += 1
        await person.close()  # like a closed tab: no hang-up message
        rss.append(rss_kib(pid))
        if index % 25 == 0 or index == cycles - 1:
            await asyncio.sleep(0.5)
            print(
                f"cycle {index}: server RSS {rss_kib(pid) / 1024:.1f} MiB, "
                f"open files {open_files(pid)}",
                flush=True,
            )
    half = cycles // 2
    if cycles - half >= 2:
        slope, _ = statistics.linear_regression(range(half, cycles), rss[half:])
        print(
            f"RSS slope over cycles {half}-{cycles - 1}: {slope:+.1f} KiB/cycle "
            f"({rss[half] / 1024:.1f} → {rss[-1] / 1024:.1f} MiB); "
            f"cycles without a first frame: {failed}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, nargs="*", default=[1, 2, 3, 4])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--leak", type=int, default=0)
    parser.add_argument(
        "--client-procs", type=int, default=2, help="client processes (at most one per call)"
    )
    parser.add_argument(
        "--scene", choices=sorted(SCENES), default="camera", help="content of the video"
    )
    parser.add_argument(
        "--decode",
        action="store_true",
        help="the relay decodes and re-encodes video (the fallback) instead of forwarding it",
    )
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="servicepoint-video-bench-"))
    os.environ["SERVICEPOINT_DATA_DIR"] = str(data)
    os.environ.pop("SERVICEPOINT_DATABASE_URL", None)
    try:
        started = time.monotonic()
        media = media_file(args.scene)
        print(
            f"media: {LOOP_SECONDS} s {args.scene} scene, VP8 {WIDTH}×{HEIGHT}@{FPS} "
            f"({VIDEO_BITRATE // 1000} kbit/s, keyframe every {FPS} frames) + Opus, "
            f"{media} ({time.monotonic() - started:.1f} s to render or load)",
            flush=True,
        )
        clerk_id = prepare_database()
        port = free_port()
        server = start_server(port, max_calls=max(args.calls or [1]) + 1, decode=args.decode)
        print(
            "relay: "
            + ("decodes and re-encodes video" if args.decode else "forwards encoded video"),
            flush=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            if args.leak:
                asyncio.run(leak(url, clerk_id, args.leak, server.pid, load_media(media)))
                return
            print(f"cores: {os.cpu_count()}, load before: {os.getloadavg()}")
            print(
                f"CPU columns: seconds used in the {args.seconds:g} s window "
                f"(all cores together: {args.seconds * (os.cpu_count() or 1):g} s)"
            )
            print(
                "calls procs  min_fps mean_fps  p50_lat  p95_lat join_p50 join_p95 "
                "no_num%  srv_cpu  cli_cpu  oth_cpu  load1"
            )
            for n in args.calls:
                row = run_calls(
                    url,
                    clerk_id,
                    n,
                    args.seconds,
                    args.client_procs,
                    media,
                    server.pid,
                    decode=args.decode,
                )
                print(
                    f"{n:5d} {row['procs']:5.0f}  {row['min_fps']:7.1f} "
                    f"{row['mean_fps']:8.1f}  {row['p50_latency']:7.3f}  "
                    f"{row['p95_latency']:7.3f} {row['join_p50']:8.3f} "
                    f"{row['join_p95']:8.3f}  {row['unnumbered']:6.1f}  "
                    f"{row['server_cpu']:7.2f}  {row['clients_cpu']:7.2f}  "
                    f"{row['other_cpu']:7.2f}  {row['load1']:5.2f}",
                    flush=True,
                )
                if not args.decode:
                    print(
                        f"      {row['verified']:.0f} frames decoded to check their bytes: "
                        f"{row['mismatches']:.0f} showed another number",
                        flush=True,
                    )
                if row["failed_joins"]:
                    print(f"      {row['failed_joins']:.0f} joins saw no frame in time")
        finally:
            server.terminate()
            server.wait(10)
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
