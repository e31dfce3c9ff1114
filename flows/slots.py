"""OCR slots of this host: all flow runs on one machine read at most
``SERVICEPOINT_OCR_WORKERS`` documents at once (tesseract is CPU-bound: one process per
core).

A slot is an exclusive ``flock`` on one of N files in ``DATA_DIR/locks/ocr``. The kernel
releases it when the holder's process ends, however it ends, so a killed or crashed run
never keeps a slot. (Before, a Prefect global concurrency limit held the slots: a slot
whose release did not reach the server stayed taken until its 300 s lease ran out, and
during a burst both slots were held that way while the machine stood idle.) The limit is
per host, which is what one process per core means when runners run on several hosts.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from servicepoint.settings import get_settings

POLL_SECONDS = 0.05  # a waiting reader looks again after this (a few syscalls)


def _try_take(directory: Path, count: int) -> tuple[int, int] | None:
    """(slot number, locked file descriptor) of a free slot, or None when all are taken."""
    for number in range(count):
        fd = os.open(directory / f"slot-{number}", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return number, fd
    return None


@asynccontextmanager
async def ocr_slot(directory: Path | None = None, count: int | None = None) -> AsyncIterator[int]:
    """Hold one OCR slot of this host for the block; yields the slot's number."""
    settings = get_settings()
    directory = directory or settings.data_dir / "locks" / "ocr"
    count = max(1, count if count is not None else settings.ocr_workers)
    directory.mkdir(parents=True, exist_ok=True)
    while (taken := _try_take(directory, count)) is None:
        await asyncio.sleep(POLL_SECONDS)
    number, fd = taken
    try:
        yield number
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
