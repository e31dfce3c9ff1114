"""Join/leave cycles leave the number of peer connections (and memory) flat.
The full 200-cycle run is ``bench/video_capacity.py --leak 200``."""

from __future__ import annotations

import asyncio
import resource

from servicepoint import auth
from tests.e2e.conftest import LiveServer
from tests.video.clients import GREEN, Participant
from tests.video.conftest import consultation, tokens
from video import api


def test_join_leave_cycles_free_every_peer_connection(
    video_server: LiveServer, clerk: auth.User
) -> None:
    item = consultation(clerk)
    citizen_token = tokens(item)[0]

    async def cycles(n: int) -> None:
        for _ in range(n):
            person = Participant(video_server.url, GREEN, analyse=False)
            await person.join(citizen_token)
            assert await person.wait_for(lambda p=person: p.frames > 0, 10)  # type: ignore[misc]
            await person.close()  # like a closed tab: no hang-up message
            assert await person.wait_for(lambda: api.manager().stats()["peer_connections"] == 0, 10)

    asyncio.run(cycles(3))  # warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    asyncio.run(cycles(15))
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert api.manager().stats() == {"calls": 0, "rooms": 0, "peer_connections": 0}
    assert grown_kib < 60_000
