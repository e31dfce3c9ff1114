"""Benchmark of the event-driven back office in the embedded default (``servicepoint up``).

Starts the real stack on free ports with a fresh data directory, submits applications
from the dev corpus through the HTTP API and reads the timings back from the Prefect API
and the application database:

- submission → flow-run start: ``received_at`` of the case to ``start_time`` of its
  ``process-application`` run (p50, p95), with submissions spaced out (``--latency N``);
- orchestration overhead per case: the flow run's wall time minus the time spent reading
  documents (first read task start to last read task end);
- a burst (``--burst N``): N submissions at once, time until every case is decided,
  cases per minute, and a check that no case was lost or decided twice.

    python bench/flow_latency.py --latency 20 --burst 200
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (ROOT / ".." / "shared" / "corpus" / "anmeldung-dev").resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Stack:
    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port, self.prefect_port = free_port(), free_port()
        self.data_dir = data_dir
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Stack:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SERVICEPOINT_", "PREFECT_"))
        }
        env["SERVICEPOINT_ADMIN_PASSWORD"] = "benchmark-admin-password"
        env.update(self.extra_env)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "servicepoint.cli",
                "up",
                "--port",
                str(self.port),
                "--prefect-port",
                str(self.prefect_port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=env,
            stdout=(self.data_dir.parent / "stack.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    self._wait_for_deployments()
                    self._wait_until_idle()
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the stack did not become healthy")

    def _wait_for_deployments(self) -> None:
        for _ in range(120):
            names = {
                d["name"]
                for d in httpx.post(f"{self.api}/deployments/filter", json={}, timeout=10).json()
            }
            if "process-application" in names:
                return
            time.sleep(0.5)

    def _wait_until_idle(self, quiet: float = 10.0, limit: float = 900.0) -> None:
        """Let the start-up work finish (tutorials are rendered in the background at the
        first start): measure a steady office, not one that is still setting up."""
        deadline = time.monotonic() + limit
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            running = httpx.post(
                f"{self.api}/flow_runs/filter",
                json={
                    "limit": 1,
                    "flow_runs": {"state": {"type": {"any_": ["PENDING", "RUNNING"]}}},
                },
                timeout=30,
            ).json()
            # runs that are due but wait (for a deployment's concurrency slot, e.g. the
            # tutorial renders one at a time) are start-up work as well
            due = httpx.post(
                f"{self.api}/flow_runs/filter",
                json={
                    "limit": 1,
                    "flow_runs": {
                        "state": {"type": {"any_": ["SCHEDULED"]}},
                        "expected_start_time": {"before_": datetime.now(UTC).isoformat()},
                    },
                },
                timeout=30,
            ).json()
            if running or due:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet:
                return
            time.sleep(1.0)
        raise RuntimeError("the stack did not become idle")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"


def submit(client: httpx.Client, stack: Stack, case: str, marker: int) -> str:
    """Submit one corpus case. ``marker`` is appended after the end of each file (after a
    JPEG's EOI or a PDF's %%EOF, where readers ignore it), so that every submission has
    documents of its own and no reading is reused from an earlier identical upload."""
    case_dir = CORPUS / case
    data = json.loads((case_dir / "application.json").read_text(encoding="utf-8"))
    tail = f"\n%bench-{marker}\n".encode()
    files = [
        ("files", (Path(d["file"]).name, (case_dir / d["file"]).read_bytes() + tail))
        for d in data["documents"]
    ]
    response = client.post(
        f"{stack.url}/api/v1/applications",
        data={"application": json.dumps(data)},
        files=files,
        timeout=60,
    )
    response.raise_for_status()
    return str(response.json()["id"])


def database(stack: Stack) -> sqlite3.Connection:
    return sqlite3.connect(stack.data_dir / "servicepoint.db", timeout=30)


def wait_decided(stack: Stack, ids: list[str], timeout: float) -> float:
    started = time.monotonic()
    marks = ",".join("?" * len(ids))
    while time.monotonic() - started < timeout:
        with database(stack) as conn:
            done = conn.execute(
                f"SELECT count(*) FROM applications WHERE id IN ({marks}) "
                "AND status IN ('approved','review','rejected')",
                ids,
            ).fetchone()[0]
        if done == len(ids):
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"only {done} of {len(ids)} cases decided within {timeout} s")


def flow_runs(stack: Stack) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = httpx.post(
            f"{stack.api}/flow_runs/filter",
            json={
                "limit": 200,
                "offset": offset,
                "sort": "START_TIME_ASC",
                "flow_runs": {"name": {"like_": "process-application/"}},
            },
            timeout=30,
        ).json()
        runs.extend(page)
        if len(page) < 200:
            return runs
        offset += 200


def read_span(stack: Stack, run_id: str) -> float:
    tasks = httpx.post(
        f"{stack.api}/task_runs/filter",
        json={"flow_runs": {"id": {"any_": [run_id]}}, "limit": 200, "sort": "ID_DESC"},
        timeout=30,
    ).json()
    reads = [
        t for t in tasks if t["name"].startswith("read ") and t["start_time"] and t["end_time"]
    ]
    if not reads:
        return 0.0
    start = min(datetime.fromisoformat(t["start_time"]) for t in reads)
    end = max(datetime.fromisoformat(t["end_time"]) for t in reads)
    return (end - start).total_seconds()


def state_times(stack: Stack, run_id: str) -> dict[str, datetime]:
    """When the run first entered each state type (PENDING = picked up by a runner)."""
    states = httpx.get(
        f"{stack.api}/flow_run_states/", params={"flow_run_id": run_id}, timeout=30
    ).json()
    first: dict[str, datetime] = {}
    for state in states:
        at = datetime.fromisoformat(state["timestamp"])
        if state["type"] not in first or at < first[state["type"]]:
            first[state["type"]] = at
    return first


def measure_latency(stack: Stack, count: int, spacing: float) -> dict[str, Any]:
    cases = json.loads((CORPUS / "manifest.json").read_text())["cases"]
    ids = []
    with httpx.Client() as client:
        for i in range(count):
            ids.append(submit(client, stack, cases[i % len(cases)], i))
            time.sleep(spacing)
    wait_decided(stack, ids, timeout=1800)
    with database(stack) as conn:
        received = {
            row[0]: datetime.fromisoformat(row[1])
            for row in conn.execute("SELECT reference, received_at FROM applications")
        }
    latencies, created, overheads, pickup, spawn = [], [], [], [], []
    for run in flow_runs(stack):
        reference = run["name"].split("/", 1)[1]
        if reference not in received or not run["start_time"]:
            continue
        start = datetime.fromisoformat(run["start_time"])
        submitted = _naive_utc(received[reference], start)
        latencies.append((start - submitted).total_seconds())
        created.append((datetime.fromisoformat(run["created"]) - submitted).total_seconds())
        states = state_times(stack, run["id"])
        if "PENDING" in states and "RUNNING" in states:
            made = datetime.fromisoformat(run["created"])
            pickup.append((states["PENDING"] - made).total_seconds())
            spawn.append((states["RUNNING"] - states["PENDING"]).total_seconds())
        if run["end_time"] and run["state_type"] == "COMPLETED":
            wall = (datetime.fromisoformat(run["end_time"]) - start).total_seconds()
            overheads.append(wall - read_span(stack, run["id"]))
    return {
        "cases": count,
        "created_p50": statistics.median(created),
        "created_p95": percentile(created, 0.95),
        "pickup_p50": statistics.median(pickup),
        "pickup_p95": percentile(pickup, 0.95),
        "spawn_p50": statistics.median(spawn),
        "spawn_p95": percentile(spawn, 0.95),
        "start_p50": statistics.median(latencies),
        "start_p95": percentile(latencies, 0.95),
        "overhead_p50": statistics.median(overheads),
        "overhead_p95": percentile(overheads, 0.95),
    }


def _naive_utc(value: datetime, like: datetime) -> datetime:
    if value.tzinfo is None and like.tzinfo is not None:
        return value.replace(tzinfo=like.tzinfo)
    return value


def measure_burst(stack: Stack, count: int) -> dict[str, Any]:
    cases = json.loads((CORPUS / "manifest.json").read_text())["cases"]
    started = time.monotonic()
    with httpx.Client() as client:
        ids = [submit(client, stack, cases[i % len(cases)], 100_000 + i) for i in range(count)]
    submitted = time.monotonic() - started
    seconds = wait_decided(stack, ids, timeout=3600) + submitted
    marks = ",".join("?" * len(ids))
    with database(stack) as conn:
        decisions = conn.execute(
            f"SELECT application_id, count(*) FROM audit_log WHERE application_id IN ({marks}) "
            "AND action IN ('decided','queued_for_review') GROUP BY application_id",
            ids,
        ).fetchall()
    twice = [row for row in decisions if row[1] != 1]
    return {
        "cases": count,
        "submit_seconds": submitted,
        "total_seconds": seconds,
        "cases_per_minute": count / seconds * 60,
        "decided": len(decisions),
        "decided_more_than_once": len(twice),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=int, default=20, help="spaced submissions")
    parser.add_argument("--spacing", type=float, default=3.0, help="seconds between them")
    parser.add_argument("--burst", type=int, default=0, help="submissions at once")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="start every flow run in a fresh interpreter (SERVICEPOINT_WARM_FLOW_RUNS=false)",
    )
    args = parser.parse_args()
    extra = {"SERVICEPOINT_WARM_FLOW_RUNS": "false"} if args.cold else {}
    with tempfile.TemporaryDirectory(prefix="sp-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        with Stack(data_dir, extra) as stack:
            if args.latency:
                result = measure_latency(stack, args.latency, args.spacing)
                print(f"latency ({result['cases']} cases, {args.spacing} s apart)")
                print(
                    f"  submission -> run created     p50 {result['created_p50']:.2f} s  "
                    f"p95 {result['created_p95']:.2f} s"
                )
                print(
                    f"  run created -> picked up      p50 {result['pickup_p50']:.2f} s  "
                    f"p95 {result['pickup_p95']:.2f} s"
                )
                print(
                    f"  picked up -> running          p50 {result['spawn_p50']:.2f} s  "
                    f"p95 {result['spawn_p95']:.2f} s"
                )
                print(
                    f"  submission -> flow-run start  p50 {result['start_p50']:.2f} s  "
                    f"p95 {result['start_p95']:.2f} s"
                )
                print(
                    f"  orchestration overhead/case   p50 {result['overhead_p50']:.2f} s  "
                    f"p95 {result['overhead_p95']:.2f} s"
                )
            if args.burst:
                result = measure_burst(stack, args.burst)
                print(f"burst of {result['cases']} submissions (each with its own documents)")
                for key in (
                    "submit_seconds",
                    "total_seconds",
                    "cases_per_minute",
                    "decided",
                    "decided_more_than_once",
                ):
                    value = result[key]
                    print(
                        f"  {key:<24} {value:.1f}"
                        if isinstance(value, float)
                        else f"  {key:<24} {value}"
                    )


if __name__ == "__main__":
    main()
