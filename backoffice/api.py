"""Back-office API: the OAuth2 password flow for clerks and administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from pydantic import BaseModel

from servicepoint.db import SessionDep
from servicepoint.security import authenticate, issue_api_token

router = APIRouter(prefix="/api/v1", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token", response_model=TokenOut)
def token(
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
) -> TokenOut:
    """Exchange a clerk's or administrator's credentials for a bearer token."""
    user = authenticate(session, username, password)
    return TokenOut(access_token=issue_api_token(user))
