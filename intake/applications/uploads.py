"""Upload validation and content-addressed storage of originals.

The type of an upload is decided from its content (magic bytes), never from its name.
Image dimensions are read from the file header (PNG IHDR, JPEG SOF, TIFF tags) before
anything is decoded, so a decompression bomb is refused without being expanded.
Files the reader may still fail on later (a truncated PDF or JPEG, an encrypted PDF)
are accepted: they are stored and end in review as unreadable, with a note here.
Status codes: 415 for a refused type, 413 for too many bytes, 422 for everything else.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from servicepoint.settings import Settings, get_settings

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
ACCEPTED = (PDF, JPEG, PNG, TIFF)
ACCEPTED_DE = "PDF, JPEG, PNG oder TIFF"
ACCEPTED_EN = "PDF, JPEG, PNG or TIFF"

_HEAD_BYTES = 1032  # enough for every signature, after leading whitespace


class UploadRejected(Exception):
    """An upload that is refused, with a message for the citizen in German and English."""

    def __init__(self, code: str, message_de: str, message_en: str, http_status: int) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_de = message_de
        self.message_en = message_en
        self.http_status = http_status


@dataclass(slots=True)
class UploadCheck:
    filename: str
    media_type: str
    size: int
    pages: int | None = None  # None: could not be counted (the reader will try)
    width: int | None = None  # of the largest page, for images
    height: int | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "encrypted", "truncated"


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    path: Path
    size: int
    media_type: str


# --- type detection ---------------------------------------------------------------------

# Content we recognise only to refuse it, with words the citizen understands.
_REFUSED_SIGNATURES: tuple[tuple[bytes, str, str, str], ...] = (
    (b"MZ", "executable", "ein Programm (Windows-EXE)", "a program (Windows EXE)"),
    (b"\x7fELF", "executable", "ein Programm (Linux)", "a program (Linux)"),
    (b"\xcf\xfa\xed\xfe", "executable", "ein Programm (macOS)", "a program (macOS)"),
    (b"#!", "script", "ein Skript", "a script"),
    (b"PK\x03\x04", "archive", "ein ZIP-Archiv oder Office-Dokument",
     "a ZIP archive or office document"),
    (b"Rar!", "archive", "ein RAR-Archiv", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "archive", "ein 7-Zip-Archiv", "a 7-Zip archive"),
    (b"\x1f\x8b", "archive", "ein komprimiertes Archiv (gzip)", "a compressed archive (gzip)"),
    (b"\xd0\xcf\x11\xe0", "office", "ein altes Office-Dokument (z. B. Word .doc)",
     "an old office document (e.g. Word .doc)"),
    (b"{\\rtf", "office", "ein RTF-Textdokument", "an RTF text document"),
    (b"GIF8", "image", "ein GIF-Bild", "a GIF image"),
    (b"BM", "image", "ein BMP-Bild", "a BMP image"),
    (b"\x00\x00\x01\x00", "image", "ein Symbolbild (ICO)", "an icon (ICO)"),
    (b"%!PS", "postscript", "eine PostScript-Datei", "a PostScript file"),
)  # fmt: skip


def sniff(head: bytes) -> str | None:
    """The accepted media type of content starting with ``head``, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head.lstrip(b"\xef\xbb\xbf\x00\r\n\t ").startswith(b"%PDF-"):
        return PDF
    return None


def _describe_refused(head: bytes) -> tuple[str, str, str]:
    """(code, German, English) description of content that is not accepted."""
    for signature, code, de, en in _REFUSED_SIGNATURES:
        if head.startswith(signature):
            return code, de, en
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return "image", "ein HEIC-Foto (iPhone-Format)", "a HEIC photo (iPhone format)"
        return "video", "eine Video- oder Mediendatei", "a video or media file"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image", "ein WebP-Bild", "a WebP image"
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return "image", "ein BigTIFF-Bild", "a BigTIFF image"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text[:2048] or (text.startswith(b"<?xml") and b"<svg" in text):
        return "svg", "eine SVG-Grafik", "an SVG graphic"
    if text.startswith((b"<!doctype html", b"<html")) or b"<script" in text[:2048]:
        return "html", "eine Webseite (HTML)", "a web page (HTML)"
    if _looks_like_text(head):
        return "text", "reiner Text", "plain text"
    return "unknown", "ein unbekanntes Format", "an unknown format"


