"""Database engine, sessions and migrations.

SQLite (default, in the data directory) and PostgreSQL are both supported; the schema
is owned by Alembic migrations in ``servicepoint/migrations`` from the first table on.
One transaction per request or per task, owned by the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from servicepoint.settings import get_settings

# Stable constraint names, so migrations are reproducible on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a flow writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine() -> Engine:
    return engine_for(get_settings().effective_database_url)


def dispose_engines() -> None:
    engine_for.cache_clear()


def session_scope() -> AbstractContextManager[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    return session_scope_for(get_settings().effective_database_url)


@contextmanager
def session_scope_for(url: str) -> Iterator[Session]:
    """Like :func:`session_scope`, for an explicit database URL (CLI commands)."""
    with Session(engine_for(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


# "function" scope: the transaction commits before the response is sent, so a client
# that reads right after a write sees it (the default would commit afterwards).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def alembic_config(url: str | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url or get_settings().effective_database_url)
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (``servicepoint db upgrade``)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine_for(url or get_settings().effective_database_url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ping() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
