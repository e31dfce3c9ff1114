"""Booking over the API and the portal page, the e-mail with its .ics, cancelling,
reminders, and the back-office pages refusing anonymous users."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from servicepoint import auth, db
from servicepoint.settings import get_settings, local_time
from tests.e2e.conftest import LiveServer
from video import service
from video.models import Consultation


def _publish(clerk: auth.User, hours_ahead: int = 30) -> list[int]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=hours_ahead
    )
    with db.session_scope() as session:
        user = session.get(auth.User, clerk.id)
        assert user is not None
        slots = service.publish_slots(session, user, start, start + timedelta(hours=1))
        return [slot.id or 0 for slot in slots]


def _mail_to(address: str) -> email.message.Message:
    folder = Path(get_settings().mail_dir)
    for path in sorted(folder.glob("*"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == address:
            return message
    raise AssertionError(f"no mail to {address}")


def test_book_over_the_api_with_ics_then_cancel(video_server: LiveServer, clerk: auth.User) -> None:
    slot_ids = _publish(clerk)
    with httpx.Client(base_url=video_server.url) as client:
        free = client.get("/api/v1/video/slots").json()
        assert slot_ids[0] in [slot["id"] for slot in free]
        response = client.post(
            "/api/v1/consultations",
            json={
                "slot_id": slot_ids[0],
                "name": "Ali Kaya",
                "email": "ali@example.org",
                "topic": "Ummeldung",
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"id", "reference", "citizen_token", "join_url", "starts_at"}
        again = client.post(
            "/api/v1/consultations",
            json={"slot_id": slot_ids[0], "name": "B", "email": "b@example.org", "topic": "x"},
        )
        assert again.status_code == 409
        message = _mail_to("ali@example.org")
        parts = {part.get_filename(): part for part in message.walk() if part.get_filename()}
        ics = parts["termin.ics"].get_payload(decode=True).decode()  # type: ignore[union-attr]
        assert "BEGIN:VEVENT" in ics
        assert body["id"] in ics
        assert re.search(r"DTSTART:\d{8}T\d{6}Z", ics)
        # too early to join: 403
        offer = client.post(
            "/api/v1/video/offer",
            json={"token": body["citizen_token"], "sdp": "x", "type": "offer"},
        )
        assert offer.status_code == 403
        cancel = client.post(
            f"/api/v1/consultations/{body['id']}/cancel", json={"token": body["citizen_token"]}
        )
        assert cancel.status_code == 204
        assert slot_ids[0] in [slot["id"] for slot in client.get("/api/v1/video/slots").json()]


def test_booking_page_with_errors_then_confirmation(
    video_server: LiveServer, clerk: auth.User
) -> None:
    slot_ids = _publish(clerk, hours_ahead=40)
    with httpx.Client(base_url=video_server.url) as client:
        page = client.get("/video/termin")
        assert page.status_code == 200
        assert "Videosprechstunde buchen" in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        wrong = client.post("/video/termin", data={"csrf_token": csrf.group(1), "name": ""})
        assert wrong.status_code == 422
        assert "Fehler" in wrong.text
        assert "Wählen Sie einen Termin" in wrong.text
        done = client.post(
            "/video/termin",
            data={
                "csrf_token": csrf.group(1),
                "slot_id": str(slot_ids[0]),
                "name": "Jana Novak",
                "email": "jana@example.org",
                "topic": "Meldebescheinigung",
            },
        )
        assert done.status_code == 200, done.text
        assert "Termin gebucht" in done.text
        assert "/video/teilnehmen/" in done.text
        # Times are shown as the office's wall-clock time, never as UTC.
        with db.session_scope() as session:
            booked = session.get(Consultation, _booked_id(done.text))
            assert booked is not None
            local = local_time(booked.starts_at).strftime("%d.%m.%Y, %H:%M")
        assert f"Termin: {local} Uhr" in done.text
        assert "UTC" not in done.text
        assert local_time(booked.starts_at).strftime("%H:%M Uhr") in str(
            _mail_to("jana@example.org").get_payload(0)
        )


def _booked_id(page: str) -> str:
    found = re.search(r"/video/teilnehmen/([0-9a-f]+)", page)
    assert found is not None
    return found.group(1)


def test_office_hours_are_typed_and_shown_in_german_time() -> None:
    from servicepoint.settings import OFFICE_TIME

    winter = datetime(2026, 12, 1, 9, 0, tzinfo=OFFICE_TIME)
    summer = datetime(2027, 7, 1, 9, 0, tzinfo=OFFICE_TIME)
    assert winter.astimezone(UTC).hour == 8  # CET
    assert summer.astimezone(UTC).hour == 7  # CEST
    assert local_time(datetime(2026, 12, 1, 8, 0)).strftime("%H:%M") == "09:00"  # naive = UTC
    assert local_time(datetime(2027, 7, 1, 7, 0, tzinfo=UTC)).strftime("%H:%M") == "09:00"


def test_reminders_are_sent_once(clerk: auth.User) -> None:
    with db.session_scope() as session:
        user = session.get(auth.User, clerk.id)
        assert user is not None
        item = service.start_now(
            session,
            user,
            service.StartNow(
                "Rita Remind",
                "rita@example.org",
                "Ausweis",
                starts_at=datetime.now(UTC) + timedelta(minutes=40),
            ),
        )
        first = service.send_reminders(session)
        second = service.send_reminders(session)
        assert item.reference in first
        assert item.reference not in second
        stored = session.get(Consultation, item.id)
        assert stored is not None
        assert stored.reminder_sent_at is not None
    assert "Erinnerung" in str(_mail_to("rita@example.org")["Subject"])


def test_clerk_pages_refuse_anonymous_users(video_server: LiveServer) -> None:
    with httpx.Client(base_url=video_server.url, follow_redirects=False) as client:
        for path in (
            "/backoffice/video",
            "/backoffice/video/neu?application=x",
            "/backoffice/video/abc",
        ):
            response = client.get(path)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/backoffice/anmelden")
        assert client.post("/api/v1/consultations/x/clerk-token").status_code == 401
        assert client.get("/api/v1/video/waiting").status_code == 401