def _looks_like_text(head: bytes) -> bool:
    try:
        decoded = head[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in decoded)


# --- validation ------------------------------------------------------------------------


def validate_upload(
    data: bytes | Path, filename: str, *, settings: Settings | None = None
) -> UploadCheck:
    """Check one upload; raise :class:`UploadRejected` with a specific message if refused."""
    settings = settings or get_settings()
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    if size == 0:
        raise UploadRejected(
            "empty",
            f"Die Datei „{filename}“ ist leer.",
            f"The file '{filename}' is empty.",
            422,
        )
    if size > settings.max_upload_bytes:
        limit = settings.max_upload_bytes / (1024 * 1024)
        raise UploadRejected(
            "too_large",
            f"Die Datei „{filename}“ ist {size / (1024 * 1024):.1f} MB groß; erlaubt sind "
            f"höchstens {limit:.0f} MB.",
            f"The file '{filename}' is {size / (1024 * 1024):.1f} MB; at most {limit:.0f} MB "
            "are allowed.",
            413,
        )
    content = data.read_bytes() if isinstance(data, Path) else data
    media_type = sniff(content[:_HEAD_BYTES])
    if media_type is None:
        _refuse_type(content, filename)
    check = UploadCheck(filename=filename, media_type=str(media_type), size=size)
    if media_type == PDF:
        _inspect_pdf(content, check)
    elif media_type == PNG:
        _inspect_png(content, check)
    elif media_type == JPEG:
        _inspect_jpeg(content, check)
    else:
        _inspect_tiff(content, check)
    _check_limits(check, settings)
    if not _name_fits(filename, str(media_type)):
        check.notes.append("name_does_not_match_content")
    return check


def _refuse_type(content: bytes, filename: str) -> None:
    code, what_de, what_en = _describe_refused(content[:4096])
    claimed = Path(filename).suffix.lower().lstrip(".")
    claim_de = f" (der Name endet auf „.{claimed}“)" if claimed else ""
    claim_en = f" (its name ends in '.{claimed}')" if claimed else ""
    raise UploadRejected(
        f"unsupported_type:{code}",
        f"Die Datei „{filename}“ ist {what_de}, kein Dokument{claim_de}. Bitte laden Sie "
        f"ein {ACCEPTED_DE} hoch.",
        f"The file '{filename}' is {what_en}, not a document{claim_en}. Please upload a "
        f"{ACCEPTED_EN} file.",
        415,
    )


def _name_fits(filename: str, media_type: str) -> bool:
    suffixes = {
        PDF: {".pdf"},
        JPEG: {".jpg", ".jpeg", ".jpe", ".jfif"},
        PNG: {".png"},
        TIFF: {".tif", ".tiff"},
    }
    return Path(filename).suffix.lower() in suffixes.get(media_type, set())


def _check_limits(check: UploadCheck, settings: Settings) -> None:
    if check.pages is not None and check.pages > settings.max_pages:
        raise UploadRejected(
            "too_many_pages",
            f"Die Datei „{check.filename}“ hat {check.pages} Seiten; erlaubt sind höchstens "
            f"{settings.max_pages}.",
            f"The file '{check.filename}' has {check.pages} pages; at most "
            f"{settings.max_pages} are allowed.",
            422,
        )
    if check.width and check.height and check.width * check.height > settings.max_pixels:
        megapixels = check.width * check.height / 1_000_000
        raise UploadRejected(
            "too_many_pixels",
            f"Das Bild „{check.filename}“ ist mit {check.width} × {check.height} Pixeln "
            f"({megapixels:.0f} Megapixel) zu groß; erlaubt sind höchstens "
            f"{settings.max_pixels // 1_000_000} Megapixel. Bitte mit geringerer Auflösung "
            "scannen oder fotografieren.",
            f"The image '{check.filename}' is too large at {check.width} × {check.height} "
            f"pixels ({megapixels:.0f} megapixels); at most "
            f"{settings.max_pixels // 1_000_000} megapixels are allowed.",
            422,
        )


