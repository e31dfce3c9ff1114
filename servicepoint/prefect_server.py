"""The embedded Prefect server: Prefect's own command line, with a short SQLite busy timeout.

Prefect sets ``PRAGMA busy_timeout = 60000`` on every SQLite connection of its server.
Measured with gdb during the server's 60-second stalls (docs/operations.md): the event
loop's thread frees a cursor of a connection whose worker thread is waiting for the
write lock. Freeing it waits for that connection's mutex while holding the GIL, so no
other thread of the server runs, the connection that holds the write lock cannot finish,
and everything waits until the busy timeout ends. With a timeout of ``SQLITE_BUSY_MS``
the same stall lasts at most that long; the statement that waited fails with "database
is locked", and Prefect's services and clients retry it.

PostgreSQL (``SERVICEPOINT_PREFECT_DATABASE_URL``) is not affected; nothing changes there.
"""

from __future__ import annotations

from typing import Any

SQLITE_BUSY_MS = 5000


def shorten_sqlite_busy_timeout(milliseconds: int = SQLITE_BUSY_MS) -> None:
    """Make every SQLite connection the Prefect server opens from now on wait at most
    ``milliseconds`` for a lock (idempotent)."""
    from prefect.server.database.configurations import AioSqliteConfiguration

    prefect_setup = AioSqliteConfiguration.setup_sqlite
    if getattr(prefect_setup, "busy_ms", None) == milliseconds:
        return

    def setup_sqlite(self: AioSqliteConfiguration, conn: Any, record: Any) -> None:
        prefect_setup(self, conn, record)
        cursor = conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(milliseconds)};")
        cursor.close()

    setup_sqlite.busy_ms = milliseconds  # type: ignore[attr-defined]
    AioSqliteConfiguration.setup_sqlite = setup_sqlite  # type: ignore[method-assign]


WORKERS_PAGE = 200  # the server's default page size (PREFECT_API_DEFAULT_LIMIT)


def send_worker_page_size() -> None:
    """``prefect deploy`` of Prefect 3.8.8 asks the server which workers are online with
    ``offset`` and ``limit`` set to null, which the server refuses (422 "Input should be a
    valid integer"), and the command stops after its first deployment. The client's query
    then sends the server's own defaults instead of null (idempotent)."""
    from prefect.client.orchestration._work_pools.client import WorkPoolAsyncClient

    prefect_read = WorkPoolAsyncClient.read_workers_for_work_pool
    if getattr(prefect_read, "pages", False):
        return

    async def read_workers_for_work_pool(
        self: Any,
        work_pool_name: str,
        worker_filter: Any = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Any:
        return await prefect_read(
            self,
            work_pool_name,
            worker_filter=worker_filter,
            offset=offset or 0,
            limit=limit or WORKERS_PAGE,
        )

    read_workers_for_work_pool.pages = True  # type: ignore[attr-defined]
    WorkPoolAsyncClient.read_workers_for_work_pool = read_workers_for_work_pool  # type: ignore[method-assign]


def create_app() -> Any:
    """Prefect's server application with the shorter lock wait (for ``uvicorn --factory``)."""
    shorten_sqlite_busy_timeout()
    from prefect.server.api.server import create_app as prefect_app

    return prefect_app()


def main() -> None:
    shorten_sqlite_busy_timeout()
    send_worker_page_size()  # for ``deploy`` (python -m servicepoint.prefect_server deploy)
    from prefect.cli import app

    app()


if __name__ == "__main__":
    main()
