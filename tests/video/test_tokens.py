"""Join tokens: wrong role, consultation or time answer 403 and create no peer connection;
beyond the capacity the citizen gets a clear "busy" answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from servicepoint import auth
from tests.e2e.conftest import LiveServer
from tests.video.clients import GREEN, Participant
from tests.video.conftest import consultation, tokens
from video import api, service


def _offer_body(token: str, **extra: str) -> dict[str, str]:
    return {"token": token, "sdp": "v=0\r\n", "type": "offer", **extra}


def test_tokens_of_the_wrong_role_consultation_or_time_are_refused(
    video_server: LiveServer, clerk: auth.User
) -> None:
    first, second = consultation(clerk), consultation(clerk)
    citizen_first, clerk_first = tokens(first)
    future = consultation(clerk, starts_in=timedelta(hours=3))
    past = consultation(clerk, starts_in=timedelta(hours=-2))
    before = api.manager().stats()["peer_connections"] if api._manager else 0
    with httpx.Client(base_url=video_server.url) as client:
        # wrong role: a citizen cannot admit
        response = client.post(
            f"/api/v1/consultations/{first.id}/admit", json={"token": citizen_first}
        )
        assert response.status_code == 403
        # wrong consultation: a clerk token of another consultation
        response = client.post(
            f"/api/v1/consultations/{second.id}/admit", json={"token": clerk_first}
        )
        assert response.status_code == 403
        response = client.post(
            "/api/v1/video/offer", json=_offer_body(citizen_first, consultation_id=second.id)
        )
        assert response.status_code == 403
        # wrong time: before the window opens and after the slot ended
        for item in (future, past):
            token = service.join_token(item, service.Role.CITIZEN)
            response = client.post("/api/v1/video/offer", json=_offer_body(token))
            assert response.status_code == 403, response.text
        # forged
        response = client.post("/api/v1/video/offer", json=_offer_body(citizen_first + "x"))
        assert response.status_code == 403
        # no clerk credentials at all
        response = client.post(f"/api/v1/consultations/{first.id}/admit")
        assert response.status_code == 401
    after = api.manager().stats()["peer_connections"] if api._manager else 0
    assert after == before


def test_token_window_is_bound_in_the_signature() -> None:
    class Fake:
        id = "c" * 32
        starts_at = service.utcnow()
        ends_at = service.utcnow() + timedelta(minutes=30)

    token = service.join_token(Fake(), service.Role.CLERK)  # type: ignore[arg-type]
    claim = service.verify_token(token, role=service.Role.CLERK)
    assert claim.consultation_id == "c" * 32
    with pytest.raises(Exception, match="not allowed|not valid"):
        service.verify_token(token, now=service.utcnow() + timedelta(hours=1))


def test_beyond_capacity_the_citizen_is_told_to_try_later(
    video_server: LiveServer, clerk: auth.User
) -> None:
    calls = [consultation(clerk) for _ in range(3)]

    async def scenario() -> None:
        manager = api.manager()
        saved = manager.max_calls
        manager.max_calls = manager.active_calls + 2
        people = [Participant(video_server.url, GREEN, analyse=False) for _ in range(3)]
        try:
            for person, item in zip(people[:2], calls[:2], strict=True):
                await person.join(tokens(item)[0])
            await people[2].pc.setLocalDescription(await people[2].pc.createOffer())
            async with httpx.AsyncClient(base_url=video_server.url) as client:
                response = await client.post(
                    "/api/v1/video/offer",
                    json={
                        "token": tokens(calls[2])[0],
                        "sdp": people[2].pc.localDescription.sdp,
                        "type": "offer",
                    },
                )
                assert response.status_code == 503
                body = response.json()
                assert body["error"] == "busy"
                assert body["retry_after_minutes"] >= 1
                assert "Alle Leitungen sind belegt" in body["message"]
                # the join page says so before anybody tries
                page = await client.get(
                    f"/video/teilnehmen/{calls[2].id}", params={"token": tokens(calls[2])[0]}
                )
                assert page.status_code == 503
                assert "Alle Leitungen sind belegt" in page.text
        finally:
            for person in people:
                await person.close()
            manager.max_calls = saved
        assert await people[0].wait_for(lambda: manager.stats()["peer_connections"] == 0, 10)

    asyncio.run(scenario())
