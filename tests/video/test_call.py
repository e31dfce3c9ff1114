"""Two real aiortc participants (citizen, clerk) through the real server (live uvicorn)."""

from __future__ import annotations

import asyncio

import av
import httpx

from servicepoint import auth
from tests.e2e.conftest import LiveServer
from tests.video.clients import GREEN, RED, Participant, recent
from tests.video.conftest import consultation, tokens
from video import api


def test_waiting_room_then_relayed_call_with_chat(
    video_server: LiveServer, clerk: auth.User
) -> None:
    item = consultation(clerk)
    citizen_token, clerk_token = tokens(item)

    async def scenario() -> None:
        citizen = Participant(video_server.url, RED)
        officer = Participant(video_server.url, GREEN)
        try:
            await officer.join(clerk_token)
            await citizen.join(citizen_token)
            # Before admission: the waiting screen, never the clerk's green.
            assert await citizen.wait_for(lambda: len(citizen.kinds) >= 20)
            assert "green" not in citizen.kinds
            assert recent(citizen.kinds).count("blue") >= 10
            assert "red" not in officer.kinds  # nor does the clerk see the citizen yet
            assert await citizen.wait_for(
                lambda: any(m.get("state") == "waiting" for m in citizen.messages)
            )
            waiting = next(m for m in citizen.messages if m.get("state") == "waiting")
            assert waiting["position"] == 1
            citizen.send({"type": "chat", "text": "vor dem Einlass"})  # not forwarded

            async with httpx.AsyncClient(base_url=video_server.url) as client:
                response = await client.post(
                    f"/api/v1/consultations/{item.id}/admit", json={"token": clerk_token}
                )
            assert response.status_code == 200, response.text
            assert response.json()["admitted"] is True

            # After admission frames of each side arrive at the other.
            assert await citizen.wait_for(lambda: recent(citizen.kinds).count("green") >= 10)
            assert await officer.wait_for(lambda: recent(officer.kinds).count("red") >= 10)
            # ...relayed as the encoded VP8 frames they were sent as, never decoded here.
            room = api.manager().rooms[item.id]
            for side in (room.citizen, room.clerk):
                assert side is not None
                assert side.video_in is not None
                assert side.video_in.encoded
                assert isinstance(side.video_in.latest, av.Packet)

            citizen.send({"type": "chat", "text": "Müller mit ü"})
            officer.send({"type": "chat", "text": "https://example.org/formular"})
            assert await officer.wait_for(
                lambda: (
                    {"type": "chat", "from": "citizen", "text": "Müller mit ü"} in officer.messages
                )
            )
            assert await citizen.wait_for(
                lambda: (
                    {"type": "chat", "from": "clerk", "text": "https://example.org/formular"}
                    in citizen.messages
                )
            )
            assert not any(m.get("text") == "vor dem Einlass" for m in officer.messages)

            citizen.send({"type": "hangup"})
            assert await officer.wait_for(lambda: {"type": "ended"} in officer.messages)
            assert await officer.wait_for(lambda: api.manager().stats()["rooms"] == 0)
        finally:
            await citizen.close()
            await officer.close()

    asyncio.run(scenario())
    assert api.manager().stats()["peer_connections"] == 0
