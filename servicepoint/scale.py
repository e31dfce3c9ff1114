"""``servicepoint up --scale``: the multi-host shape of the office, on one machine.

One Prefect server on PostgreSQL; the deployments of ``prefect.yaml`` registered onto the
process work pool ``servicepoint`` (``prefect deploy --all``); ``--workers`` Prefect
workers (``prefect worker start --pool servicepoint``), each with a data directory of its
own; one outbox relay; ``--web-processes`` web processes, each a video node of its own;
and nginx in front of the web processes (``servicepoint/deploy/nginx.conf.j2``). What
every process must see alike (documents, letters, exports, rendered tutorials, secrets)
is under one shared directory, as it would be on shared storage across hosts; the
application database is shared by all. The supervisor of ``servicepoint up`` runs the
parts: one output stream, one Ctrl-C.

Layout under the data directory ``DIR``::

    DIR/shared/        documents, cases, exports, tutorials, secrets (SERVICEPOINT_SHARED_DIR)
    DIR/prefect/       the Prefect server's home
    DIR/worker-N/      a worker's own data directory (OCR slot locks, mail, Prefect home)
    DIR/web-N/         a web process's own data directory
    DIR/relay/         the outbox relay's
    DIR/nginx/         the rendered nginx.conf, its logs and temporary files
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from servicepoint import domains
from servicepoint.settings import Settings
from servicepoint.stack import Child, StackError, Supervisor, child_environment

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = Path(__file__).resolve().parent / "deploy"
POOL = "servicepoint"
DEPLOY_TIMEOUT = 300.0

log = logging.getLogger("servicepoint.scale")


@dataclass(frozen=True)
class WebNode:
    name: str
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@dataclass(frozen=True)
class ScaleLayout:
    """Where every part of the scaled-out office lives and listens."""

    settings: Settings  # host/port: nginx; prefect_port; data_dir: the root of it all
    workers: int = 2
    web_ports: tuple[int, ...] = ()
    worker_flow_runs: int | None = None  # concurrent flow runs per worker (--limit)

    @property
    def root(self) -> Path:
        return self.settings.data_dir

    @property
    def shared_dir(self) -> Path:
        return self.root / "shared"

    @property
    def nginx_prefix(self) -> Path:
        return self.root / "nginx"

    @property
    def nodes(self) -> list[WebNode]:
        return [WebNode(f"web-{i + 1}", port) for i, port in enumerate(self.web_ports)]

    @property
    def public_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def environment(self, data_dir: Path) -> dict[str, str]:
        """A part's environment: the shared things alike, its own data directory."""
        (data_dir / "prefect").mkdir(parents=True, exist_ok=True)
        env = child_environment(self.settings)
        env.update(
            {
                "SERVICEPOINT_DATA_DIR": str(data_dir),
                "SERVICEPOINT_SHARED_DIR": str(self.shared_dir),
                "SERVICEPOINT_PUBLIC_URL": self.settings.public_url or self.public_url,
                "SERVICEPOINT_HOME": str(REPO_ROOT),  # prefect.yaml's pull step
                "PREFECT_HOME": str(data_dir / "prefect"),
                # Workers ask for new runs every second (Prefect's default: 10 s).
                "PREFECT_WORKER_QUERY_SECONDS": env.get("PREFECT_WORKER_QUERY_SECONDS", "1"),
                "PREFECT_WORKER_PREFETCH_SECONDS": env.get("PREFECT_WORKER_PREFETCH_SECONDS", "1"),
            }
        )
        return env


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )


def render_nginx_conf(layout: ScaleLayout) -> Path:
    """Write ``DIR/nginx/nginx.conf`` from the shipped template; its path."""
    prefix = layout.nginx_prefix
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    settings = layout.settings
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR), undefined=StrictUndefined, autoescape=False
    )
    text = environment.get_template("nginx.conf.j2").render(
        prefix=str(prefix),
        listen=f"{settings.host}:{settings.port}",
        nodes=layout.nodes,
        max_body_bytes=settings.max_upload_bytes * settings.max_files_per_application + 1024 * 1024,
        run_as_root=os.geteuid() == 0,  # else nginx's workers run as nobody
    )
    path = prefix / "nginx.conf"
    path.write_text(text, encoding="utf-8")
    return path


