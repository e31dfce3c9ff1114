"""Shared helpers of the intake tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.intake.portal_helpers import Citizen


def corpus_dir() -> Path:
    """The shared corpora beside the repository (``../shared/corpus``), never copied."""
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()


@pytest.fixture(scope="session")
def corpus() -> Path:
    return corpus_dir()


# --- the citizen portal (tests/intake/test_portal_*.py) ------------------------------------


@pytest.fixture(scope="module")
def app(migrated_db: str) -> Any:
    from servicepoint.app import create_app

    return create_app()


@pytest.fixture
def fresh_rate_limit() -> Iterator[None]:
    from intake.portal import portal

    portal.submissions.reset()
    yield
    portal.submissions.reset()


@pytest.fixture
def citizen(app: Any) -> Citizen:
    return Citizen(TestClient(app))
