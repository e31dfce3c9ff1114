"""The tutorial library's use cases: sync scripts into the catalogue, record renders,
validate uploads, find media files, count views. Callers own the transaction."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import av
from sqlmodel import Session

from servicepoint import events
from servicepoint.auth import utcnow
from servicepoint.errors import DomainError, NotFound
from servicepoint.settings import get_settings
from tutorials import render, repository, search
from tutorials.models import MediaStatus, Source, Tutorial

MEDIA_FILES = {
    "mp4": ("video.mp4", "video/mp4"),
    "webm": ("video.webm", "video/webm"),
    "vtt": ("captions.vtt", "text/vtt; charset=utf-8"),
    "txt": ("transcript.txt", "text/plain; charset=utf-8"),
    "jpg": ("thumbnail.jpg", "image/jpeg"),
}

# Upload limits for finished videos.
MAX_UPLOAD_BYTES = 300 * 1024 * 1024
MAX_UPLOAD_SECONDS = 20 * 60
ALLOWED_CONTAINERS = {"mp4": {"mov", "mp4"}, "webm": {"matroska", "webm"}}
ALLOWED_VIDEO = {"h264", "vp8", "vp9"}
ALLOWED_AUDIO = {"aac", "opus", "vorbis"}


def media_root() -> Path:
    return get_settings().shared_data_dir / "tutorials"


def resource_id(slug: str) -> str:
    return f"servicepoint.tutorial.{slug}"


def slug_from_resource(value: str) -> str:
    return value.removeprefix("servicepoint.tutorial.")


# --- catalogue from scripts ------------------------------------------------------------------
def sync_scripts(session: Session, versions: list[render.Version] | None = None) -> list[str]:
    """Bring the catalogue in line with the scripts; announce each changed version.

    A version whose content hash differs from what was last rendered (or announced)
    gets a ``servicepoint.tutorial.published`` event in the outbox; the render flow is
    triggered by it. Returns the slugs announced. Cheap: no rendering happens here.
    """
    announced = []
    for version in render.shipped_versions() if versions is None else versions:
        row = repository.by_slug(session, version.slug)
        digest = version.content_hash
        if row is None:
            row = Tutorial(
                slug=version.slug,
                language=version.language,
                service=version.service,
                title=version.title,
                summary=version.summary,
                content_hash="",
            )
        row.script = version.script
        row.source = Source.SCRIPT
        row.language = version.language
        row.easy_language = version.easy_language
        row.service = version.service
        row.title = version.title
        row.summary = version.summary
        if not row.transcript or row.rendered_hash != digest:
            row.transcript = render.transcript_of(version)
        changed = row.content_hash != digest
        row.content_hash = digest
        row.updated_at = utcnow()
        if row.rendered_hash != digest and row.status != MediaStatus.READY:
            row.status = MediaStatus.PENDING
        session.add(row)
        if changed and row.rendered_hash != digest:
            events.enqueue(
                session,
                events.TUTORIAL_PUBLISHED,
                resource_id(version.slug),
                {"slug": version.slug, "hash": digest, "reference": version.slug},
            )
            announced.append(version.slug)
    session.flush()
    return announced


def version_to_render(session: Session, slug: str) -> render.Version | None:
    """The script version behind a tutorial if its media are missing or out of date."""
    row = repository.by_slug(session, slug)
    if row is None or row.source != Source.SCRIPT or row.script is None:
        return None
    path = render.SCRIPTS_DIR / f"{row.script}.yaml"
    if not path.exists():
        return None
    for version in render.load_script(path):
        if version.slug == slug:
            return None if row.rendered_hash == version.content_hash else version
    return None


def target_dir(slug: str, language: str, digest: str) -> Path:
    return media_root() / slug / language / digest[:16]


def record_render(session: Session, version: render.Version, result: render.Rendered) -> None:
    """Point the catalogue at freshly rendered media; remove the superseded render."""
    row = repository.by_slug(session, version.slug)
    if row is None:
        raise NotFound()
    old = Path(row.media_dir) if row.media_dir else None
    row.media_dir = str(result.directory)
    row.rendered_hash = version.content_hash
    row.duration_seconds = result.duration
    row.chapters_json = json.dumps(result.chapters, ensure_ascii=False)
    row.transcript = result.transcript
    row.status = MediaStatus.READY
    row.error = None
    row.updated_at = utcnow()
    session.add(row)
    if old is not None and old != result.directory and old.is_relative_to(media_root()):
        shutil.rmtree(old, ignore_errors=True)


def record_failure(session: Session, slug: str, message: str) -> None:
    row = repository.by_slug(session, slug)
    if row is not None and not row.ready:
        row.status = MediaStatus.FAILED
        row.error = message[:500]
        session.add(row)


# --- lookups ----------------------------------------------------------------------------------
def find(session: Session, id_or_slug: int | str) -> Tutorial | None:
    if isinstance(id_or_slug, int) or str(id_or_slug).isdigit():
        return repository.by_id(session, int(id_or_slug))
    return repository.by_slug(session, str(id_or_slug))


def get(session: Session, slug: str) -> Tutorial:
    row = repository.by_slug(session, slug)
    if row is None:
        raise NotFound()
    return row


def media_file(tutorial: Tutorial, kind: str) -> tuple[Path, str] | None:
    """The file of a ready tutorial (``mp4``, ``webm``, ``vtt``, ``txt``, ``jpg``)."""
    if kind not in MEDIA_FILES or not tutorial.ready or tutorial.media_dir is None:
        return None
    name, media_type = MEDIA_FILES[kind]
    path = Path(tutorial.media_dir) / name
    return (path, media_type) if path.is_file() else None


def webrtc_media_path(session: Session, tutorial_id_or_slug: int | str) -> Path | None:
    """The pre-encoded VP8/Opus WebM of a tutorial, for ``MediaPlayer(decode=False)``.

    Short GOPs (one key frame per second) because a pre-encoded stream cannot answer a
    key-frame request. ``None`` while the video is being prepared or for an unknown id.
    """
    tutorial = find(session, tutorial_id_or_slug)
    if tutorial is None:
        return None
    found = media_file(tutorial, "webm")
    return found[0] if found else None


def search_catalogue(
    session: Session, query: str | None, language: str | None, service: str | None
) -> list[Tutorial]:
    ids = search.search_ids(session, query) if query and query.strip() else None
    return repository.listing(session, language=language, service=service, ids=ids)


def public(tutorial: Tutorial, base: str = "") -> dict[str, Any]:
    """The API shape of CONTRACTS §6."""
    ready = tutorial.ready
    media = f"{base}/tutorials/media/{tutorial.slug}"
    video = "video.mp4" if media_file(tutorial, "mp4") or not ready else "video.webm"
    return {
        "id": tutorial.id,
        "slug": tutorial.slug,
        "title": tutorial.title,
        "summary": tutorial.summary,
        "language": tutorial.language,
        "easy_language": tutorial.easy_language,
        "service": tutorial.service,
        "status": tutorial.status,
        "duration_seconds": tutorial.duration_seconds,
        "chapters": tutorial.chapters,
        "video_url": f"{media}/{video}" if ready else None,
        "captions_url": f"{media}/captions.vtt" if ready else None,
        "transcript_url": f"{media}/transcript.txt" if ready else None,
        "thumbnail_url": f"{media}/thumbnail.jpg" if ready else None,
        "page_url": f"{base}/tutorials/{tutorial.slug}",
    }


def count(session: Session, tutorial: Tutorial, *, completion: bool) -> None:
    """Count a view or a completion: a counter per tutorial and day, nothing personal."""
    if tutorial.id is not None:
        repository.count(session, tutorial.id, date.today(), completion=completion)


# --- uploads of finished videos -----------------------------------------------------------------
class VideoRejected(DomainError):
    status_code = 422
    code = "video_rejected"


@dataclass(frozen=True)
class Probe:
    container: str
    video_codec: str
    audio_codec: str | None
    duration: float
    width: int
    height: int


def probe_video(path: Path, suffix: str) -> Probe:
    """Open the file with PyAV and check container, codecs, duration and size.

    Raises :class:`VideoRejected` with a specific German/English message: 413 for a
    file that is too large or too long, 415 for a container or codec not allowed, 422
    for a file that cannot be read (truncated, damaged).
    """
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        limit = MAX_UPLOAD_BYTES // (1024 * 1024)
        raise _rejected(
            413,
            "too_large",
            f"Die Datei ist größer als {limit} MB.",
            f"The file is larger than {limit} MB.",
        )
    allowed = ALLOWED_CONTAINERS.get(suffix)
    if allowed is None:
        raise _rejected(
            415,
            "container",
            "Bitte laden Sie eine MP4- oder WebM-Datei hoch.",
            "Please upload an MP4 or WebM file.",
        )
    try:
        with av.open(str(path)) as container:
            formats = set(container.format.name.split(","))
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            duration = _duration(container)
            if not container.streams:
                # An MP4 whose index (moov) sits at the end and was cut off opens
                # without any stream: it is incomplete, not a wrong codec.
                raise ValueError("no streams: the file is incomplete")
            if video is not None:
                _check_complete(container, video, duration)
            probe = Probe(
                container=container.format.name,
                video_codec=video.codec_context.name if video else "",
                audio_codec=audio.codec_context.name if audio else None,
                duration=duration,
                width=video.codec_context.width if video else 0,
                height=video.codec_context.height if video else 0,
            )
    except (av.error.FFmpegError, StopIteration, ValueError) as exc:
        raise _rejected(
            422,
            "unreadable",
            "Die Videodatei ist beschädigt oder unvollständig und kann nicht gelesen werden.",
            "The video file is damaged or incomplete and cannot be read.",
        ) from exc
    if not formats & allowed:
        raise _rejected(
            415,
            "container",
            "Der Dateiinhalt passt nicht zur Endung (.mp4 oder .webm).",
            "The file content does not match its extension (.mp4 or .webm).",
        )
    if probe.video_codec not in ALLOWED_VIDEO or (
        probe.audio_codec is not None and probe.audio_codec not in ALLOWED_AUDIO
    ):
        codecs = "/".join(c for c in (probe.video_codec or "-", probe.audio_codec) if c)
        raise _rejected(
            415,
            "codec",
            f"Das Video verwendet das nicht erlaubte Format {codecs}. Erlaubt sind "
            "H.264, VP8 oder VP9 mit AAC, Opus oder Vorbis.",
            f"The video uses the codec {codecs}, which is not allowed. Allowed are "
            "H.264, VP8 or VP9 with AAC, Opus or Vorbis.",
        )
    if probe.duration <= 0:
        raise _rejected(
            422,
            "unreadable",
            "Die Länge des Videos lässt sich nicht bestimmen; die Datei ist unvollständig.",
            "The length of the video cannot be determined; the file is incomplete.",
        )
    if probe.duration > MAX_UPLOAD_SECONDS:
        minutes = MAX_UPLOAD_SECONDS // 60
        raise _rejected(
            413,
            "too_long",
            f"Das Video ist länger als {minutes} Minuten.",
            f"The video is longer than {minutes} minutes.",
        )
    return probe


def _duration(container: Any) -> float:
    if container.duration:
        return float(container.duration) / av.time_base
    stream = next(iter(container.streams.video), None)
    if stream is not None and stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def _check_complete(container: Any, video: Any, duration: float) -> None:
    """A truncated MP4 may still open (its index is at the front) but its media data ends
    early: read every packet (no decoding) and compare where they end with the duration,
    then decode the first frame to prove the stream is what it claims."""
    last_end = 0.0
    for packet in container.demux(video):
        if packet.pts is not None and packet.time_base is not None:
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            last_end = max(last_end, end)
    if duration > 0 and last_end < duration * 0.95 - 0.5:
        raise ValueError(f"media data ends at {last_end:.1f} s of {duration:.1f} s")
    container.seek(0)
    if next(iter(container.decode(video)), None) is None:
        raise ValueError("no decodable video frame")


def _rejected(status: int, code: str, de: str, en: str) -> VideoRejected:
    error = VideoRejected(de, en, code=f"video_{code}")
    error.status_code = status
    return error


def extract_thumbnail(video: Path, target: Path, at_seconds: float = 1.0) -> None:
    """A JPEG of the frame near ``at_seconds`` (or the first frame of a short video)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time >= at_seconds:
                break
        if chosen is None:
            raise ValueError("no frame")
        image = chosen.to_image()  # type: ignore[no-untyped-call]
        image.thumbnail((render.WIDTH, render.HEIGHT))
        image.save(target, quality=85)


