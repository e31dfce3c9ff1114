"""Benchmark of the tutorial library: render cost and concurrent range viewers.

1. Render seconds per minute of tutorial: renders shipped scripts (MP4 + WebM, with
   espeak-ng narration when installed) into a temporary data directory and divides the
   wall time by the minutes of video produced.
2. Concurrent HTTP viewers: starts the web app with uvicorn on a free port (a separate
   process), publishes one rendered tutorial, then N viewers each fetch the MP4 the way a
   browser does: sequential ``Range`` requests of 256 KiB, every response checked
   (206, right length). Reports requests/s, MB/s and p50/p95 latency per range request.

    python bench/tutorial_serving.py --scripts 2 --viewers 10 50 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 256 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_benchmark(count: int) -> tuple[str, float, float]:
    from servicepoint import db
    from tutorials import render, service

    versions = render.shipped_versions()[:count]
    with db.session_scope() as session:
        service.sync_scripts(session, versions)
    started = time.perf_counter()
    video_seconds = 0.0
    first = ""
    for version in versions:
        target = service.target_dir(version.slug, version.language, version.content_hash)
        result = render.render_version(version, target)
        with db.session_scope() as session:
            service.record_render(session, version, result)
        video_seconds += result.duration
        first = first or version.slug
    wall = time.perf_counter() - started
    return first, wall, video_seconds


async def viewer(
    client: httpx.AsyncClient, url: str, size: int, until: float, out: list[float]
) -> int:
    done = 0
    offset = 0
    while time.perf_counter() < until:
        end = min(offset + CHUNK, size) - 1
        started = time.perf_counter()
        response = await client.get(url, headers={"Range": f"bytes={offset}-{end}"})
        out.append(time.perf_counter() - started)
        if response.status_code != 206 or len(response.content) != end - offset + 1:
            raise RuntimeError(f"bad range answer {response.status_code}")
        done += len(response.content)
        offset = 0 if end + 1 >= size else end + 1
    return done


async def viewers_benchmark(base: str, slug: str, viewers: int, seconds: float) -> dict[str, float]:
    url = f"{base}/tutorials/media/{slug}/video.mp4"
    limits = httpx.Limits(max_connections=viewers, max_keepalive_connections=viewers)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        size = int((await client.head(url)).headers["content-length"])
        latencies: list[float] = []
        until = time.perf_counter() + seconds
        started = time.perf_counter()
        sizes = await asyncio.gather(
            *(viewer(client, url, size, until, latencies) for _ in range(viewers))
        )
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "viewers": viewers,
        "requests_per_s": len(latencies) / wall,
        "mb_per_s": sum(sizes) / wall / 1e6,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scripts", type=int, default=2, help="script versions to render")
    parser.add_argument("--viewers", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="servicepoint-bench-tutorials-"))
    os.environ["SERVICEPOINT_DATA_DIR"] = str(data_dir)
    os.environ.pop("SERVICEPOINT_DATABASE_URL", None)
    from servicepoint import db
    from servicepoint.settings import get_settings

    settings = get_settings()
    settings.ensure_dirs()
    db.upgrade(settings.effective_database_url)

    slug, wall, video = render_benchmark(args.scripts)
    print(
        f"render: {args.scripts} versions, {video:.1f} s of video in {wall:.1f} s "
        f"→ {wall / (video / 60):.1f} render seconds per minute of tutorial"
    )

    port = free_port()
    server = subprocess.Popen(
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
        cwd=ROOT,
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        print("| viewers | range requests/s | MB/s | p50 ms | p95 ms |")
        print("|---:|---:|---:|---:|---:|")
        for count in args.viewers:
            row = asyncio.run(viewers_benchmark(base, slug, count, args.seconds))
            print(
                f"| {count} | {row['requests_per_s']:.0f} | {row['mb_per_s']:.1f} "
                f"| {row['p50_ms']:.1f} | {row['p95_ms']:.1f} |"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
