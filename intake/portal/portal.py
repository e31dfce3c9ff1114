"""The citizen portal's state: the draft of an Anmeldung in the server-side session, its
uploads, its submission, the cases a browser may look at, and the submission rate limit.

A draft lives in the session (``session_of(request)["anmeldung"]``), so it survives a
reload and the back button; uploads are validated the moment they arrive and stored
content-addressed (:func:`intake.applications.uploads.store_original`), the draft
keeping only their digest and name. Submitting goes through
:func:`intake.applications.service.submit` like the API, with the draft's id as
idempotency key and the draft's own access token: a double submit (two clicks, two
requests racing) finds the first application and still knows its token.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from intake.applications import service as applications
from intake.applications import uploads
from intake.applications.models import Document
from intake.portal import forms
from intake.reading.normalize import parse_date
from servicepoint import auth
from servicepoint.ratelimit import SharedWindow
from servicepoint.ratelimit import SlidingWindow as SlidingWindow  # one-process variant
from servicepoint.sessions import SessionState, WebSession
from servicepoint.settings import OFFICE_TIME, Settings, get_settings

DRAFT_KEY = "anmeldung"
CASES_KEY = "cases"
LAST_KEY = "last_submission"
MAX_REMEMBERED_CASES = 20
SLOT_IDENTITY = "identity"
SLOT_LANDLORD = "landlord_confirmation"

# The journey's steps in order, with their pages.
STEPS: tuple[tuple[str, str], ...] = (
    ("persons", "/anmeldung/personen"),
    ("address", "/anmeldung/adresse"),
    ("move_in", "/anmeldung/einzug"),
    ("residence", "/anmeldung/wohnungsart"),
    ("previous", "/anmeldung/bisherige-adresse"),
    ("documents", "/anmeldung/dokumente"),
    ("contact", "/anmeldung/kontakt"),
    ("check", "/anmeldung/pruefen"),
)
STEP_URLS = dict(STEPS)
START_URL = "/anmeldung"
CONFIRMATION_URL = "/anmeldung/bestaetigung"


def today_in_berlin() -> date:
    return datetime.now(OFFICE_TIME).date()


# --- the draft -----------------------------------------------------------------------


def new_draft() -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "token": auth.new_token(),
        "created_at": datetime.now(UTC).isoformat(),
        "persons": [],
        "uploads": [],
    }


def draft_of(state: SessionState) -> dict[str, Any]:
    """The browser's draft (a copy: store changes with :func:`save_draft`)."""
    draft = state.get(DRAFT_KEY)
    if not isinstance(draft, dict) or "id" not in draft:
        draft = new_draft()
    return dict(draft)


def save_draft(state: SessionState, draft: dict[str, Any]) -> None:
    state[DRAFT_KEY] = draft


def is_submitted(draft: dict[str, Any]) -> bool:
    return bool(draft.get("submitted"))


def step_done(draft: dict[str, Any], step: str) -> bool:
    if step == "persons":
        return bool(draft.get("persons")) and draft.get("more_persons") == "no"
    if step == "address":
        return bool(draft.get("new_address"))
    if step == "move_in":
        return bool(draft.get("move_in_date"))
    if step == "residence":
        return bool(draft.get("residence_type"))
    if step == "previous":
        return bool(draft.get("previous_answered"))
    if step == "documents":
        return not missing_documents(draft)
    if step == "contact":
        return bool(draft.get("contact_answered"))
    return False


def first_open_step(draft: dict[str, Any]) -> str | None:
    """The URL of the first step not answered yet, or None when the check page is next."""
    if not draft.get("persons"):
        return "/anmeldung/person/1"
    for step, url in STEPS[:-1]:
        if not step_done(draft, step):
            return url
    return None


def next_url(step: str) -> str:
    names = [name for name, _ in STEPS]
    return STEPS[min(names.index(step) + 1, len(STEPS) - 1)][1]


def previous_url(step: str) -> str:
    names = [name for name, _ in STEPS]
    index = names.index(step)
    return STEPS[index - 1][1] if index > 0 else START_URL


def person_name(person: dict[str, Any]) -> str:
    return f"{person.get('given_names', '')} {person.get('surname', '')}".strip()


def remove_person(draft: dict[str, Any], index: int) -> None:
    persons = list(draft.get("persons") or [])
    if not 0 <= index < len(persons):
        return
    del persons[index]
    kept = []
    for upload in draft.get("uploads") or []:
        person = upload.get("person")
        if person == index:
            continue
        if isinstance(person, int) and person > index:
            upload = {**upload, "person": person - 1}
        kept.append(upload)
    draft["persons"] = persons
    draft["uploads"] = kept
    if not persons:
        draft.pop("more_persons", None)


def late_by(draft: dict[str, Any], today: date) -> int:
    """Days past the registration deadline (0: in time)."""
    moved = parse_date(str(draft.get("move_in_date") or ""))
    deadline = forms.service().deadline_days or 14
    if moved is None:
        return 0
    return max(0, (today - moved).days - deadline)


