"""Kernel commands: ``up``, ``doctor``, ``db``, ``users``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from servicepoint.settings import Settings, get_settings

SubParsers = argparse._SubParsersAction  # noqa: SLF001


def _settings_with(args: argparse.Namespace) -> Settings:
    """Settings with command-line overrides applied (they win over the environment)."""
    overrides = {
        key: value
        for key in ("host", "port", "prefect_port", "data_dir")
        if (value := getattr(args, key, None)) is not None
    }
    return get_settings().model_copy(update=overrides) if overrides else get_settings()


def _print(message: str = "") -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _fail(message: str) -> int:
    sys.stderr.write(f"servicepoint: {message}\n")
    return 2


# --- up -------------------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    from servicepoint import db, stack
    from servicepoint.auth import ensure_first_admin

    settings = _settings_with(args)
    problem = stack.tesseract_problem(settings)
    if problem:
        return _fail(problem)
    if getattr(args, "scale", False):
        from servicepoint import scale

        problem = scale.check_prerequisites(settings)
        if problem:
            return _fail(problem)
    for label, host, port in (
        ("web app (--port)", settings.host, settings.port),
        ("Prefect server (--prefect-port)", "127.0.0.1", settings.prefect_port),
    ):
        if not stack.port_is_free(host, port):
            return _fail(
                f"port {port} on {host} for the {label} is already in use. Stop the program "
                f"that holds it, or choose another port, e.g. --port {port + 1}."
            )
    settings.ensure_dirs()
    url = settings.effective_database_url
    try:
        db.upgrade(url)
    except Exception as exc:  # noqa: BLE001  (reported, not re-raised)
        return _fail(f"the database at {url} could not be migrated: {exc}")
    with db.session_scope_for(url) as session:
        generated = ensure_first_admin(session, settings)
    if generated:
        _print("=" * 72)
        _print(f"First administrator created: user '{settings.admin_username}',")
        _print(f"one-time password: {generated}")
        _print("It is shown only now; you will be asked to change it at the first sign-in.")
        _print("=" * 72)

    if getattr(args, "scale", False):
        return cmd_up_scale(args, settings)
    supervisor = stack.Supervisor(settings)

    def ready() -> None:
        base = f"http://{settings.host}:{settings.port}"
        supervisor.say("up", "ServicePoint is running:")
        supervisor.say("up", f"  citizen portal  {base}/")
        supervisor.say("up", f"  back office     {base}/backoffice")
        supervisor.say("up", f"  Prefect UI      {settings.prefect_ui_url}")
        supervisor.say("up", f"  health          {base}/healthz")
        supervisor.say("up", "Press Ctrl-C to stop.")

    return supervisor.run(on_ready=ready)


def cmd_up_scale(args: argparse.Namespace, settings: Settings) -> int:
    """``up --scale``: Prefect server, workers, relay, web processes, nginx (scale.py)."""
    from servicepoint import scale

    layout = scale.ScaleLayout(
        settings,
        workers=args.workers,
        web_ports=scale.free_ports(args.web_processes, settings.port + 1),
        worker_flow_runs=settings.flow_runs_per_runner,
    )
    supervisor = scale.ScaleSupervisor(layout)

    def ready() -> None:
        base = layout.public_url
        supervisor.say("up", f"ServicePoint is running, scaled out ({layout.workers} workers,")
        supervisor.say("up", f"{len(layout.nodes)} web processes behind nginx):")
        supervisor.say("up", f"  citizen portal  {base}/")
        supervisor.say("up", f"  back office     {base}/backoffice")
        supervisor.say("up", f"  Prefect UI      {settings.prefect_ui_url}")
        supervisor.say("up", "Press Ctrl-C to stop.")

    return supervisor.run(on_ready=ready)


# --- doctor ---------------------------------------------------------------------------------
def cmd_doctor(args: argparse.Namespace) -> int:
    from servicepoint import db, health, stack

    settings = _settings_with(args)
    results: list[tuple[bool, str, str]] = []

    problem = stack.tesseract_problem(settings)
    results.append((problem is None, "tesseract with German data", problem or "ok"))

    for label, host, port in (
        ("web port", settings.host, settings.port),
        ("Prefect port", "127.0.0.1", settings.prefect_port),
    ):
        free = stack.port_is_free(host, port)
        results.append(
            (True, f"{label} {host}:{port}", "free" if free else "in use (fine if the stack runs)")
        )

    url = settings.effective_database_url
    try:
        revision = db.current_revision(url)
        head = db.head_revision()
        if revision == head:
            results.append((True, "database", f"{_safe_url(url)} at migration {revision}"))
        else:
            results.append(
                (
                    False,
                    "database",
                    f"{_safe_url(url)} at {revision}, code expects {head}: "
                    "run 'servicepoint db upgrade'",
                )
            )
    except Exception as exc:  # noqa: BLE001
        results.append((False, "database", f"{_safe_url(url)} not reachable: {exc}"))

    prefect = asyncio.run(health.check_prefect())
    results.append(
        (
            prefect == "ok",
            "Prefect API",
            f"{settings.effective_prefect_api_url}: {prefect}"
            + ("" if prefect == "ok" else " (start the stack with 'servicepoint up')"),
        )
    )
    try:
        settings.ensure_dirs()
        probe = settings.data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
        results.append((True, "data directory", str(settings.data_dir)))
    except OSError as exc:
        results.append((False, "data directory", f"{settings.data_dir} not writable: {exc}"))

    for ok, name, detail in results:
        _print(f"[{'ok' if ok else 'FAIL':>4}] {name}: {detail}")
    failed = [name for ok, name, _ in results if not ok]
    _print("All checks passed." if not failed else f"{len(failed)} check(s) failed.")
    return 0 if not failed else 1


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


# --- db -------------------------------------------------------------------------------------
def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from servicepoint import db

    settings = _settings_with(args)
    settings.ensure_dirs()
    db.upgrade(settings.effective_database_url, args.revision)
    _print(f"database at migration {db.current_revision(settings.effective_database_url)}")
    return 0


# --- users ----------------------------------------------------------------------------------
def cmd_users_create(args: argparse.Namespace) -> int:
    from servicepoint import db
    from servicepoint.auth import Role, create_user, get_user

    password = args.password or getpass.getpass("Password: ")
    if len(password) < 10:
        return _fail("the password must have at least 10 characters")
    settings = _settings_with(args)
    with db.session_scope_for(settings.effective_database_url) as session:
        if get_user(session, args.username):
            return _fail(f"user '{args.username}' exists already")
        create_user(session, args.username, password, Role(args.role), args.name or "")
    _print(f"user '{args.username}' ({args.role}) created")
    return 0


def register(sub: SubParsers[argparse.ArgumentParser]) -> None:
    def stack_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", help="address of the web app (default 127.0.0.1)")
        parser.add_argument("--port", type=int, help="port of the web app (default 8000)")
        parser.add_argument(
            "--prefect-port", type=int, help="port of the embedded Prefect server (default 4200)"
        )
        parser.add_argument("--data-dir", type=Path, help="data directory (default ./data)")

    up = sub.add_parser("up", help="run the embedded stack: Prefect server, flow runner, web app")
    stack_options(up)
    up.add_argument(
        "--scale",
        action="store_true",
        help="the multi-host shape on this machine: Prefect server on PostgreSQL, Prefect "
        "workers, several web processes behind nginx (docs/operations.md)",
    )
    up.add_argument("--workers", type=int, default=2, help="with --scale: Prefect workers")
    up.add_argument(
        "--web-processes", type=int, default=2, help="with --scale: web processes behind nginx"
    )
    up.set_defaults(handler=cmd_up)

    doctor = sub.add_parser("doctor", help="check the installation and say what to fix")
    stack_options(doctor)
    doctor.set_defaults(handler=cmd_doctor)

    dbp = sub.add_parser("db", help="database migrations")
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    upgrade = dbsub.add_parser("upgrade", help="apply migrations (default: to the newest)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.add_argument("--data-dir", type=Path)
    upgrade.set_defaults(handler=cmd_db_upgrade)

    users = sub.add_parser("users", help="manage clerk and administrator accounts")
    usub = users.add_subparsers(dest="users_command", required=True)
    create = usub.add_parser("create", help="create an account")
    create.add_argument("username")
    create.add_argument("--role", choices=["clerk", "admin"], default="clerk")
    create.add_argument("--name", help="display name")
    create.add_argument("--password", help="password (asked for when omitted)")
    create.add_argument("--data-dir", type=Path)
    create.set_defaults(handler=cmd_users_create)
