"""Warm flow-run starts for Prefect workers: a prepared process forks each flow run.

A process worker starts every flow run as a new interpreter that imports Prefect and
the flow modules again (``python -m prefect.engine``). Here the work pool's command is
``python -m flows.warm_start`` instead, which is that and no more when nothing is
prepared, and otherwise only a small client (it imports nothing of Prefect): it hands
its environment, working directory and standard streams over a Unix socket to the
warm process started next to the worker (``python -m flows.warm_start --serve``), which
has Prefect, the engine and every flow module of ``prefect.yaml`` imported and forks a
child that runs ``prefect.engine`` as the command would have. The client stays the
flow run's process for the worker: it passes SIGTERM/SIGINT on to the child and exits
with the child's exit code; the child ends itself when the client disappears (a killed
worker leaves nothing running). The warm process is single-threaded, so forking it is
safe.

The socket is ``$SERVICEPOINT_DATA_DIR/locks/warm-start.sock`` (the worker's own data
directory).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

SOCKET_NAME = "warm-start.sock"


def socket_path() -> Path | None:
    data_dir = os.environ.get("SERVICEPOINT_DATA_DIR")
    return Path(data_dir) / "locks" / SOCKET_NAME if data_dir else None


def _cold() -> None:
    """No warm process: become the engine command Prefect would have run."""
    os.execv(sys.executable, [sys.executable, "-m", "prefect.engine", *sys.argv[1:]])


# --- the client: what the worker starts for each flow run -------------------------------
def client() -> int:
    path = socket_path()
    if path is None or not path.exists():
        _cold()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        _cold()
    request = {"env": dict(os.environ), "cwd": os.getcwd(), "argv": sys.argv[1:]}
    socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
    reader = conn.makefile("rb")
    child = int(json.loads(reader.readline())["pid"])

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    line = reader.readline()
    return int(json.loads(line)["exit"]) if line else 1


# --- the warm process -----------------------------------------------------------------------
def preload() -> None:
    import importlib

    from flows.runner import ENGINE_MODULES, entry_modules, load_declarations

    for name in ("prefect.engine", *ENGINE_MODULES, *entry_modules(load_declarations())):
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # a module of another Prefect version
    importlib.import_module("flows.warmup")
    # The reader's own forkserver (documents are read in a child killed at the time
    # limit): started once here, so that each run forks readers from it instead of
    # starting a fresh interpreter that imports the reader again.
    from multiprocessing import forkserver

    from intake.applications.evaluate import _context

    _context()
    forkserver.ensure_running()


def _adopt_forkserver() -> None:
    """In a flow run: use the warm process's reader forkserver while it lives.

    ``ensure_running`` would ``waitpid`` it, which only its parent may; a run asks
    whether it is still there instead, and starts one of its own only when it is not.
    """
    from multiprocessing import forkserver, resource_tracker

    server: Any = forkserver._forkserver  # type: ignore[attr-defined]
    pid = server._forkserver_pid
    start_own = server.ensure_running

    def ensure_running() -> None:
        try:
            os.kill(pid, 0)
        except (OSError, TypeError):
            server._forkserver_pid = None
            server.ensure_running = start_own
            start_own()
            return
        resource_tracker.ensure_running()

    server.ensure_running = ensure_running


def serve(path: Path) -> None:
    """Accept flow runs and fork one child for each, until SIGTERM."""
    import selectors

    preload()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(64)
    waiting: dict[int, socket.socket] = {}  # child pid -> its client's connection
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.stdout.write(f"warm flow-run starts ready at {path}\n")
    sys.stdout.flush()
    try:
        while True:
            selector.select(timeout=0.2)
            _accept(listener, waiting)
            _reap(waiting)
    finally:
        path.unlink(missing_ok=True)


def _accept(listener: socket.socket, waiting: dict[int, socket.socket]) -> None:
    listener.setblocking(False)
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(True)
        try:
            message, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
            request = json.loads(message)
        except (OSError, ValueError):
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            for other in waiting.values():
                other.close()
            _child(conn, fds, request)  # never returns
        for fd in fds:
            os.close(fd)
        try:
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        except OSError:
            os.kill(pid, signal.SIGTERM)
        waiting[pid] = conn


def _reap(waiting: dict[int, socket.socket]) -> None:
    while waiting:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = waiting.pop(pid, None)
        if conn is not None:
            try:
                conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
            except OSError:
                pass
            conn.close()


def _child(conn: socket.socket, fds: list[int], request: dict[str, Any]) -> None:
    """The flow run: the client's streams, environment and directory, then the engine."""
    import runpy
    import threading

    code = 1
    try:
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
            os.close(fd)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        threading.Thread(target=_end_with_client, args=(conn,), daemon=True).start()
        _adopt_forkserver()
        import warnings

        from prefect.context import SettingsContext, get_settings_context
        from prefect.settings import Settings

        # runpy notes that prefect.engine was imported already: that is the point here.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="runpy")
        sys.argv = ["prefect.engine", *request.get("argv", [])]
        with SettingsContext(profile=get_settings_context().profile, settings=Settings()):
            try:
                runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as exit_:
                code = (
                    exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
                )
    except BaseException:  # noqa: BLE001  (reported on the run's stderr, then the exit code)
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _end_with_client(conn: socket.socket) -> None:
    """The client went away (the worker killed it): stop this flow run as well."""
    try:
        while conn.recv(64):
            pass
    except OSError:
        pass
    import threading

    os.kill(os.getpid(), signal.SIGTERM)  # the engine's own handler ends the run
    last_resort = threading.Timer(10.0, os.kill, (os.getpid(), signal.SIGKILL))
    last_resort.daemon = True
    last_resort.start()


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        path = socket_path()
        if path is None:
            sys.exit("SERVICEPOINT_DATA_DIR is not set")
        serve(path)
        return
    sys.exit(client())


if __name__ == "__main__":
    main()