def prefect_command(layout: ScaleLayout, *args: str) -> list[str]:
    """Prefect's command line (with the project's two fixes, servicepoint.prefect_server)."""
    return [sys.executable, "-m", "servicepoint.prefect_server", *args]


def flow_run_command(warm: bool) -> str:
    """How a worker starts a flow run, in this installation's interpreter.

    Without a command Prefect's process worker starts two interpreters per flow run (a
    workspace supervisor, then the engine), each importing Prefect: measured on the
    loaded 2-core machine, a minute from submission to the flow's first line. Warm:
    the registered warm-start module (``flows.warm_start``) has the worker's warm process
    fork the run instead (it falls back to the engine command when no warm process runs).
    """
    module = domains.warm_start_module() if warm else "prefect.engine"
    return f"{sys.executable} -m {module}"


def write_job_template(path: Path, warm: bool) -> Path:
    """The process pool's base job template with :func:`flow_run_command` as default."""
    import json

    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    template["variables"]["properties"]["command"]["default"] = flow_run_command(warm)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(template, indent=2), encoding="utf-8")
    return path


def register_deployments(layout: ScaleLayout, say: Callable[[str], None]) -> None:
    """Create the process work pool and ``prefect deploy --all`` of ``prefect.yaml``."""
    env = layout.environment(layout.root / "deploy")
    template = write_job_template(
        layout.root / "deploy" / "base-job-template.json", layout.settings.warm_flow_runs
    )
    create = ["work-pool", "create", POOL, "--type", "process", "--overwrite"]
    steps = [
        prefect_command(layout, *create, "--base-job-template", str(template)),
        prefect_command(layout, "--no-prompt", "deploy", "--all"),
    ]
    for argv in steps:
        say(" ".join(argv[3:]))
        result = subprocess.run(
            argv,
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=DEPLOY_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise StackError(f"'{' '.join(argv[3:])}' failed:\n" + "\n".join(tail))


def build_scale_children(layout: ScaleLayout) -> list[Child]:
    settings = layout.settings
    python = sys.executable
    server_env = layout.environment(layout.root)
    server_env["PREFECT_HOME"] = str(settings.prefect_home)
    children = [
        Child(
            "prefect",
            prefect_command(
                layout,
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(settings.prefect_port),
                "--analytics-off",
            ),
            server_env,
            colour="\033[35m",
        )
    ]
    for i in range(layout.workers):
        name = f"worker-{i + 1}"
        if settings.warm_flow_runs:  # the worker's warm process (the registered warm start)
            argv = [python, "-m", domains.warm_start_module(), "--serve"]
            env = layout.environment(layout.root / name)
            children.append(Child(f"warm-{i + 1}", argv, env, colour="\033[36m"))
        argv = [python, "-m", "prefect", "worker", "start", "--pool", POOL, "--name", name]
        argv += ["--type", "process", "--install-policy", "never"]
        if layout.worker_flow_runs:
            argv += ["--limit", str(layout.worker_flow_runs)]
        children.append(
            Child(name, argv, layout.environment(layout.root / name), colour="\033[36m")
        )
    children.append(
        Child(
            "relay",
            [python, "-m", "servicepoint.scale", "relay"],
            layout.environment(layout.root / "relay"),
            colour="\033[34m",
        )
    )
    for node in layout.nodes:
        env = layout.environment(layout.root / node.name)
        env.update({"SERVICEPOINT_NODE_NAME": node.name, "SERVICEPOINT_NODE_URL": node.url})
        argv = [python, "-m", "uvicorn", "servicepoint.asgi:app", "--host", "127.0.0.1"]
        argv += ["--port", str(node.port), "--no-server-header", "--proxy-headers"]
        children.append(Child(node.name, argv, env, colour="\033[32m"))
    nginx = nginx_binary() or "nginx"
    conf = layout.nginx_prefix / "nginx.conf"
    children.append(
        Child(
            "nginx",
            [nginx, "-p", str(layout.nginx_prefix), "-c", str(conf)],
            dict(os.environ),
            colour="\033[33m",
        )
    )
    return children


class ScaleSupervisor(Supervisor):
    """The supervisor of ``servicepoint up`` with the parts of the scaled-out shape."""

    def __init__(self, layout: ScaleLayout, out: IO[str] | None = None) -> None:
        super().__init__(layout.settings, out)
        self.layout = layout
        self.children = build_scale_children(layout)

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        import signal

        received: list[int] = []

        def handle(signum: int, _frame: object) -> None:
            received.append(signum)
            self._stopping.set()

        previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start_parts()
            if on_ready and not self._stopping.is_set():
                on_ready()
            self.watch()
        except StackError as exc:
            self.say("up", f"error: {exc}")
            self.stop()
            return 1
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.say("up", "all parts stopped")
        return 0

    def start_parts(self) -> None:
        settings = self.settings
        self.start_child(self.child("prefect"))
        self.wait_http(settings.effective_prefect_api_url + "/health", "prefect")
        register_deployments(self.layout, lambda line: self.say("up", line))
        render_nginx_conf(self.layout)
        for child in self.children[1:]:
            self.start_child(child)
        self.write_parts()
        self.wait_warm()
        for node in self.layout.nodes:
            self.wait_http(node.url + "/healthz", node.name)
        self.wait_http(self.layout.public_url + "/healthz", "nginx")

    def wait_warm(self, timeout: float = 120.0) -> None:
        """Until every worker's warm process listens (a run before that starts cold)."""
        import time

        deadline = time.monotonic() + timeout
        for child in self.children:
            if not child.name.startswith("warm-"):
                continue
            path = Path(child.env["SERVICEPOINT_DATA_DIR"]) / "locks" / domains.warm_start_socket()
            while not path.exists() and time.monotonic() < deadline:
                if child.process is not None and child.process.poll() is not None:
                    raise StackError(f"{child.name} exited during start-up")
                time.sleep(0.3)

    def write_parts(self) -> None:
        """``DIR/parts.json``: each part's process id (its process group), for operators."""
        import json

        parts = {c.name: c.process.pid for c in self.children if c.process is not None}
        (self.layout.root / "parts.json").write_text(json.dumps(parts, indent=2) + "\n")

    def watch(self) -> None:
        while not self._stopping.is_set():
            for child in self.children:
                if child.process is not None and child.process.poll() is not None:
                    if child.expected_exit:
                        continue
                    self.say(
                        "up",
                        f"{child.name} exited (code {child.process.returncode}); "
                        "the other parts go on",
                    )
                    child.expected_exit = True  # said once; the others carry its load
            self._stopping.wait(0.5)


def check_prerequisites(settings: Settings) -> str | None:
    """What stops the scaled-out shape from starting, as a message, or None."""
    if nginx_binary() is None:
        return "nginx was not found. Install it with: apt-get install -y nginx"
    if not settings.prefect_database_url or not settings.prefect_database_url.startswith(
        "postgresql"
    ):
        return (
            "--scale runs the Prefect server on PostgreSQL: set "
            "SERVICEPOINT_PREFECT_DATABASE_URL=postgresql+asyncpg://user:pass@host/prefect"
        )
    return None


def free_ports(count: int, first: int) -> tuple[int, ...]:
    """``count`` ports from ``first`` on that are free on 127.0.0.1."""
    from servicepoint.stack import port_is_free

    ports: list[int] = []
    port = first
    while len(ports) < count and port < 65535:
        if port_is_free("127.0.0.1", port):
            ports.append(port)
        port += 1
    return tuple(ports)


def relay_main() -> None:
    """The outbox relay alone (the workers run the flows; the triggers come from deploy)."""
    from servicepoint.events import relay_forever
    from servicepoint.settings import get_settings

    asyncio.run(relay_forever(get_settings().effective_prefect_api_url))


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args != ["relay"]:
        sys.exit("usage: python -m servicepoint.scale relay")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        relay_main()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
