"""Upload validation against the hostile inputs of the shared corpus and built files."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from intake.applications.uploads import (
    JPEG,
    PDF,
    PNG,
    TIFF,
    UploadRejected,
    store_original,
    validate_upload,
)
from servicepoint.settings import Settings

BAD_INPUTS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "bad-inputs-dev"
EXPECTED = json.loads((BAD_INPUTS / "expected.json").read_text(encoding="utf-8"))

# What each refusal must name, so the citizen knows what went wrong.
SPECIFIC_WORDS = {
    "empty.pdf": "leer",
    "not-a-pdf.pdf": "Text",
    "bomb.png": "Pixel",
    "program.exe.pdf": "Programm (Windows-EXE)",
    "script.svg": "SVG",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_inputs_are_accepted_or_refused_as_expected(name: str, settings: Settings) -> None:
    path = BAD_INPUTS / name
    if EXPECTED[name]["accept"]:
        check = validate_upload(path, name, settings=settings)
        assert check.media_type in (PDF, JPEG, PNG, TIFF)
        assert check.size == path.stat().st_size
    else:
        with pytest.raises(UploadRejected) as refused:
            validate_upload(path, name, settings=settings)
        assert 400 <= refused.value.http_status < 500
        assert SPECIFIC_WORDS[name] in refused.value.message_de
        assert name in refused.value.message_de
        assert refused.value.message_en


def test_refusal_statuses(settings: Settings) -> None:
    statuses = {}
    for name in ("empty.pdf", "program.exe.pdf", "script.svg", "bomb.png"):
        with pytest.raises(UploadRejected) as refused:
            validate_upload((BAD_INPUTS / name).read_bytes(), name, settings=settings)
        statuses[name] = refused.value.http_status
    assert statuses == {
        "empty.pdf": 422,
        "program.exe.pdf": 415,
        "script.svg": 415,
        "bomb.png": 422,
    }


def test_broken_but_plausible_files_carry_a_note(settings: Settings) -> None:
    encrypted = validate_upload(BAD_INPUTS / "encrypted.pdf", "a.pdf", settings=settings)
    truncated = validate_upload(BAD_INPUTS / "truncated.pdf", "b.pdf", settings=settings)
    assert "encrypted" in encrypted.notes
    assert "truncated" in truncated.notes


def test_type_comes_from_content_not_name(settings: Settings) -> None:
    check = validate_upload(_png(40, 30), "scan.pdf", settings=settings)
    assert check.media_type == PNG
    assert (check.width, check.height) == (40, 30)
    assert "name_does_not_match_content" in check.notes


def test_too_many_bytes_is_413(tmp_path: Path) -> None:
    small = Settings(data_dir=tmp_path, max_upload_bytes=1000)
    with pytest.raises(UploadRejected) as refused:
        validate_upload(_jpeg(200, 200, noise=True), "photo.jpg", settings=small)
    assert refused.value.http_status == 413
    assert "MB" in refused.value.message_de


def test_multipage_tiff_is_counted(tmp_path: Path, settings: Settings) -> None:
    pages = [Image.new("L", (300, 200 + i), color=255) for i in range(3)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    check = validate_upload(buffer.getvalue(), "scan.tiff", settings=settings)
    assert check.media_type == TIFF
    assert check.pages == 3
    assert (check.width, check.height) == (300, 202)

    strict = Settings(data_dir=tmp_path, max_pages=2)
    with pytest.raises(UploadRejected) as refused:
        validate_upload(buffer.getvalue(), "scan.tiff", settings=strict)
    assert refused.value.code == "too_many_pages"
    assert "3 Seiten" in refused.value.message_de


def test_png_header_bomb_is_refused_before_decoding(settings: Settings) -> None:
    # A valid header declaring 100,000 x 100,000 pixels and a tiny compressed body.
    bomb = _png_header(100_000, 100_000) + _chunk(b"IDAT", zlib.compress(b"\0" * 1000))
    with pytest.raises(UploadRejected) as refused:
        validate_upload(bomb, "bomb.png", settings=settings)
    assert refused.value.code == "too_many_pixels"
    assert refused.value.http_status == 422


def test_jpeg_dimensions_from_frame_header(settings: Settings) -> None:
    check = validate_upload(_jpeg(321, 123), "photo.jpg", settings=settings)
    assert (check.width, check.height, check.pages) == (321, 123, 1)


def test_refused_types_are_named(settings: Settings) -> None:
    cases = {
        b"\x7fELF\x02\x01\x01" + b"\0" * 50: "Linux",
        b"PK\x03\x04" + b"\0" * 50: "ZIP",
        b"GIF89a" + b"\0" * 50: "GIF",
        b"\0\0\0\x18ftypheic" + b"\0" * 50: "HEIC",
        b"<!DOCTYPE html><html><body>x</body></html>": "HTML",
    }
    for content, word in cases.items():
        with pytest.raises(UploadRejected) as refused:
            validate_upload(content, "upload.pdf", settings=settings)
        assert refused.value.http_status == 415
        assert word in refused.value.message_de


def test_store_original_is_content_addressed_and_idempotent(settings: Settings) -> None:
    data = (BAD_INPUTS / "encrypted.pdf").read_bytes()
    first = store_original(data, settings=settings)
    second = store_original(BAD_INPUTS / "encrypted.pdf", settings=settings)
    assert first == second
    assert (
        first.path == settings.documents_dir / first.sha256[:2] / first.sha256[2:4] / first.sha256
    )
    assert first.path.read_bytes() == data
    assert first.media_type == PDF
    assert first.size == len(data)
    assert not first.path.stat().st_mode & 0o222  # never altered afterwards
    assert [p.name for p in first.path.parent.iterdir()] == [first.sha256]


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), color=200).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(width: int, height: int, *, noise: bool = False) -> bytes:
    image = Image.effect_noise((width, height), 80) if noise else Image.new("L", (width, height))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_header(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
