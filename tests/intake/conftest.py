"""Shared helpers of the intake tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def corpus_dir() -> Path:
    """The shared corpora beside the repository (``../shared/corpus``), never copied."""
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()


@pytest.fixture(scope="session")
def corpus() -> Path:
    return corpus_dir()
