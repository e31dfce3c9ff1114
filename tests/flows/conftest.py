"""Helpers of the flow tests; the fixtures themselves live in tests/conftest.py so that
one runner and one SMTP server serve the whole session."""

from tests.conftest import (
    Mailbox,
    PrefectServer,
    Runner,
    runner_for,
    wait_for_deployments,
)

__all__ = ["Mailbox", "PrefectServer", "Runner", "runner_for", "wait_for_deployments"]