# --- uploads -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """What the upload page states before anything is uploaded (from the settings)."""

    megabytes: int
    pages: int
    types_de: str
    types_en: str
    files: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            megabytes=settings.max_upload_bytes // (1024 * 1024),
            pages=settings.max_pages,
            types_de=uploads.ACCEPTED_DE,
            types_en=uploads.ACCEPTED_EN,
            files=settings.max_files_per_application,
        )


ACCEPT_ATTRIBUTE = ".pdf,.jpg,.jpeg,.png,.tif,.tiff,application/pdf,image/jpeg,image/png,image/tiff"


def slot_of(field_name: str) -> tuple[str, int | None] | None:
    """The slot of a file input: ``identity-0`` (first person) or ``landlord_confirmation``."""
    if field_name == SLOT_LANDLORD:
        return SLOT_LANDLORD, None
    match = re.fullmatch(r"identity-(\d{1,2})", field_name)
    return (SLOT_IDENTITY, int(match.group(1))) if match else None


def input_name(slot: str, person: int | None) -> str:
    return f"{SLOT_IDENTITY}-{person}" if slot == SLOT_IDENTITY else SLOT_LANDLORD


def add_upload(
    draft: dict[str, Any],
    slot: str,
    person: int | None,
    filename: str,
    content: bytes,
    settings: Settings,
) -> dict[str, Any]:
    """Validate and store one upload for the draft; raises :class:`UploadRejected`."""
    name = Path(filename.replace("\\", "/")).name[:200] or "upload"
    if len(draft.get("uploads") or []) >= settings.max_files_per_application:
        limit = settings.max_files_per_application
        raise uploads.UploadRejected(
            "too_many_files",
            f"Die Datei „{name}“ wurde nicht angenommen: höchstens {limit} Dateien pro Antrag.",
            f"The file '{name}' was not accepted: at most {limit} files per application.",
            422,
        )
    check = uploads.validate_upload(content, name, settings=settings)
    stored = uploads.store_original(content, settings=settings)
    for existing in draft.get("uploads") or []:
        if (existing["sha256"], existing["slot"], existing.get("person")) == (
            stored.sha256,
            slot,
            person,
        ):
            return dict(existing)  # the same file again in the same place: nothing new
    entry = {
        "key": secrets.token_hex(6),
        "slot": slot,
        "person": person,
        "name": name,
        "sha256": stored.sha256,
        "size": stored.size,
        "media_type": stored.media_type,
        "pages": check.pages,
    }
    draft["uploads"] = [*(draft.get("uploads") or []), entry]
    return entry


def remove_upload(draft: dict[str, Any], key: str) -> None:
    draft["uploads"] = [u for u in draft.get("uploads") or [] if u.get("key") != key]


def uploads_for(draft: dict[str, Any], slot: str, person: int | None) -> list[dict[str, Any]]:
    return [
        u for u in draft.get("uploads") or [] if u["slot"] == slot and u.get("person") == person
    ]


def missing_documents(draft: dict[str, Any]) -> list[tuple[str, int | None]]:
    """Slots still empty: one identity document per person and the landlord confirmation."""
    missing: list[tuple[str, int | None]] = []
    for index, _ in enumerate(draft.get("persons") or []):
        if not uploads_for(draft, SLOT_IDENTITY, index):
            missing.append((SLOT_IDENTITY, index))
    if not uploads_for(draft, SLOT_LANDLORD, None):
        missing.append((SLOT_LANDLORD, None))
    return missing


def stored_file(sha256: str, settings: Settings) -> Path:
    return settings.documents_dir / sha256[:2] / sha256[2:4] / sha256


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "upload"
    return stem[-80:]


