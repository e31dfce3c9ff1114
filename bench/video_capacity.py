"""Capacity of the aiortc relay: concurrent 1:1 consultations at 640×480, 30 fps, VP8
both ways. The web app runs in its own process (uvicorn); citizens and clerks are aiortc
clients in this process, drawing their frame number into every frame, so glass-to-glass
latency is measured per frame. Reports per N: the lowest receive fps of any stream, p95
latency, join time (offer posted → first frame) p50/p95, and the load average.

    python bench/video_capacity.py --calls 1 2 3 4 --seconds 10
    python bench/video_capacity.py --leak 200     # join/leave cycles: memory and PCs flat
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
_DATA = Path(tempfile.mkdtemp(prefix="servicepoint-video-bench-"))
os.environ["SERVICEPOINT_DATA_DIR"] = str(_DATA)
os.environ.pop("SERVICEPOINT_DATABASE_URL", None)

import httpx  # noqa: E402

from servicepoint import auth, db  # noqa: E402
from servicepoint.settings import get_settings  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.video.clients import GREEN, RED, Participant  # noqa: E402
from video import service  # noqa: E402


def start_server(port: int, max_calls: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SERVICEPOINT_MAX_CALLS_PER_PROCESS": str(max_calls)}
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


def new_consultation(clerk_id: int) -> tuple[str, str, str]:
    with db.session_scope() as session:
        user = session.get(auth.User, clerk_id)
        assert user is not None
        item = service.start_now(
            session, user, service.StartNow("Bench", "bench@example.org", "Benchmark")
        )
        return (
            item.id,
            service.join_token(item, service.Role.CITIZEN),
            service.join_token(item, service.Role.CLERK),
        )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run_calls(url: str, clerk_id: int, n: int, seconds: float) -> dict[str, float]:
    pairs = []
    joins: list[float] = []
    for _ in range(n):
        cid, citizen_token, clerk_token = new_consultation(clerk_id)
        citizen = Participant(url, RED, (640, 480), numbered=True, analyse=False)
        clerk = Participant(url, GREEN, (640, 480), numbered=True, analyse=False)
        citizen.peer, clerk.peer = clerk.outgoing, citizen.outgoing
        posted = await clerk.join(clerk_token)
        await clerk.wait_for(lambda c=clerk: c.first_frame_at is not None, 10)
        if clerk.first_frame_at:
            joins.append(clerk.first_frame_at - posted)
        posted = await citizen.join(citizen_token)
        await citizen.wait_for(lambda c=citizen: c.first_frame_at is not None, 10)
        if citizen.first_frame_at:
            joins.append(citizen.first_frame_at - posted)
        async with httpx.AsyncClient(base_url=url) as client:
            await client.post(f"/api/v1/consultations/{cid}/admit", json={"token": clerk_token})
        pairs.append((citizen, clerk))
    await asyncio.sleep(3)  # settle after the last admission
    people = [p for pair in pairs for p in pair]
    for person in people:
        person.latencies.clear()
    start = time.monotonic()
    counts = [person.frames for person in people]
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - start
    fps = [(person.frames - c) / elapsed for person, c in zip(people, counts, strict=True)]
    latencies = [v for person in people for v in person.latencies]
    for person in people:
        await person.close()
    await asyncio.sleep(1)
    return {
        "calls": n,
        "min_fps": min(fps),
        "mean_fps": statistics.mean(fps),
        "p95_latency": pct(latencies, 0.95),
        "p50_latency": pct(latencies, 0.5),
        "join_p50": pct(joins, 0.5),
        "join_p95": pct(joins, 0.95),
        "load1": os.getloadavg()[0],
    }


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def leak(url: str, clerk_id: int, cycles: int, pid: int) -> None:
    _, citizen_token, _ = new_consultation(clerk_id)
    samples = []
    for index in range(cycles):
        person = Participant(url, GREEN, analyse=False)
        await person.join(citizen_token)
        await person.wait_for(lambda p=person: p.frames > 0, 10)
        await person.close()
        if index % 25 == 0 or index == cycles - 1:
            await asyncio.sleep(0.5)
            samples.append((index, rss_kib(pid)))
            print(f"cycle {index}: server RSS {samples[-1][1] / 1024:.1f} MiB", flush=True)
    print(
        f"RSS after cycle 25: {samples[1][1] / 1024:.1f} MiB, at the end: "
        f"{samples[-1][1] / 1024:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, nargs="*", default=[1, 2, 3, 4])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--leak", type=int, default=0)
    args = parser.parse_args()
    settings = get_settings()
    settings.ensure_dirs()
    db.upgrade(settings.effective_database_url)
    with db.session_scope() as session:
        clerk_id = auth.create_user(session, "bench-clerk", "bench-bench-bench").id
    assert clerk_id is not None
    port = free_port()
    server = start_server(port, max_calls=max(args.calls or [1]) + 1)
    url = f"http://127.0.0.1:{port}"
    try:
        if args.leak:
            asyncio.run(leak(url, clerk_id, args.leak, server.pid))
            return
        print(f"cores: {os.cpu_count()}, load before: {os.getloadavg()}")
        print("calls  min_fps  mean_fps  p50_lat  p95_lat  join_p50  join_p95  load1")
        for n in args.calls:
            row = asyncio.run(run_calls(url, clerk_id, n, args.seconds))
            print(
                f"{n:5d}  {row['min_fps']:7.1f}  {row['mean_fps']:8.1f}  "
                f"{row['p50_latency']:7.3f}  {row['p95_latency']:7.3f}  "
                f"{row['join_p50']:8.3f}  {row['join_p95']:8.3f}  {row['load1']:5.2f}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
