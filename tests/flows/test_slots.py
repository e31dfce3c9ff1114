"""OCR slots of a host: a flock per slot, freed by the kernel when the holder dies."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flows.slots import ocr_slot

REPO_ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from flows.slots import ocr_slot

    async def main() -> None:
        async with ocr_slot(Path(sys.argv[1]), 2) as number:
            print(number, flush=True)
            await asyncio.sleep(600)

    asyncio.run(main())
    """
)


def _holder(directory: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


async def _take(directory: Path) -> int:
    async with ocr_slot(directory, 2) as number:
        return number


def test_two_slots_across_processes_and_a_killed_holder_frees_its_slot(tmp_path: Path) -> None:
    first, a = _holder(tmp_path)
    second, b = _holder(tmp_path)
    try:
        assert {a, b} == {0, 1}
        # both slots are held by other processes: a third reader waits
        with pytest.raises(TimeoutError):
            asyncio.run(asyncio.wait_for(_take(tmp_path), timeout=1.0))
        # SIGKILL: no clean-up code runs, the kernel drops the lock with the process
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert asyncio.run(asyncio.wait_for(_take(tmp_path), timeout=10)) == a
    finally:
        for process in (first, second):
            process.kill()
            process.wait(timeout=10)


def test_a_slot_is_given_back_when_the_block_ends_even_on_error(tmp_path: Path) -> None:
    async def fail_inside() -> None:
        async with ocr_slot(tmp_path, 1):
            raise RuntimeError("reader crashed")

    with pytest.raises(RuntimeError):
        asyncio.run(fail_inside())
    assert asyncio.run(asyncio.wait_for(_take(tmp_path), timeout=2)) == 0
