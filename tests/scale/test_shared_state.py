"""What several web processes must share: rate limits (in the database) and the secrets
(generated once into the shared directory, whoever asks first)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from servicepoint import db
from servicepoint.ratelimit import SharedWindow
from servicepoint.settings import Settings, reset_settings
from tests.conftest import REPO_ROOT, _create_database


@pytest.fixture
def on_postgres(postgres_url: str) -> Iterator[str]:
    """The application database on a fresh PostgreSQL database for this test."""
    cluster = make_url(postgres_url)
    name = f"app_{uuid.uuid4().hex[:10]}"
    _create_database(cluster.port or 5432, name)
    url = cluster.set(database=name).render_as_string(hide_password=False)
    db.upgrade(url)
    previous = os.environ.get("SERVICEPOINT_DATABASE_URL")
    os.environ["SERVICEPOINT_DATABASE_URL"] = url
    reset_settings()
    try:
        yield url
    finally:
        if previous is None:
            os.environ.pop("SERVICEPOINT_DATABASE_URL", None)
        else:
            os.environ["SERVICEPOINT_DATABASE_URL"] = previous
        reset_settings()


def test_a_shared_window_admits_exactly_the_limit_under_concurrent_hits(on_postgres: str) -> None:
    # Two windows stand for two web processes; 16 threads hit the same client at once.
    windows = [SharedWindow(), SharedWindow()]
    with ThreadPoolExecutor(16) as pool:
        waits = list(pool.map(lambda i: windows[i % 2].hit("203.0.113.9", 10), range(40)))
    assert sum(1 for wait in waits if wait == 0.0) == 10
    assert all(0 < wait <= 60 for wait in waits if wait)
    # Another client has its own window; an old window is forgotten.
    assert windows[0].hit("203.0.113.10", 10) == 0.0
    later = SharedWindow().hit("203.0.113.9", 10, now=__import__("time").time() + 61)
    assert later == 0.0


def test_a_shared_window_counts_like_the_in_memory_one(migrated_db: str) -> None:
    window = SharedWindow(window=60)
    window.reset()
    assert [window.hit("a", 2, now=t) for t in (1000, 1001)] == [0.0, 0.0]
    assert window.hit("a", 2, now=1002) == pytest.approx(58)
    assert window.hit("b", 2, now=1002) == 0.0
    assert window.hit("a", 2, now=1060.5) == 0.0


def test_processes_asking_for_a_new_secret_at_once_all_get_the_same(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    script = (
        "import sys; from servicepoint.settings import Settings; "
        "sys.stdout.write(Settings().secret('token_key'))"
    )
    env = dict(os.environ)
    env.update(
        {"SERVICEPOINT_SHARED_DIR": str(shared), "SERVICEPOINT_DATA_DIR": str(tmp_path / "own")}
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script], env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE
        )
        for _ in range(6)
    ]
    values = {child.communicate(timeout=60)[0].decode() for child in children}
    assert len(values) == 1
    value = values.pop()
    assert len(value) > 40
    assert (shared / "secrets" / "token_key").read_text() == value
    assert sorted(p.name for p in (shared / "secrets").iterdir()) == ["token_key"]
    own = Settings(data_dir=tmp_path / "other", shared_dir=shared)
    assert own.secret("token_key") == value
    assert own.documents_dir == shared / "documents"
