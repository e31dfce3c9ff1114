"""The registration point: the kernel finds every domain through its entry points."""

from __future__ import annotations

import pytest

from servicepoint import domains
from servicepoint.app import create_app


def test_every_domain_package_is_registered_in_order() -> None:
    assert domains.packages() == ("intake", "backoffice", "video", "tutorials", "flows")


def test_the_app_mounts_the_routes_of_every_domain() -> None:
    paths = {getattr(route, "path", "") for router in domains.routers() for route in router.routes}
    assert {"/api/v1/applications", "/backoffice/vorgaenge", "/tutorials"} <= paths
    assert create_app() is not None


def test_tables_of_every_domain_are_imported() -> None:
    from servicepoint.db import metadata

    domains.import_tables()
    assert {"applications", "document_requests", "consultations", "tutorials"} <= set(
        metadata.tables
    )


def test_the_flow_processes_come_from_the_registered_flows_domain() -> None:
    assert domains.flow_runner_module() == "flows.runner"
    assert domains.warm_start_module() == "flows.warm_start"
    assert domains.warm_start_socket().endswith(".sock")


def test_without_any_registered_domain_the_kernel_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(domains, "entry_points", lambda group: [])
    domains.registered.cache_clear()
    try:
        with pytest.raises(domains.RegistrationError, match="pip install -e"):
            domains.registered()
    finally:
        domains.registered.cache_clear()


def test_the_stack_and_the_workers_start_the_registered_flow_processes() -> None:
    from servicepoint import scale, stack
    from servicepoint.settings import get_settings

    flows_child = next(c for c in stack.build_children(get_settings()) if c.name == "flows")
    assert flows_child.argv[-2:] == ["-m", "flows.runner"]
    assert scale.flow_run_command(warm=True).endswith(" -m flows.warm_start")
    assert scale.flow_run_command(warm=False).endswith(" -m prefect.engine")
