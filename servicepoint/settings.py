"""The one settings class of ServicePoint (environment prefix ``SERVICEPOINT_``).

No other module reads the environment; everything configurable is a field here.
Secrets (session and token keys) are never configured in the repository: they are
generated on first use into ``<data_dir>/secrets`` with owner-only permissions.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.cwd() / "data"


# The office's wall clock: the calendar day of a submission, times shown to people.
OFFICE_TIME = ZoneInfo("Europe/Berlin")


def local_time(value: datetime) -> datetime:
    """A stored (UTC) time as the office's wall-clock time; naive values are UTC."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(OFFICE_TIME)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERVICEPOINT_", extra="ignore")

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(default_factory=_default_data_dir)
    shared_dir: Path | None = Field(
        default=None,
        description="what every process of the office must see alike (documents, letters, "
        "exports, rendered tutorials, secrets): shared storage when processes run on "
        "several hosts; default: the data directory",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file in the data directory. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )

    # --- the embedded stack --------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    prefect_port: int = 4200
    prefect_api_url: str | None = Field(
        default=None,
        description="Prefect API of an external server; default: the embedded one",
    )
    prefect_database_url: str | None = Field(
        default=None,
        description="database of the embedded Prefect server; default: SQLite in the data "
        "directory. PostgreSQL: postgresql+asyncpg://user:pass@host/db",
    )
    public_url: str | None = Field(
        default=None, description="Base URL citizens see in e-mails and links"
    )

    # --- first administrator ---------------------------------------------------------------
    admin_username: str = "admin"
    admin_password: str | None = None

    # --- city ------------------------------------------------------------------------------
    city_name: str = "Hannover"
    office_name: str = "HannoverServicePoint"

    # --- uploads and document reading -------------------------------------------------------
    max_upload_bytes: int = 15 * 1024 * 1024
    max_pages: int = 10
    max_pixels: int = 60_000_000
    max_files_per_application: int = 20
    document_time_limit: float = 120.0
    ocr_workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    tesseract_cmd: str = "tesseract"
    tesseract_api: bool = Field(
        default=True,
        description=(
            "keep tesseract loaded through its C API (tesserocr) when it is installed; "
            "false runs the tesseract command for every reading"
        ),
    )
    flow_runs_per_runner: int = Field(
        default_factory=lambda: (os.cpu_count() or 1) + 2,
        description=(
            "flow runs one runner process executes at the same time; more than the OCR "
            "slots can use only wait for them"
        ),
    )
    warm_flow_runs: bool = Field(
        default=True,
        description=(
            "fork flow-run processes from a process with Prefect and the flows already "
            "imported instead of starting a fresh interpreter for each run"
        ),
    )

    # --- back office -----------------------------------------------------------------------
    session_idle_minutes: int = 30
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    retention_days: int = 180
    stuck_after_minutes: float = 10.0

    # --- mail ------------------------------------------------------------------------------
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "servicepoint@hannover-stadt.example"

    # --- video -----------------------------------------------------------------------------
    max_calls_per_process: int = 8
    # Relay the participants' VP8 video as it arrives instead of decoding and encoding it
    # again (video/forward.py); false falls back to decoding (for diagnosis only).
    video_forward_encoded: bool = True

    # --- requests ------------------------------------------------------------------------------
    submissions_per_minute: int = 10
    assistant_questions_per_minute: int = 30  # per client, the assistant's API and pages

    # --- scaling out (docs/operations.md) --------------------------------------------------
    node_name: str | None = Field(
        default=None,
        description="name of this web process among several (scale-out); unset: the only one",
    )
    node_url: str | None = Field(
        default=None,
        description="where the other web processes reach this one directly (scale-out)",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("shared_dir")
    @classmethod
    def _absolute_shared(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    # --- derived -----------------------------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'servicepoint.db'}"

    @property
    def effective_prefect_database_url(self) -> str:
        if self.prefect_database_url:
            return self.prefect_database_url
        return f"sqlite+aiosqlite:///{self.prefect_home / 'prefect.db'}"

    @property
    def effective_prefect_api_url(self) -> str:
        if self.prefect_api_url:
            return self.prefect_api_url.rstrip("/")
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def prefect_ui_url(self) -> str:
        api = self.effective_prefect_api_url
        return api[: -len("/api")] if api.endswith("/api") else api

    @property
    def effective_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def shared_data_dir(self) -> Path:
        """Documents, letters, exports, tutorials and secrets: alike for every process."""
        return self.shared_dir or self.data_dir

    @property
    def documents_dir(self) -> Path:
        return self.shared_data_dir / "documents"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def secrets_dir(self) -> Path:
        return self.shared_data_dir / "secrets"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.documents_dir, self.prefect_home, self.mail_dir):
            path.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def secret(self, name: str) -> str:
        """Return the named secret, generating it on first use (never in the repo).

        Several processes may ask at once (scale-out, one shared directory): the value is
        written to a private file first and linked into place, so every process reads the
        one that won, complete.
        """
        path = self.secrets_dir / name
        if path.exists():
            return path.read_text().strip()
        self.ensure_dirs()
        value = secrets.token_urlsafe(48)
        draft = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, value.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(draft, path)
        except FileExistsError:
            value = path.read_text().strip()  # another process was first
        finally:
            draft.unlink()
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
