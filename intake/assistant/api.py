"""``POST /api/v1/assistant/ask`` (CONTRACTS §7): no sign-in, rate limited per client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictStr

from intake.assistant import service
from intake.assistant.limits import questions_limited
from servicepoint.db import SessionDep
from servicepoint.errors import InvalidInput

router = APIRouter(prefix="/api/v1/assistant", tags=["assistant"])

Language = Literal["de", "en", "tr", "ar", "uk", "de-easy"]


class AskIn(BaseModel):
    question: StrictStr = Field(min_length=1, max_length=service.MAX_QUESTION)
    lang: Language | None = None


class SourceOut(BaseModel):
    title: str
    url: str


class HandoffOut(BaseModel):
    kind: Literal["video", "contact"]
    url: str


class AnswerOut(BaseModel):
    answer: str
    lang: str
    answered: bool
    confidence: float = Field(ge=0, le=1)
    sources: list[SourceOut]
    handoff: HandoffOut | None


@router.post("/ask", response_model=AnswerOut, responses={422: {}, 429: {}})
def ask(request: Request, body: AskIn, session: SessionDep) -> AnswerOut | JSONResponse:
    wait = questions_limited(request)
    if wait:
        return JSONResponse(
            {"error": "rate_limited", "message": "Too many questions; wait a moment."},
            status_code=429,
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    assistant = service.get_assistant()
    try:
        question = service.clean_question(body.question)
    except service.InvalidQuestion as exc:
        knowledge = assistant.knowledge
        raise InvalidInput(
            knowledge.text("de", exc.key),
            knowledge.text("en", exc.key),
            details=[{"field": "question", "code": exc.key.removeprefix("error_")}],
        ) from exc
    answer = assistant.ask(question, body.lang, session=session)
    if not answer.answered and not answer.personal:
        service.record_unanswered(session, question, answer.lang, datetime.now(UTC))
    return AnswerOut.model_validate(answer.public())
