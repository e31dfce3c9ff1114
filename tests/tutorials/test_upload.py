"""Upload of a finished video by an administrator: validated (container, codecs,
duration, size), probed with PyAV, thumbnail extracted; broken files refused clearly."""

from __future__ import annotations

import uuid
from fractions import Fraction
from pathlib import Path

import av
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from servicepoint import auth, db, security
from tests.tutorials.conftest import Published
from tutorials import service


def encode(path: Path, codec: str, seconds: float, fps: int = 5, size: int = 64) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        image = Image.new("RGB", (size, size), (200, 0, 0))
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_image(image).reformat(format=stream.pix_fmt)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def admin_token(migrated_db: str) -> str:
    with db.session_scope() as session:
        user = auth.create_user(
            session, f"admin-{uuid.uuid4().hex[:8]}", "a-long-test-password", role=auth.Role.ADMIN
        )
        session.flush()
        return security.issue_api_token(user)


def upload(client: TestClient, token: str, path: Path, slug: str) -> object:
    with path.open("rb") as handle:
        return client.post(
            "/api/v1/admin/tutorials",
            headers={"Authorization": f"Bearer {token}"},
            data={
                "slug": slug,
                "title": "Hochgeladenes Video",
                "summary": "Ein fertiges Video.",
                "transcript": "Das Video sagt Pfefferminzbonbon.",
                "service": "anmeldung",
                "language": "de",
            },
            files={"video": (path.name, handle, "video/mp4")},
        )


def test_a_valid_mp4_is_probed_published_and_gets_a_thumbnail(
    tutorial_app: FastAPI, admin_token: str, published: Published, tmp_path: Path
) -> None:
    client = TestClient(tutorial_app)
    slug = f"upload-{uuid.uuid4().hex[:6]}"
    response = upload(client, admin_token, published.mp4, slug)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["duration_seconds"] == pytest.approx(published.result.duration, abs=0.15)
    thumb = client.get(body["thumbnail_url"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    found = client.get("/api/v1/tutorials", params={"q": "pfefferminzbonbon"}).json()
    assert [t["slug"] for t in found] == [slug]


def test_a_truncated_mp4_is_refused(
    tutorial_app: FastAPI, admin_token: str, published: Published, tmp_path: Path
) -> None:
    data = published.mp4.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    response = upload(TestClient(tutorial_app), admin_token, truncated, "truncated-upload")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "beschädigt oder unvollständig" in response.json()["message"]  # type: ignore[attr-defined]


def test_a_codec_not_allowed_is_refused(tmp_path: Path) -> None:
    video = encode(tmp_path / "mpeg4.mp4", "mpeg4", 1.0)
    with pytest.raises(service.VideoRejected) as refused:
        service.probe_video(video, "mp4")
    assert refused.value.status_code == 415
    assert "mpeg4" in refused.value.message("de")
    assert "H.264" in refused.value.message("en")


def test_a_video_that_is_too_long_is_refused(tmp_path: Path) -> None:
    seconds = service.MAX_UPLOAD_SECONDS + 5
    video = encode(tmp_path / "long.webm", "libvpx", seconds, fps=1, size=32)
    with pytest.raises(service.VideoRejected) as refused:
        service.probe_video(video, "webm")
    assert refused.value.status_code == 413
    assert "länger als 20 Minuten" in refused.value.message("de")


def test_other_containers_and_anonymous_uploads_are_refused(
    tutorial_app: FastAPI, tmp_path: Path
) -> None:
    avi = tmp_path / "clip.avi"
    avi.write_bytes(b"RIFF....AVI ")
    with pytest.raises(service.VideoRejected) as refused:
        service.probe_video(avi, "avi")
    assert refused.value.status_code == 415
    anonymous = TestClient(tutorial_app).post(
        "/api/v1/admin/tutorials", files={"video": ("a.mp4", b"x", "video/mp4")}
    )
    assert anonymous.status_code == 401
    page = TestClient(tutorial_app).get("/backoffice/tutorials", follow_redirects=False)
    assert page.status_code == 303