def store_upload(
    session: Session,
    source: Path,
    suffix: str,
    *,
    slug: str,
    title: str,
    summary: str,
    language: str,
    service: str,
    easy_language: bool,
    transcript: str,
    captions: str | None,
) -> Tutorial:
    """Validate, probe and publish an uploaded video (replacing its earlier upload)."""
    probe = probe_video(source, suffix)
    existing = repository.by_slug(session, slug)
    if existing is not None and existing.source != Source.UPLOAD:
        raise VideoRejected(
            "Diese Kurzbezeichnung gehört zu einem Tutorial aus einem Skript.",
            "This short name belongs to a tutorial rendered from a script.",
            code="video_slug_taken",
        )
    digest = _file_hash(source)
    directory = target_dir(slug, language, digest)
    directory.mkdir(parents=True, exist_ok=True)
    name = "video.mp4" if suffix == "mp4" else "video.webm"
    shutil.copyfile(source, directory / name)
    extract_thumbnail(directory / name, directory / "thumbnail.jpg")
    (directory / "transcript.txt").write_text(transcript.strip() + "\n", encoding="utf-8")
    (directory / "captions.vtt").write_text(captions or "WEBVTT\n", encoding="utf-8")
    row = existing or Tutorial(
        slug=slug,
        language=language,
        service=service,
        title=title,
        summary=summary,
        content_hash=digest,
    )
    row.source = Source.UPLOAD
    row.script = None
    row.language, row.service, row.title, row.summary = language, service, title, summary
    row.easy_language = easy_language
    row.transcript = transcript.strip()
    row.duration_seconds = round(probe.duration, 3)
    row.chapters_json = json.dumps([{"title": title, "start": 0.0}], ensure_ascii=False)
    row.content_hash = row.rendered_hash = digest
    row.media_dir = str(directory)
    row.status = MediaStatus.READY
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def _file_hash(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class UploadProblem(DomainError):
    """A form field of the upload page that is missing or invalid."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, field: str, de: str, en: str) -> None:
        super().__init__(de, en, details=[{"field": field, "message": en}])
        self.field = field


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def upload_fields(form: dict[str, Any]) -> dict[str, Any]:
    """Check the describing fields of an upload; the video is checked by :func:`probe_video`."""
    required = {
        "title": ("Geben Sie einen Titel ein.", "Enter a title."),
        "summary": ("Geben Sie eine Zusammenfassung ein.", "Enter a summary."),
        "service": ("Geben Sie die Dienstleistung an.", "Enter the service."),
        "transcript": ("Geben Sie das Transkript ein.", "Enter the transcript."),
    }
    slug = str(form.get("slug") or "")
    if not _SLUG.match(slug) or len(slug) > 100:
        raise UploadProblem(
            "slug",
            "Die Kurzbezeichnung darf nur Kleinbuchstaben, Ziffern und Bindestriche enthalten.",
            "The short name may only contain lower-case letters, digits and hyphens.",
        )
    for name, (de, en) in required.items():
        if not str(form.get(name) or "").strip():
            raise UploadProblem(name, de, en)
    if form.get("language") not in render.VOICES:
        raise UploadProblem("language", "Wählen Sie eine Sprache.", "Choose a language.")
    return {
        "slug": slug,
        "title": str(form["title"])[:200],
        "summary": str(form["summary"]),
        "language": str(form["language"]),
        "service": str(form["service"])[:64],
        "easy_language": bool(form.get("easy_language")),
        "transcript": str(form["transcript"]),
    }


async def save_upload(upload: Any, path: Path) -> None:
    """Stream an upload to disk, refusing it as soon as it exceeds the size limit."""
    written = 0
    with path.open("wb") as handle:
        while block := await upload.read(1 << 20):
            written += len(block)
            if written > MAX_UPLOAD_BYTES:
                limit = MAX_UPLOAD_BYTES // (1024 * 1024)
                raise _rejected(
                    413,
                    "too_large",
                    f"Die Datei ist größer als {limit} MB.",
                    f"The file is larger than {limit} MB.",
                )
            handle.write(block)


def sync_at_start() -> list[str]:
    """Called by the flow runner at start: announce changed scripts (never renders)."""
    from servicepoint.db import session_scope

    with session_scope() as session:
        return sync_scripts(session)
