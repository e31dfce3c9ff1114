"""Join/leave cycles leave the number of peer connections and memory flat.
The full 200-cycle run is ``bench/video_capacity.py --leak 200``; like it, this test
samples the current RSS after every cycle and bounds its slope over the later cycles
(allocator arenas and caches fill during the first ones)."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import itertools
import statistics
from pathlib import Path

import pytest

from servicepoint import auth
from tests.e2e.conftest import LiveServer
from tests.video.clients import GREEN, Participant
from tests.video.conftest import consultation, tokens
from video import api

pytestmark = pytest.mark.slow(seconds=40)
WARM_UP = 10
MEASURED = 24
# Measured on 2 loaded cores: a flat relay +12 and +47 KiB/cycle (median slope over
# cycles 12-23, the test's clients in the same process); a relay that keeps each closed
# call's participant object +388 and +402 KiB/cycle.
SLOPE_LIMIT_KIB = 150.0


libc = ctypes.CDLL("libc.so.6")
M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)


def current_rss_kib() -> int:
    """The process's resident memory now, after handing freed heap back to the system
    (else the allocator's free lists, not live objects, decide what RSS shows)."""
    gc.collect()
    libc.malloc_trim(0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def robust_slope(values: list[int]) -> float:
    """Theil-Sen: the median of the slopes between every two samples, so that one sample
    taken while a large buffer happened to be alive does not decide the trend."""
    return statistics.median(
        (values[j] - values[i]) / (j - i) for i, j in itertools.combinations(range(len(values)), 2)
    )


def test_join_leave_cycles_free_every_peer_connection(
    video_server: LiveServer, clerk: auth.User
) -> None:
    item = consultation(clerk)
    citizen_token = tokens(item)[0]
    # One malloc arena for threads created from now on: glibc adds an arena whenever
    # more threads than before allocate at once (aiortc starts several per call), and
    # each new arena shows as a step in RSS that is the allocator's, not a leak.
    libc.mallopt(M_ARENA_MAX, 1)

    async def cycles(n: int) -> list[int]:
        rss = []
        for _ in range(n):
            person = Participant(video_server.url, GREEN, analyse=False)
            await person.join(citizen_token)
            assert await person.wait_for(lambda p=person: p.frames > 0, 10)  # type: ignore[misc]
            await person.close()  # like a closed tab: no hang-up message
            assert await person.wait_for(lambda: api.manager().stats()["peer_connections"] == 0, 10)
            del person
            await asyncio.sleep(0.5)  # the receivers' decoder threads end after the close
            rss.append(current_rss_kib())
        return rss

    asyncio.run(cycles(WARM_UP))
    rss = asyncio.run(cycles(MEASURED))
    assert api.manager().stats() == {"calls": 0, "rooms": 0, "peer_connections": 0}
    later = MEASURED // 2
    slope = robust_slope(rss[later:])
    grown = [round((value - rss[0]) / 1024, 1) for value in rss]
    assert slope < SLOPE_LIMIT_KIB, f"RSS grows {slope:+.0f} KiB per cycle; MiB since: {grown}"