def _document_names(draft: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    used: set[str] = set()
    for upload in draft.get("uploads") or []:
        base = _safe_name(str(upload["name"]))
        candidate, counter = f"documents/{base}", 2
        while candidate in used:
            stem, dot, suffix = base.rpartition(".")
            candidate = (
                f"documents/{stem}-{counter}.{suffix}" if dot else f"documents/{base}-{counter}"
            )
            counter += 1
        used.add(candidate)
        yield upload, candidate


# --- submission ----------------------------------------------------------------------


def application_data(draft: dict[str, Any], submitted_at: datetime) -> dict[str, Any]:
    """The draft in the shape of CONTRACTS §1 (what the API takes as ``application``)."""
    persons = list(draft.get("persons") or [])
    documents = []
    for upload, file_name in _document_names(draft):
        if upload["slot"] == SLOT_IDENTITY:
            person = persons[upload["person"]] if upload["person"] < len(persons) else {}
            declared = str(person.get("id_document_type") or "id_card")
            documents.append(
                {"file": file_name, "declared_type": declared, "person": upload["person"]}
            )
        else:
            documents.append({"file": file_name, "declared_type": SLOT_LANDLORD})
    data: dict[str, Any] = {
        "service": forms.SERVICE_ID,
        "submitted_at": submitted_at.astimezone(OFFICE_TIME).isoformat(timespec="seconds"),
        "persons": persons,
        "move_in_date": draft.get("move_in_date"),
        "new_address": draft.get("new_address"),
        "residence_type": draft.get("residence_type"),
        "documents": documents,
    }
    if draft.get("previous_address"):
        data["previous_address"] = draft["previous_address"]
    if draft.get("email"):
        data["contact"] = {"email": draft["email"]}
    return data


def incoming_files(draft: dict[str, Any], settings: Settings) -> list[applications.IncomingFile]:
    files = []
    for upload, file_name in _document_names(draft):
        path = stored_file(str(upload["sha256"]), settings)
        content = path.read_bytes() if path.is_file() else b""
        files.append(applications.IncomingFile(file_name, content))
    return files


def submit_draft(
    session: Session, draft: dict[str, Any], language: str, settings: Settings | None = None
) -> applications.Submitted:
    """Submit the draft once; the caller commits.

    A second submission of the same draft returns the first application (``created``
    False) with the draft's token, also when two requests submit it at the same moment
    (:func:`intake.applications.service.submit` lets the second wait for the first's transaction).
    """
    settings = settings or get_settings()
    options = applications.SubmissionOptions(
        channel="portal",
        email=draft.get("email") or None,
        language=language,
        idempotency_key=str(draft["id"]),
        access_token=str(draft["token"]),
    )
    data = application_data(draft, datetime.now(UTC))
    submitted = applications.submit(
        session, data, incoming_files(draft, settings), options, settings
    )
    if not submitted.created:
        submitted.access_token = str(draft["token"])
    return submitted


def problem_url(field_path: str) -> str:
    """The page where a problem reported by the submission check can be fixed."""
    match = re.match(r"persons\[(\d+)\]", field_path)
    if match:
        return f"/anmeldung/person/{int(match.group(1)) + 1}"
    for prefix, url in (
        ("new_address", STEP_URLS["address"]),
        ("move_in_date", STEP_URLS["move_in"]),
        ("residence_type", STEP_URLS["residence"]),
        ("previous_address", STEP_URLS["previous"]),
        ("persons", STEP_URLS["persons"]),
        ("files", STEP_URLS["documents"]),
        ("documents", STEP_URLS["documents"]),
    ):
        if field_path.startswith(prefix):
            return url
    return STEP_URLS["check"]


# --- which cases this browser may see -------------------------------------------------


def remember_case(state: SessionState, application_id: str, token: str) -> None:
    cases = dict(state.get(CASES_KEY) or {})
    cases.pop(application_id, None)
    cases[application_id] = token
    while len(cases) > MAX_REMEMBERED_CASES:
        cases.pop(next(iter(cases)))
    state[CASES_KEY] = cases


def case_token(state: SessionState, application_id: str) -> str | None:
    token = (state.get(CASES_KEY) or {}).get(application_id)
    return str(token) if token else None


# --- rate limit ----------------------------------------------------------------------


# Counted in the application database, so that the limit holds whichever web process
# answers (docs/operations.md); ``SlidingWindow`` is the one-process variant.
submissions = SharedWindow()


def client_key(host: str | None) -> str:
    return host or "unknown"


def rate_limited(host: str | None, settings: Settings | None = None) -> float:
    """Count a submission attempt of this client; seconds to wait, or 0 when allowed."""
    settings = settings or get_settings()
    return submissions.hit(client_key(host), settings.submissions_per_minute)


# --- uploads of abandoned drafts ----------------------------------------------------------

_SHA256 = re.compile(r"\b[0-9a-f]{64}\b")


def purge_abandoned_uploads(
    session: Session, older_than: timedelta, settings: Settings | None = None
) -> int:
    """Delete stored uploads that no case and no live draft refers to (GDPR).

    A draft's uploads are stored when they arrive; when the citizen never submits, only
    the session expires. Files younger than ``older_than`` are kept (choose more than the
    session lifetime), as is every file a document row or an unexpired session names.
    Returns the number of files deleted. Meant for the scheduled retention flow.
    """
    settings = settings or get_settings()
    root = settings.documents_dir
    if not root.is_dir():
        return 0
    needed = {
        str(sha)
        for sha in session.exec(select(Document.sha256).where(col(Document.purged_at).is_(None)))
    }
    now = datetime.now(UTC)
    for data_json in session.exec(
        select(WebSession.data_json).where(col(WebSession.expires_at) > now)
    ):
        needed.update(_SHA256.findall(data_json))
    limit = time.time() - older_than.total_seconds()
    deleted = 0
    for path in root.glob("??/??/*"):
        name = path.name
        if len(name) != 64 or name in needed or not path.is_file():
            continue
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def sorted_uploads(draft: dict[str, Any]) -> Sequence[dict[str, Any]]:
    return sorted(
        draft.get("uploads") or [],
        key=lambda u: (u["slot"] != SLOT_IDENTITY, u.get("person") or 0),
    )
