"""Accounts, password hashing and signed tokens.

Clerks and administrators are ``User`` rows with an argon2 password hash. API tokens
(OAuth2 password flow) and join tokens are HMAC-signed with a key generated into the
data directory on first use. Citizen access tokens are random and stored hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import Field, Session, SQLModel, select

from servicepoint.settings import Settings, get_settings

_hasher = PasswordHasher()


class Role(StrEnum):
    CLERK = "clerk"
    ADMIN = "admin"


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    display_name: str = Field(default="", max_length=128)
    email: str | None = Field(default=None, max_length=254)
    role: str = Field(default=Role.CLERK, max_length=16)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    must_change_password: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    """Digest of a random bearer token (citizen access tokens are stored only hashed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_equal(token: str, digest: str) -> bool:
    return hmac.compare_digest(hash_token(token), digest)


def _serializer(purpose: str, settings: Settings | None = None) -> URLSafeTimedSerializer:
    settings = settings or get_settings()
    return URLSafeTimedSerializer(settings.secret("token_key"), salt=f"servicepoint.{purpose}")


def sign(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def unsign(purpose: str, token: str, max_age: int | None = None) -> dict[str, Any] | None:
    """The payload of a token signed for ``purpose``, or None when forged or expired."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    return data if isinstance(data, dict) else None


def get_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role = Role.CLERK,
    display_name: str = "",
    must_change_password: bool = False,
) -> User:
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hash_password(password),
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    return user


def ensure_first_admin(session: Session, settings: Settings) -> str | None:
    """Create the first administrator if there is no account yet.

    Returns the generated one-time password (to print once) when none was configured.
    """
    if session.exec(select(User).limit(1)).first() is not None:
        return None
    password = settings.admin_password
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(12)
    assert password is not None
    create_user(
        session,
        settings.admin_username,
        password,
        role=Role.ADMIN,
        display_name="Administrator",
        must_change_password=generated,
    )
    return password if generated else None
