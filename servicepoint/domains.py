"""The registration point: how the kernel learns which domain packages exist.

The kernel imports no domain package by name. Each domain declares itself with an entry
point in the ``servicepoint.domains`` group of ``pyproject.toml``::

    [project.entry-points."servicepoint.domains"]
    video = "video.domain:DOMAIN"

pointing at a :class:`Domain` that names, as module paths inside the package, what the
kernel composes: routers, tables, command-line sub-commands, templates, message
catalogues, middleware and the processes that run flows. The declaration is read at start-up
with :mod:`importlib.metadata`; the modules it names are imported only when the kernel needs
them (the command line does not import the web routers, a worker does not import the CLI).

An entry point exists once the project is installed (``pip install -e .``, which
``scripts/bootstrap.sh`` does on every run); a checkout that was installed before a domain
was added must be installed again.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module, resources
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

GROUP = "servicepoint.domains"


class RegistrationError(RuntimeError):
    """No domain registered, or a declaration that is not a :class:`Domain`."""


@dataclass(frozen=True)
class Domain:
    """What one domain package offers the kernel; every module path is importable."""

    package: str
    # Position among the domains: routers are mounted and templates searched in this order.
    order: int
    # Modules that expose ``router`` (an APIRouter), mounted in this order.
    routers: tuple[str, ...] = ()
    # Modules that define tables (imported so that Alembic and the tests see the schema).
    tables: tuple[str, ...] = ()
    # Modules with ``register(subparsers)`` adding ``servicepoint`` sub-commands.
    commands: tuple[str, ...] = ()
    # Template folders, relative to the package.
    templates: tuple[str, ...] = ()
    # ASGI middleware classes as ``module:Class``, wrapped around the app (outermost last).
    middleware: tuple[str, ...] = ()
    # The process that serves every flow deployment in the embedded stack (``python -m``).
    flow_runner: str | None = None
    # The warm process next to each worker at scale (``python -m MODULE --serve``); the
    # module names its socket in ``SOCKET_NAME``.
    warm_start: str | None = None


@lru_cache(maxsize=1)
def registered() -> tuple[Domain, ...]:
    """Every installed domain, in their declared order."""
    found: list[Domain] = []
    for point in entry_points(group=GROUP):
        domain = point.load()
        if not isinstance(domain, Domain):
            raise RegistrationError(f"entry point {point.value} is not a servicepoint Domain")
        found.append(domain)
    if not found:
        raise RegistrationError(
            f"no domain package is registered (entry points {GROUP!r}): install the project "
            "again with 'pip install -e .' (scripts/bootstrap.sh does)"
        )
    return tuple(sorted(found, key=lambda d: (d.order, d.package)))


def _attribute(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


def routers() -> Iterator[Any]:
    """Each domain's routers (``module.router``), in mounting order."""
    for domain in registered():
        for module in domain.routers:
            yield import_module(module).router


def middleware() -> Iterator[Any]:
    """Middleware classes from every domain, innermost first."""
    for domain in registered():
        for path in domain.middleware:
            yield _attribute(path)


def import_tables() -> list[str]:
    """Import every domain's table modules (they register on the shared metadata)."""
    modules = [module for domain in registered() for module in domain.tables]
    for module in modules:
        import_module(module)
    return modules


def register_commands(subparsers: argparse._SubParsersAction[Any]) -> None:  # noqa: SLF001
    for domain in registered():
        for module in domain.commands:
            register: Callable[[Any], None] = import_module(module).register
            register(subparsers)


def packages() -> tuple[str, ...]:
    """The domain packages by name (message catalogues are looked up in each)."""
    return tuple(domain.package for domain in registered())


def template_dirs() -> list[Path]:
    dirs = []
    for domain in registered():
        root = Path(str(resources.files(domain.package)))
        dirs += [root / folder for folder in domain.templates if (root / folder).is_dir()]
    return dirs


def _one(kind: str) -> str:
    modules = [m for d in registered() if (m := getattr(d, kind)) is not None]
    if len(modules) != 1:
        raise RegistrationError(f"exactly one domain must declare {kind}, found {modules}")
    return str(modules[0])


def flow_runner_module() -> str:
    """The module the embedded stack runs as its flow runner (``python -m``)."""
    return _one("flow_runner")


def warm_start_module() -> str:
    """The module each worker's warm process runs at scale (``python -m``)."""
    return _one("warm_start")


def warm_start_socket() -> str:
    """The socket file name the warm process listens on (under the data dir's locks/)."""
    return str(import_module(warm_start_module()).SOCKET_NAME)
