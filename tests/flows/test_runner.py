"""The runner starts flow runs by forking a process that has Prefect and the flows loaded."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from flows.runner import entry_modules, load_declarations, module_of

REPO_ROOT = Path(__file__).resolve().parents[2]

# Runs in its own interpreter: the forkserver and the patched lookup are process-wide.
SCRIPT = textwrap.dedent(
    """
    import json, multiprocessing, os, sys
    from prefect import flow
    import prefect.flow_engine
    from flows.runner import start_flow_runs_warm

    @flow
    def probe(out: str) -> None:
        seen = {
            "pid": os.getpid(),
            "parent": os.getppid(),
            "preloaded": "flows.applications" in sys.modules,
        }
        with open(out, "w") as handle:
            json.dump(seen, handle)

    if __name__ == "__main__":
        warm = sys.argv[2] == "warm"
        if warm:
            start_flow_runs_warm(["flows.applications"])
        process = prefect.flow_engine.run_flow_in_subprocess(probe, parameters={"out": sys.argv[1]})
        process.join()
        kind = type(process).__name__
        print(json.dumps({"kind": kind, "exitcode": process.exitcode, "pid": os.getpid()}))
    """
)


def _python(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the interpreter on ``args``; its last line of output."""
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def _run_probe(
    tmp_path: Path, api_url: str, mode: str
) -> tuple[dict[str, object], dict[str, object]]:
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    out = tmp_path / f"{mode}.json"
    env = {**os.environ, "PREFECT_API_URL": api_url, "PYTHONPATH": str(REPO_ROOT)}
    started = json.loads(_python([str(script), str(out), mode], env, tmp_path))
    return started, json.loads(out.read_text())


def test_a_warm_flow_run_is_a_fork_of_the_preloaded_server(
    prefect_api_url: str, tmp_path: Path
) -> None:
    started, seen = _run_probe(tmp_path, prefect_api_url, "warm")
    assert (started["kind"], started["exitcode"]) == ("ForkServerProcess", 0)
    # a child of the forkserver, not of the runner, with the flows already imported
    assert seen["parent"] != started["pid"]
    assert seen["preloaded"] is True

    # without it, Prefect's own way: a fresh interpreter that imports only the flow
    started, seen = _run_probe(tmp_path, prefect_api_url, "cold")
    assert (started["kind"], started["exitcode"]) == ("SpawnProcess", 0)
    assert seen["parent"] == started["pid"]
    assert seen["preloaded"] is False


def test_every_declared_flow_module_is_preloaded() -> None:
    declarations = load_declarations()
    modules = entry_modules(declarations)
    assert modules == sorted(set(modules), key=modules.index)  # no duplicates, in order
    for spec in declarations:
        assert module_of(spec["entrypoint"]) in modules
    assert {"flows.applications", "flows.maintenance"} <= set(modules)


WARM_UP_CHECK = textwrap.dedent(
    """
    import json
    import flows.warmup
    from servicepoint.db import get_engine
    from sqlalchemy import text

    idle = get_engine().pool.checkedin()
    with get_engine().connect() as conn:
        rows = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("applications", "audit_log", "outbox")
        }
    print(json.dumps({"idle_connections": idle, "rows": rows}))
    """
)


def test_the_forkserver_warm_up_writes_nothing_and_keeps_no_connection(tmp_path: Path) -> None:
    from servicepoint import db

    url = f"sqlite:///{tmp_path / 'warm.db'}"
    db.upgrade(url)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SERVICEPOINT_DATABASE_URL": url}
    result = json.loads(_python(["-c", WARM_UP_CHECK], env, tmp_path))
    assert result["idle_connections"] == 0  # a forked run opens its own
    assert result["rows"] == {"applications": 0, "audit_log": 0, "outbox": 0}


def test_sigterm_before_serving_stops_the_runner_cleanly(tmp_path: Path) -> None:
    """A SIGTERM while the runner still waits for Prefect (e.g. ``up`` stopped during
    its start) ends it at once with exit code 0 and says so, instead of Python's
    default of dying by the signal without a word."""
    import selectors
    import signal
    import time

    from tests.conftest import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVICEPOINT_", "PREFECT_"))}
    env.update(
        {
            "SERVICEPOINT_DATA_DIR": str(tmp_path / "data"),
            "SERVICEPOINT_PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",  # nobody
            "PYTHONUNBUFFERED": "1",
        }
    )
    runner = subprocess.Popen(
        [sys.executable, "-m", "flows.runner"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert runner.stdout is not None
    seen = ""
    with selectors.DefaultSelector() as selector:
        selector.register(runner.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 120
        while "not reachable" not in seen and time.monotonic() < deadline:
            if selector.select(timeout=1):
                line = runner.stdout.readline()
                if not line:
                    break
                seen += line
    assert "not reachable" in seen, seen
    runner.send_signal(signal.SIGTERM)
    rest, _ = runner.communicate(timeout=20)
    assert runner.returncode == 0, seen + rest
    assert "SIGTERM received; stopping the flow runner" in rest
    assert "Traceback" not in rest
