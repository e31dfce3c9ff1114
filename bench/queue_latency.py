"""Work-queue latency: the clerks' queue page under concurrent clients, with a big backlog.

Seeds a fresh SQLite database (in a temporary data directory) with ``--cases`` cases in
review (random services, reasons, ages, due dates, claims and open document requests)
plus as many decided cases, starts the real web app with uvicorn in a child process,
signs in ``--clients`` clerks (each its own session) and lets every client load queue
pages back to back (no think time) for ``--seconds``: the default order, filters by
reason, due date, age and claim, other sort orders and deep pages. Prints the latency
percentiles; ``--write-docs`` also updates its section of ``docs/benchmarks.md``.

    /work/venv/bin/python bench/queue_latency.py --cases 10000 --clients 10 --seconds 30 \\
        --write-docs docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

SECTION = "## Work queue latency"
PASSWORD = "bench-password-123"
REASONS = [
    "MISSING_DOCUMENT",
    "WRONG_DOCUMENT_TYPE",
    "UNREADABLE_DOCUMENT",
    "MRZ_INVALID",
    "ID_EXPIRED",
    "NAME_MISMATCH",
    "BIRTH_DATE_MISMATCH",
    "DOCUMENT_NUMBER_MISMATCH",
    "ADDRESS_MISMATCH",
    "MOVE_IN_DATE_MISMATCH",
    "PERSON_NOT_LISTED",
    "LATE_REGISTRATION",
    "FUTURE_MOVE_IN",
    "OUTSIDE_CITY",
]
QUERIES = [
    "",
    "?reason=ID_EXPIRED",
    "?reason=OUTSIDE_CITY&sort=age",
    "?due=overdue",
    "?due=3&claim=free",
    "?age=8-14",
    "?claim=mine",
    "?waiting=yes",
    "?waiting=no&sort=age&dir=desc",
    "?sort=reference&page=40",
    "?page=150",
    "?service=anmeldung&reason=NAME_MISMATCH&due=7",
]


def seed(url: str, cases: int, clerks: int) -> None:
    """Insert the cases with bulk statements (the production tables, migrated)."""
    from sqlalchemy import insert

    from backoffice.models import DocumentRequest
    from intake.applications.models import Application
    from servicepoint import auth, db

    rng = random.Random(6)
    now = datetime.now(UTC)
    data = json.dumps({"service": "anmeldung", "persons": [], "documents": []})
    rows: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    for index in range(cases * 2):
        received = now - timedelta(minutes=rng.randint(0, 40 * 24 * 60))
        in_review = index < cases
        claimed = in_review and rng.random() < 0.2
        case_id = uuid.uuid4().hex
        rows.append(
            {
                "id": case_id,
                "reference": f"HSP-2026-{index:06d}",
                "service": "anmeldung",
                "status": "review" if in_review else rng.choice(["approved", "rejected"]),
                "decision": "review" if in_review else "auto",
                "reasons_json": json.dumps(rng.sample(REASONS, rng.randint(1, 3))),
                "findings_json": "[]",
                "data_json": data,
                "citizen_token_hash": "0" * 64,
                "language": "de",
                "submitted_at": received,
                "received_at": received,
                "processed_at": received + timedelta(minutes=1),
                "decided_at": None if in_review else received + timedelta(hours=rng.randint(0, 90)),
                "decided_by": None if in_review else "system",
                "due_date": received + timedelta(days=14),
                "claimed_by": f"clerk{rng.randrange(clerks)}" if claimed else None,
                "claimed_at": now if claimed else None,
                "version": 3,
            }
        )
        if in_review and rng.random() < 0.05:
            requests.append(
                {
                    "application_id": case_id,
                    "slot": "identity",
                    "message": "Bitte die Rückseite des Ausweises hochladen.",
                    "requested_by": "clerk0",
                    "requested_at": now - timedelta(days=1),
                }
            )
    with db.session_scope_for(url) as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(Application), rows[start : start + 2000])
        if requests:
            session.execute(insert(DocumentRequest), requests)
        for number in range(clerks):
            auth.create_user(session, f"clerk{number}", PASSWORD, display_name=f"Clerk {number}")


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "servicepoint.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/backoffice/anmelden", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the web app did not start")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every process in a process group (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp ...
            total += int(fields[11]) + int(fields[12])
    return total / ticks


async def sign_in(client: httpx.AsyncClient, username: str) -> None:
    page = await client.get("/backoffice/anmelden")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = await client.post(
        "/backoffice/anmelden",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text


class Connection:
    """A minimal keep-alive HTTP/1.1 GET client on asyncio streams.

    The load generator shares the machine with the server; a full HTTP client library
    would spend more CPU per request than the page itself and inflate the latencies.
    """

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Cookie: sp_session={self.cookie}\r\nAccept-Language: de\r\n\r\n"
        )
        self.writer.write(request.encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        assert length, "the page has no content-length"
        body = await self.reader.readexactly(int(length.group(1)))
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def run_clients(base: str, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    url = httpx.URL(base)
    connections = []
    for number in range(clients):
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await sign_in(client, f"clerk{number}")
            cookie = client.cookies.get("sp_session")
            assert cookie, "no session cookie after signing in"
        connections.append(Connection(url.host, url.port or 80, cookie))
    try:
        for connection in connections:  # warm-up: imports, templates, caches
            assert (await connection.get("/backoffice/vorgaenge"))[0] == 200
        deadline = time.monotonic() + seconds

        async def worker(connection: Connection, offset: int) -> None:
            index = offset
            while time.monotonic() < deadline:
                path = "/backoffice/vorgaenge" + QUERIES[index % len(QUERIES)]
                started = time.perf_counter()
                status, body = await connection.get(path)
                latencies.append(time.perf_counter() - started)
                if status != 200 or b"<table" not in body:
                    raise AssertionError(f"{path}: {status}")
                index += 1

        await asyncio.gather(*(worker(c, n) for n, c in enumerate(connections)))
    finally:
        for connection in connections:
            connection.close()
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (one per core)"
    )
    parser.add_argument("--write-docs", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="servicepoint-bench-") as folder:
        env = dict(os.environ)
        env["SERVICEPOINT_DATA_DIR"] = str(Path(folder) / "data")
        env.pop("SERVICEPOINT_DATABASE_URL", None)
        os.environ.update({"SERVICEPOINT_DATA_DIR": env["SERVICEPOINT_DATA_DIR"]})
        from servicepoint import db
        from servicepoint.settings import get_settings, reset_settings

        reset_settings()
        settings = get_settings()
        settings.ensure_dirs()
        url = settings.effective_database_url
        db.upgrade(url)
        started = time.monotonic()
        seed(url, args.cases, args.clients)
        print(
            f"seeded {args.cases} cases in review + {args.cases} decided "
            f"in {time.monotonic() - started:.1f} s"
        )
        db.dispose_engines()
        server = start_server(env, args.port, args.workers)
        try:
            cpu_before = group_cpu_seconds(server.pid)
            latencies = asyncio.run(
                run_clients(f"http://127.0.0.1:{args.port}", args.clients, args.seconds)
            )
            server_cpu = group_cpu_seconds(server.pid) - cpu_before
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)

    figures = {
        "requests": len(latencies),
        "throughput": len(latencies) / args.seconds,
        "p50": percentile(latencies, 0.50) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "mean": statistics.mean(latencies) * 1000,
        "max": max(latencies) * 1000,
        "cpu_ms": server_cpu / max(1, len(latencies) + 2 * args.clients) * 1000,
    }
    print(
        f"{figures['requests']} requests in {args.seconds:.0f} s with {args.clients} clients "
        f"({figures['throughput']:.0f}/s): p50 {figures['p50']:.0f} ms, "
        f"p95 {figures['p95']:.0f} ms, p99 {figures['p99']:.0f} ms, max {figures['max']:.0f} ms; "
        f"server CPU {figures['cpu_ms']:.1f} ms per request; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    if args.write_docs:
        write_docs(args.write_docs, args, figures)
    return 0 if figures["p95"] < 150 else 1


ROW_PREFIX = "| "
HEADER = (
    "| uvicorn workers | clients | cases in review | requests | throughput | p50 | p95 | p99 "
    "| max | server CPU / request | load avg | date |"
)
INTRO = f"""{SECTION}

