"""Two web processes behind the shipped nginx configuration: a back-office session, its
CSRF tokens and the portal's rate limit hold whichever process answers; a consultation's
citizen and clerk reach the process holding the call and exchange media (real aiortc
peers); "all lines are busy" only when every process is full."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from servicepoint import db
from tests.scale.conftest import ADMIN_PASSWORD, ATTEMPTS_PER_MINUTE, Office
from tests.scale.test_workers import cheap_submission
from tests.video.clients import GREEN, RED, Participant, recent
from video.models import VideoPlacement
from video.routing import NODE_HEADER

pytestmark = pytest.mark.slow(seconds=40)
NODES = {"web-1", "web-2"}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def test_a_back_office_session_works_on_every_web_process(office: Office) -> None:
    with httpx.Client(base_url=office.url, timeout=30) as client:
        form = client.get("/backoffice/anmelden")
        signed_in = client.post(
            "/backoffice/anmelden",
            data={
                "username": "admin",
                "password": ADMIN_PASSWORD,
                "csrf_token": csrf_of(form.text),
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        answered_by: set[str] = set()
        for _ in range(8):
            page = client.get("/backoffice/sitzung")
            assert page.status_code == 200
            assert page.json()["user"] == "admin"
            answered_by.add(page.headers[NODE_HEADER])
        assert answered_by == NODES
        # The same cookie straight at each process, past the proxy: signed in there too,
        # and a form's CSRF token issued by one process is accepted by the other.
        nodes = office.node_urls()
        assert set(nodes) == NODES
        token = csrf_of(client.get("/backoffice/passwort").text)
        for name, url in sorted(nodes.items()):
            direct = httpx.get(url + "/backoffice/sitzung", cookies=client.cookies, timeout=30)
            assert direct.headers[NODE_HEADER] == name
            assert direct.json()["user"] == "admin"
            refused = httpx.post(
                url + "/backoffice/passwort",
                data={"csrf_token": token, "current": "wrong", "new": "x", "repeat": "y"},
                cookies=client.cookies,
                timeout=30,
            )
            assert refused.status_code != 403  # the CSRF token held; the form said no
            assert refused.headers[NODE_HEADER] == name
        # Signed out on one process is signed out on all.
        first, second = sorted(nodes.values())
        out = httpx.post(
            first + "/backoffice/abmelden", data={"csrf_token": token}, cookies=client.cookies
        )
        assert out.status_code == 303
        after = httpx.get(second + "/backoffice/sitzung", cookies=client.cookies)
        assert after.status_code in (401, 303)


def test_the_rate_limit_holds_whichever_process_answers(office: Office) -> None:
    data, files = cheap_submission("case-001")
    with httpx.Client(base_url=office.url, timeout=30) as client:
        submitted = client.post("/api/v1/applications", data=data, files=files)
        assert submitted.status_code == 202
        case = submitted.json()["id"]
        token = csrf_of(client.get(f"/antrag/{case}").text)
        answers = [
            client.post(f"/antrag/{case}/zugang", data={"csrf_token": token, "code": "falsch"})
            for _ in range(ATTEMPTS_PER_MINUTE + 3)
        ]
    codes = [a.status_code for a in answers]
    assert codes == [303] * ATTEMPTS_PER_MINUTE + [429] * 3, codes
    assert {a.headers[NODE_HEADER] for a in answers[:ATTEMPTS_PER_MINUTE]} == NODES
    assert {a.headers[NODE_HEADER] for a in answers[ATTEMPTS_PER_MINUTE:]} == NODES


def _start_now(client: httpx.Client, bearer: str, topic: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {bearer}"}
    created = client.post(
        "/api/v1/consultations",
        json={
            "starts_at": datetime.now(UTC).isoformat(),
            "citizen_name": "Erika Mustermann",
            "citizen_email": "erika@example.org",
            "topic": topic,
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    clerk = client.post(f"/api/v1/consultations/{body['id']}/clerk-token", headers=auth)
    body["clerk_token"] = clerk.json()["clerk_token"]
    return body


def holder_of(office: Office, consultation_id: str) -> str | None:
    with db.session_scope_for(office.database_url) as session:
        row = session.get(VideoPlacement, consultation_id)
        return row.node if row else None


def test_citizen_and_clerk_reach_the_process_holding_their_call(office: Office) -> None:
    with httpx.Client(base_url=office.url, timeout=30) as client:
        login = client.post(
            "/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
        )
        bearer = login.json()["access_token"]
        first, second, third = (_start_now(client, bearer, f"Anmeldung {i}") for i in range(3))
    nodes = office.node_urls()

    async def scenario() -> None:
        citizen = Participant(office.url, RED)  # through nginx
        officer: Participant | None = None
        spill: Participant | None = None
        try:
            await citizen.join(first["citizen_token"])
            holder = holder_of(office, first["id"])
            assert holder in NODES
            (elsewhere,) = NODES - {holder}
            # The clerk asks the other process, which passes the join on to the holder.
            officer = Participant(nodes[elsewhere], GREEN)
            await officer.join(first["clerk_token"])
            async with httpx.AsyncClient(timeout=30) as client:
                state = await client.get(
                    f"{office.url}/api/v1/consultations/{first['id']}/state",
                    params={"token": first["clerk_token"]},
                )
                assert state.json()["citizen_present"] is True
                assert state.json()["clerk_present"] is True
                assert state.headers[NODE_HEADER] == holder
                admitted = await client.post(
                    f"{nodes[elsewhere]}/api/v1/consultations/{first['id']}/admit",
                    json={"token": first["clerk_token"]},
                )
                assert admitted.status_code == 200, admitted.text
                assert admitted.headers[NODE_HEADER] == holder
            assert await citizen.wait_for(lambda: recent(citizen.kinds).count("green") >= 10, 30)
            assert await officer.wait_for(lambda: recent(officer.kinds).count("red") >= 10, 30)

            # One line per process here: the holder is full, the next call goes to the
            # other process even when asked at the full one...
            spill = Participant(nodes[holder], RED)
            await spill.join(second["citizen_token"])
            assert holder_of(office, second["id"]) == elsewhere
            # ...and only when both are full does a citizen hear that every line is busy.
            late = Participant(office.url, RED)
            try:
                with pytest.raises(httpx.HTTPStatusError) as refused:
                    await late.join(third["citizen_token"])
            finally:
                await late.close()
            assert refused.value.response.status_code == 503
            assert "Alle Leitungen sind belegt" in refused.value.response.json()["message"]
            assert holder_of(office, third["id"]) is None

            # Hanging up (asked at either process) frees the holder's line and its claim.
            async with httpx.AsyncClient(timeout=30) as client:
                for item, via in ((first, nodes[elsewhere]), (second, office.url)):
                    hung_up = await client.post(
                        f"{via}/api/v1/video/hangup", json={"token": item["clerk_token"]}
                    )
                    assert hung_up.status_code == 204
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (
                holder_of(office, first["id"]) or holder_of(office, second["id"])
            ):
                await asyncio.sleep(0.2)
            assert holder_of(office, first["id"]) is None
            assert holder_of(office, second["id"]) is None
        finally:
            for participant in (citizen, officer, spill):
                if participant is not None:
                    await participant.close()

    asyncio.run(scenario())