# --- per-format inspection (headers only) --------------------------------------------------


def _inspect_pdf(content: bytes, check: UploadCheck) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and not _opens_without_password(reader):
            check.notes.append("encrypted")
            return
        check.pages = len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        # A broken PDF is the reader's problem: stored, then reviewed as unreadable.
        check.notes.append(f"damaged:{type(exc).__name__}")
    if b"%%EOF" not in content[-2048:]:
        check.notes.append("truncated")


def _opens_without_password(reader: object) -> bool:
    try:
        return bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any failure means "needs a password"
        return False


def _inspect_png(content: bytes, check: UploadCheck) -> None:
    if len(content) < 24 or content[12:16] != b"IHDR":
        check.notes.append("truncated")
        return
    check.width, check.height = struct.unpack(">II", content[16:24])
    check.pages = 1


# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic variants).
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _inspect_jpeg(content: bytes, check: UploadCheck) -> None:
    """Walk the marker segments up to the frame header; no pixel is decoded."""
    position = 2
    while position + 4 <= len(content):
        if content[position] != 0xFF:
            break
        marker = content[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", content[position + 2 : position + 4])
        if marker in _SOF_MARKERS and position + 9 <= len(content):
            check.height, check.width = struct.unpack(">HH", content[position + 5 : position + 9])
            check.pages = 1
            return
        if marker == 0xDA or length < 2:  # scan data without a frame header: broken
            break
        position += 2 + length
    check.notes.append("truncated")


_TIFF_MAX_PAGES_SCANNED = 1000


def _inspect_tiff(content: bytes, check: UploadCheck) -> None:
    """Count the IFDs (pages) and read each page's width and length tags."""
    order = "<" if content[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(order + "I", content[4:8])
        pages, seen = 0, set()
        while offset and offset not in seen and pages < _TIFF_MAX_PAGES_SCANNED:
            seen.add(offset)
            width, height, offset = _tiff_ifd(content, offset, order)
            pages += 1
            if width * height > (check.width or 0) * (check.height or 0):
                check.width, check.height = width, height
        check.pages = pages
    except struct.error:
        check.notes.append("truncated")
        check.pages = check.pages or None


def _tiff_ifd(content: bytes, offset: int, order: str) -> tuple[int, int, int]:
    """(width, height, next IFD offset) of the IFD at ``offset``."""
    (count,) = struct.unpack(order + "H", content[offset : offset + 2])
    width = height = 0
    for index in range(count):
        entry = offset + 2 + 12 * index
        tag, kind = struct.unpack(order + "HH", content[entry : entry + 4])
        if tag in (256, 257):
            if kind == 3:  # SHORT
                (value,) = struct.unpack(order + "H", content[entry + 8 : entry + 10])
            else:  # LONG
                (value,) = struct.unpack(order + "I", content[entry + 8 : entry + 12])
            if tag == 256:
                width = value
            else:
                height = value
    end = offset + 2 + 12 * count
    (next_offset,) = struct.unpack(order + "I", content[end : end + 4])
    return width, height, next_offset


# --- storage ---------------------------------------------------------------------------


def store_original(data: bytes | Path, *, settings: Settings | None = None) -> StoredFile:
    """Store an upload under ``documents_dir/ab/cd/<sha256>``: atomic, idempotent, read-only.

    The same content always lands at the same path; an existing file is never rewritten.
    """
    settings = settings or get_settings()
    content = data.read_bytes() if isinstance(data, Path) else data
    digest = hashlib.sha256(content).hexdigest()
    target = settings.documents_dir / digest[:2] / digest[2:4] / digest
    media_type = sniff(content[:_HEAD_BYTES]) or "application/octet-stream"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, content)
    return StoredFile(sha256=digest, path=target, size=len(content), media_type=media_type)


def _write_atomically(target: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o444)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