`bench/queue_latency.py` – the clerks' queue page (`GET /backoffice/vorgaenge`, signed in,
HTML rendered, 25 cases per page) on SQLite with 10 000 cases in review and as many
decided ones, a real uvicorn serving `servicepoint.asgi:app`, concurrent clients without
think time (one keep-alive connection and session each), each cycling through the
default order, filters (reason, due date, age, claim, waiting for documents), other sort
orders and deep pages. Target: p95 < 150 ms with 10 clients. The machine (2 cores) was
shared with other work while measuring; the load average is the one-minute figure at the
end of the run. Command (one row per run):
`/work/venv/bin/python bench/queue_latency.py --cases 10000 --clients 10 --seconds 30
--workers N --write-docs docs/benchmarks.md`.

{HEADER}
|---|---|---|---|---|---|---|---|---|---|---|---|

Reading: the page costs the server about 10–14 ms of CPU (about 4 ms of it is what every
page of the app pays for routing, session and security middleware); one process thus
serves 75–100 queue pages a second, and ten clients that never pause wait behind each
other. Two worker processes (one per core) meet the target. The embedded `servicepoint
up` starts one web process, because video signalling keeps its peer connections in the
process; a deployment that serves the back office from its own uvicorn with one worker
per core (the video relay separately, as docs/operations.md describes for scaling out)
gets the two-worker figures.
"""


def write_docs(path: Path, args: argparse.Namespace, figures: dict[str, float]) -> None:
    """Insert or replace this configuration's row in the section's table."""
    key = f"| {args.workers} | {args.clients} | {args.cases:,} |"
    row = (
        f"{key} {figures['requests']:.0f} | {figures['throughput']:.0f}/s | "
        f"{figures['p50']:.0f} ms | **{figures['p95']:.0f} ms** | {figures['p99']:.0f} ms | "
        f"{figures['max']:.0f} ms | {figures['cpu_ms']:.1f} ms | {os.getloadavg()[0]:.1f} | "
        f"{date.today().isoformat()} |"
    )
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if SECTION not in text:
        text = text.rstrip("\n") + "\n\n" + INTRO
    start = text.index(SECTION)
    following = text.find("\n## ", start + len(SECTION))
    end = len(text) if following < 0 else following + 1
    section = text[start:end]
    lines = [line for line in section.rstrip("\n").split("\n") if not line.startswith(key)]
    table_end = max(i for i, line in enumerate(lines) if line.startswith(ROW_PREFIX)) + 1
    lines.insert(table_end, row)
    rows = sorted(line for line in lines if line.startswith("| ") and line[2].isdigit())
    kept = [line for line in lines if not (line.startswith("| ") and line[2].isdigit())]
    header_at = kept.index(HEADER) + 2
    section = "\n".join(kept[:header_at] + rows + kept[header_at:]) + "\n"
    text = text[:start] + section + ("\n" + text[end:] if following >= 0 else "")
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
