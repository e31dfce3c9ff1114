"""The clerk's in-call controls with real aiortc peers through the live server: a tutorial
played into the citizen's video, a still capture with the citizen's consent, and the
device check loopback."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from PIL import Image, ImageStat
from sqlmodel import col, select

from intake.applications.models import Application, AuditEntry, Document
from servicepoint import auth, db
from servicepoint.settings import get_settings
from tests.conftest import submit_corpus_case
from tests.e2e.conftest import LiveServer
from tests.tutorials.conftest import Published, published  # noqa: F401  (fixture)
from tests.video.clients import GREEN, RED, Participant, classify, recent
from tests.video.conftest import consultation, tokens
from video import api

RTP_WRAP = 1 << 32
HEADER_SHARE = 56 / 540  # the tutorial slides' red title band (tutorials.render)


class Recorder(Participant):
    """A participant that also keeps, per received video frame, its arrival time, its
    RTP timestamp and what it shows (centre colour, colour of the top band)."""

    def __init__(self, base_url: str, colour: tuple[int, int, int]) -> None:
        super().__init__(base_url, colour)
        self.log: list[tuple[float, int, str, str]] = []

    async def _consume(self, track: MediaStreamTrack) -> None:
        if track.kind != "video":
            await super()._consume(track)
            return
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, VideoFrame):
                continue
            image = frame.to_image()  # type: ignore[no-untyped-call]
            width, height = image.size
            centre = image.crop((width // 4, height // 2, 3 * width // 4, 7 * height // 8))
            band = image.crop(
                (2 * width // 5, 4, 3 * width // 5, max(5, int(height * HEADER_SHARE) - 4))
            )
            kind = classify(tuple(ImageStat.Stat(centre).mean))
            top = classify(tuple(ImageStat.Stat(band).mean))
            self.kinds.append(kind)
            self.frames += 1
            self.log.append((time.monotonic(), int(frame.pts or 0), kind, top))


def rtp_steps(log: list[tuple[float, int, str, str]]) -> list[int]:
    """Differences between consecutive RTP timestamps (modulo the 32-bit wrap)."""
    return [(b[1] - a[1]) % RTP_WRAP for a, b in zip(log, log[1:], strict=False)]


async def post(base_url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        return await client.post(path, json=body)


async def admitted_call(
    server: LiveServer, consultation_id: str, citizen_token: str, clerk_token: str
) -> tuple[Recorder, Participant]:
    """Citizen (red) and clerk (green) in a call, admitted, each seeing the other."""
    citizen = Recorder(server.url, RED)
    officer = Participant(server.url, GREEN)
    await officer.join(clerk_token)
    await citizen.join(citizen_token)
    response = await post(
        server.url, f"/api/v1/consultations/{consultation_id}/admit", {"token": clerk_token}
    )
    assert response.status_code == 200, response.text
    assert await citizen.wait_for(lambda: recent(citizen.kinds, 10).count("green") == 10)
    assert await officer.wait_for(lambda: recent(officer.kinds, 10).count("red") == 10)
    return citizen, officer


# --- 1. a tutorial into the call -------------------------------------------------------------
def test_tutorial_replaces_the_clerk_camera_and_back(
    video_server: LiveServer,
    clerk: auth.User,
    published: Published,  # noqa: F811
) -> None:
    item = consultation(clerk)
    citizen_token, clerk_token = tokens(item)
    idle = consultation(clerk)  # nobody has joined this one
    _, idle_clerk_token = tokens(idle)
    base = f"/api/v1/consultations/{item.id}"

    async def scenario() -> None:
        # Refusals first: they must not disturb anything.
        refused = await post(
            video_server.url,
            f"/api/v1/consultations/{idle.id}/tutorial",
            {"token": idle_clerk_token, "tutorial": published.slug},
        )
        assert refused.status_code == 409, refused.text
        citizen, officer = await admitted_call(video_server, item.id, citizen_token, clerk_token)
        try:
            as_citizen = await post(
                video_server.url,
                f"{base}/tutorial",
                {"token": citizen_token, "tutorial": published.slug},
            )
            assert as_citizen.status_code == 403, as_citizen.text
            unknown = await post(
                video_server.url,
                f"{base}/tutorial",
                {"token": clerk_token, "tutorial": "gibt-es-nicht"},
            )
            assert unknown.status_code == 404, unknown.text
            unknown_id = await post(
                video_server.url, f"{base}/tutorial", {"token": clerk_token, "tutorial": "999999"}
            )
            assert unknown_id.status_code == 404, unknown_id.text
            assert recent(citizen.kinds, 10).count("green") == 10  # still the clerk

            before = len(citizen.log)
            started = time.monotonic()
            response = await post(
                video_server.url,
                f"{base}/tutorial",
                {"token": clerk_token, "tutorial": published.slug},
            )
            assert response.status_code == 200, response.text
            assert response.json()["playing"] is True
            # The slides (white page, red title band) replace the clerk's green quickly...
            assert await citizen.wait_for(
                lambda: [(k, t) for _, _, k, t in citizen.log[-5:]] == [("other", "red")] * 5,
                timeout=5,
            ), citizen.log[-10:]
            switched = time.monotonic()
            assert switched - started < 1.5  # leaves 2 s of the 4 s tutorial to observe
            outgoing = api.manager().rooms[item.id].citizen.video_out  # type: ignore[union-attr]
            pictures, encoded = outgoing.sent_pictures, outgoing.sent_encoded
            # ...and keep arriving: observe 2 s of the 4 s tutorial.
            await asyncio.sleep(2.0)
            # The tutorial's pre-encoded VP8 went out as it is: nothing encoded here.
            assert outgoing.sent_pictures == pictures
            assert outgoing.sent_encoded >= encoded + 12
            during = [entry for entry in citizen.log[before:] if entry[0] >= switched]
            assert len(during) >= 12, len(during)  # the tutorial runs at 10 fps
            assert all(k == "other" and t == "red" for _, _, k, t in during), during
            assert recent(officer.kinds, 10).count("red") == 10  # the clerk still sees them

            back = await post(video_server.url, f"{base}/camera", {"token": clerk_token})
            assert back.status_code == 200, back.text
            assert back.json()["playing"] is False
            assert await citizen.wait_for(
                lambda: recent(citizen.kinds, 10).count("green") == 10, timeout=5
            )
            green_again = time.monotonic()
            await asyncio.sleep(1.0)
            after = [entry for entry in citizen.log if entry[0] >= green_again]
            assert len(after) >= 10, len(after)
            assert all(k == "green" for _, _, k, _ in after), after

            # No stall anywhere across both switches, and one continuous clock.
            window = citizen.log[max(0, before - 10) :]
            gaps = [b[0] - a[0] for a, b in zip(window, window[1:], strict=False)]
            assert max(gaps) < 0.5, max(gaps)
            steps = rtp_steps(window)
            assert all(0 < step < 90_000 for step in steps), steps  # forward, < 1 s apart
        finally:
            await citizen.close()
            await officer.close()
            await post(video_server.url, "/api/v1/video/hangup", {"token": clerk_token})

    asyncio.run(scenario())


def test_tutorial_by_id_and_camera_needs_a_clerk(
    video_server: LiveServer,
    clerk: auth.User,
    published: Published,  # noqa: F811
) -> None:
    from tutorials import service as tutorials_service

    with db.session_scope() as session:
        tutorial = tutorials_service.find(session, published.slug)
        assert tutorial is not None
        tutorial_id = tutorial.id
    item = consultation(clerk)
    citizen_token, clerk_token = tokens(item)
    base = f"/api/v1/consultations/{item.id}"

    async def scenario() -> None:
        citizen, officer = await admitted_call(video_server, item.id, citizen_token, clerk_token)
        try:
            response = await post(
                video_server.url,
                f"{base}/tutorial",
                {"token": clerk_token, "tutorial": str(tutorial_id)},
            )
            assert response.status_code == 200, response.text
            assert await citizen.wait_for(
                lambda: [t for _, _, _, t in citizen.log[-5:]] == ["red"] * 5, timeout=5
            )
            refused = await post(video_server.url, f"{base}/camera", {"token": citizen_token})
            assert refused.status_code == 403, refused.text
            anonymous = await post(video_server.url, f"{base}/camera", {})
            assert anonymous.status_code == 401, anonymous.text
            await asyncio.sleep(0.5)
            assert [t for _, _, _, t in citizen.log[-5:]] == ["red"] * 5  # still playing
            # Played to its end, the clerk is told and the citizen sees the clerk again.
            assert await officer.wait_for(
                lambda: {"type": "tutorial-ended"} in officer.messages, timeout=10
            )
            assert await citizen.wait_for(
                lambda: recent(citizen.kinds, 10).count("green") == 10, timeout=5
            )
            state = await post(video_server.url, f"{base}/camera", {"token": clerk_token})
            assert state.json()["playing"] is False
        finally:
            await citizen.close()
            await officer.close()
            await post(video_server.url, "/api/v1/video/hangup", {"token": clerk_token})

    asyncio.run(scenario())


# --- 2. a still capture with consent ---------------------------------------------------------
def test_capture_needs_consent_and_lands_in_the_case(
    video_server: LiveServer, clerk: auth.User
) -> None:
    application_id = submit_corpus_case()
    with db.session_scope() as session:
        documents_before = len(
            session.exec(select(Document).where(Document.application_id == application_id)).all()
        )
    item = consultation(clerk, application_id=application_id)
    citizen_token, clerk_token = tokens(item)
    unlinked = consultation(clerk)
    _, unlinked_clerk_token = tokens(unlinked)
    base = f"/api/v1/consultations/{item.id}"

    async def scenario() -> dict[str, Any]:
        no_case = await post(
            video_server.url,
            f"/api/v1/consultations/{unlinked.id}/capture",
            {"token": unlinked_clerk_token},
        )
        assert no_case.status_code == 409, no_case.text
        citizen, officer = await admitted_call(video_server, item.id, citizen_token, clerk_token)
        try:
            without = await post(video_server.url, f"{base}/capture", {"token": clerk_token})
            assert without.status_code == 403, without.text
            assert without.json()["error"] == "no_consent"
            # The citizen cannot ask for (or take) a capture of themselves.
            for path in ("capture-request", "capture"):
                as_citizen = await post(
                    video_server.url, f"{base}/{path}", {"token": citizen_token}
                )
                assert as_citizen.status_code == 403, (path, as_citizen.text)
            asked = await post(video_server.url, f"{base}/capture-request", {"token": clerk_token})
            assert asked.status_code == 202, asked.text
            assert await citizen.wait_for(lambda: {"type": "capture-request"} in citizen.messages)
            officer.send({"type": "capture-consent"})  # the clerk cannot consent for them
            await asyncio.sleep(0.5)
            assert {"type": "capture-consent"} not in officer.messages
            forged = await post(video_server.url, f"{base}/capture", {"token": clerk_token})
            assert forged.status_code == 403, forged.text
            assert forged.json()["error"] == "no_consent"
            citizen.send({"type": "capture-consent"})
            assert await officer.wait_for(lambda: {"type": "capture-consent"} in officer.messages)
            taken = await post(
                video_server.url, f"{base}/capture", {"token": clerk_token, "slot": "identity"}
            )
            assert taken.status_code == 201, taken.text
            again = await post(video_server.url, f"{base}/capture", {"token": clerk_token})
            assert again.status_code == 403, again.text  # consent is used once
            assert again.json()["error"] == "no_consent"
            result: dict[str, Any] = taken.json()
            return result
        finally:
            await citizen.close()
            await officer.close()
            await post(video_server.url, "/api/v1/video/hangup", {"token": clerk_token})

    result = asyncio.run(scenario())
    with db.session_scope() as session:
        documents = session.exec(
            select(Document).where(Document.application_id == application_id)
        ).all()
        assert len(documents) == documents_before + 1
        document = session.get(Document, result["document_id"])
        assert document is not None
        assert document.file == result["file"]
        assert document.file.startswith("nachreichung/video-")
        assert document.media_type == "image/jpeg"
        assert document.size == result["size"]
        stored = get_settings().documents_dir / document.sha256[:2] / document.sha256[2:4]
        content = (stored / document.sha256).read_bytes()
        application = session.get(Application, application_id)
        assert application is not None
        listed = [d for d in application.data["documents"] if d["file"] == document.file]
        assert document.declared_type == "id_card"  # the slot the clerk named
        assert listed == [{"file": document.file, "declared_type": "id_card"}]
        audit = session.exec(
            select(AuditEntry)
            .where(AuditEntry.application_id == application_id)
            .where(AuditEntry.action == "document_added")
            .order_by(col(AuditEntry.id))
        ).all()
    assert content[:3] == b"\xff\xd8\xff"
    assert len(content) == result["size"]
    with Image.open(Path(stored / document.sha256)) as image:
        assert image.format == "JPEG"
        assert image.size == (320, 240)  # the citizen's camera, not a server screen
        assert classify(tuple(ImageStat.Stat(image.convert("RGB")).mean)) == "red"
    assert len(audit) == 1
    assert audit[0].actor == f"clerk:{item.reference}"
    details = json.loads(audit[0].details_json)
    assert details["document_id"] == document.id
    assert details["sha256"] == document.sha256


# --- 3. the device check ---------------------------------------------------------------------
def test_device_check_loops_back_and_closes_on_hangup(video_server: LiveServer) -> None:
    async def scenario() -> None:
        baseline = api.manager().stats()
        probe = Participant(video_server.url, RED)
        try:
            await probe.join("", path="/api/v1/video/check")
            assert await probe.wait_for(lambda: recent(probe.kinds, 10).count("red") == 10)
            assert "blue" not in recent(probe.kinds, 10)  # its own picture, not a screen
            during = api.manager().stats()
            assert during["calls"] == baseline["calls"] + 1
            assert during["peer_connections"] == baseline["peer_connections"] + 1
            assert during["rooms"] == baseline["rooms"]  # a check is nobody's call
        finally:
            await probe.close()
        assert await probe.wait_for(lambda: api.manager().stats() == baseline, timeout=10), (
            api.manager().stats(),
            baseline,
        )

    asyncio.run(scenario())
