"""Cases per minute with one Prefect worker versus two, on this machine.

Starts ``servicepoint up --scale --workers 2`` (Prefect server and the application
database on the PostgreSQL databases given), then submits bursts of cheap cases (a
born-digital landlord confirmation only: read without OCR, decided ``review``) through
nginx, alternating "one worker" (worker-2's process group stopped with SIGSTOP between
bursts, so it neither polls nor runs anything) and "two workers". For each burst it
prints the time from the first submission until every case is decided, cases per minute,
the CPU seconds per case of every part (read from /proc for each part's process group;
a finished flow run's CPU is in its worker's), and how often a worker lost the race for
a run that the other took (Prefect's "Aborted submission"): the cost of coordinating.

    createdb app; createdb prefect   # on a PostgreSQL server
    python bench/worker_throughput.py \\
        --database-url postgresql+psycopg://user@127.0.0.1:5432/app \\
        --prefect-database-url postgresql+asyncpg://user@127.0.0.1:5432/prefect \\
        --burst 30 --rounds 2 [--cold]

``--cold`` adds bursts with two workers whose pool command is the plain engine
(``python -m prefect.engine``, one fresh interpreter per run) instead of the warm start.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from servicepoint.scale import POOL, write_job_template  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (ROOT / ".." / "shared" / "corpus" / "anmeldung-dev").resolve()
CASES = ["case-001", "case-007", "case-008"]
DONE = {"approved", "review", "rejected"}
TICKS = os.sysconf("SC_CLK_TCK")
START_LINE = re.compile(
    r"(\d\d:\d\d:\d\d\.\d+) \| INFO .*?Flow run '([^']+)'"
    r"(?: - | )(submitted to infrastructure|Beginning flow run)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cheap_case(case: str) -> tuple[dict[str, str], list[Any]]:
    folder = CORPUS / case
    data = json.loads((folder / "application.json").read_text(encoding="utf-8"))
    data["documents"] = [
        d for d in data["documents"] if d["declared_type"] == "landlord_confirmation"
    ]
    files = [
        ("files", (Path(d["file"]).name, (folder / d["file"]).read_bytes()))
        for d in data["documents"]
    ]
    return {"application": json.dumps(data)}, files


def cpu_by_group(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds (with reaped children) of every process in each part's process group."""
    names = {pgid: name for name, pgid in groups.items()}
    totals: Counter[str] = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        pgid = int(fields[2])
        if pgid in names:
            utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
            totals[names[pgid]] += (utime + stime + cutime + cstime) / TICKS
    return dict(totals)


def group(name: str) -> str:
    return "workers" if name.startswith("worker") else "web" if name.startswith("web") else name


class Office:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.root = root
        self.port, self.prefect_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SERVICEPOINT_", "PREFECT_"))
        }
        env.update(
            {
                "SERVICEPOINT_DATABASE_URL": args.database_url,
                "SERVICEPOINT_PREFECT_DATABASE_URL": args.prefect_database_url,
                "SERVICEPOINT_ADMIN_PASSWORD": "bench-admin-password",
            }
        )
        argv = [sys.executable, "-m", "servicepoint.cli", "up", "--scale", "--workers", "2"]
        argv += ["--data-dir", str(root), "--port", str(self.port)]
        argv += ["--prefect-port", str(self.prefect_port)]
        self.log = root / "office.log"
        root.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started = time.monotonic()
        while "Press Ctrl-C to stop." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() - started > 600:
                raise SystemExit("the office did not start; see " + str(self.log))
            time.sleep(1)
        self.start_seconds = time.monotonic() - started
        self.parts: dict[str, int] = json.loads((root / "parts.json").read_text())

    def aborted_submissions(self) -> int:
        return self.log.read_text(errors="replace").count("Aborted submission")

    def log_size(self) -> int:
        return self.log.stat().st_size

    def start_latencies(self, since: int) -> list[float]:
        """Seconds from "submitted to infrastructure" to the flow's first line, per run."""
        with self.log.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode(errors="replace")
        submitted: dict[str, datetime] = {}
        latencies = []
        for stamp, run, what in START_LINE.findall(text):
            moment = datetime.strptime(stamp, "%H:%M:%S.%f")
            if what == "submitted to infrastructure":
                submitted.setdefault(run, moment)
            elif run in submitted:
                latencies.append((moment - submitted.pop(run)).total_seconds())
        return latencies

    def use_warm_starts(self, warm: bool) -> None:
        """Switch the pool's flow-run command (flows.warm_start or prefect.engine)."""
        template = write_job_template(self.root / f"template-{warm}.json", warm)
        argv = [sys.executable, "-m", "servicepoint.prefect_server", "work-pool", "update", POOL]
        env = {**os.environ, "PREFECT_API_URL": f"http://127.0.0.1:{self.prefect_port}/api"}
        subprocess.run(
            [*argv, "--base-job-template", str(template)], env=env, check=True, capture_output=True
        )

    def stop(self) -> None:
        os.killpg(self.parts["worker-2"], signal.SIGCONT)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def statuses(client: httpx.Client, cases: list[tuple[str, str]]) -> list[str]:
    return [
        client.get(f"/api/v1/applications/{i}", headers={"Authorization": f"Bearer {t}"}).json()[
            "status"
        ]
        for i, t in cases
    ]


def burst(office: Office, size: int, workers: int, warm: bool) -> dict[str, Any]:
    office.use_warm_starts(warm)
    os.killpg(office.parts["worker-2"], signal.SIGCONT if workers == 2 else signal.SIGSTOP)
    log_at = office.log_size()
    cpu_before = cpu_by_group(office.parts)
    aborted_before = office.aborted_submissions()
    started = time.monotonic()
    cases: list[tuple[str, str]] = []
    with httpx.Client(base_url=office.url, timeout=60) as client:
        for i in range(size):
            data, files = cheap_case(CASES[i % len(CASES)])
            body = client.post("/api/v1/applications", data=data, files=files).json()
            cases.append((body["id"], body["access_token"]))
        while not set(statuses(client, cases)) <= DONE:
            if time.monotonic() - started > 1800:
                raise SystemExit("a burst did not finish within 30 minutes")
            time.sleep(1)
    seconds = time.monotonic() - started
    time.sleep(3)  # let the finished flow runs be reaped (their CPU lands in the worker)
    cpu_after = cpu_by_group(office.parts)
    cpu: Counter[str] = Counter()
    for name, value in cpu_after.items():
        cpu[group(name)] += value - cpu_before.get(name, 0.0)
    starts = office.start_latencies(log_at)
    return {
        "workers": workers,
        "warm": warm,
        "start_seconds_median": round(statistics.median(starts), 1) if starts else None,
        "cases": size,
        "seconds": round(seconds, 1),
        "cases_per_minute": round(size / seconds * 60, 1),
        "cpu_seconds_per_case": {k: round(v / size, 2) for k, v in sorted(cpu.items())},
        "cpu_seconds_per_case_total": round(sum(cpu.values()) / size, 2),
        "lost_races": office.aborted_submissions() - aborted_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prefect-database-url", required=True)
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--cold", action="store_true", help="also two workers with the plain engine command"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="servicepoint-bench-workers-"))
    office = Office(args, root)
    print(f"office started in {office.start_seconds:.0f} s ({root})", flush=True)
    try:
        results = []
        modes = [(1, True), (2, True)] + ([(2, False)] if args.cold else [])
        for _ in range(args.rounds):
            for workers, warm in modes:
                result = burst(office, args.burst, workers, warm)
                results.append(result)
                print(json.dumps(result), flush=True)
    finally:
        office.stop()
    for workers, warm in modes:
        mine = [r for r in results if (r["workers"], r["warm"]) == (workers, warm)]
        rate = sum(r["cases_per_minute"] for r in mine) / len(mine)
        cpu = sum(r["cpu_seconds_per_case_total"] for r in mine) / len(mine)
        kind = "warm" if warm else "cold"
        print(f"{workers} worker(s), {kind}: {rate:.1f} cases/min, {cpu:.2f} CPU s per case")


if __name__ == "__main__":
    main()
