"""The citizen assistant: a question in, an answer with its sources (or an honest
"I don't know" with the way to a person) out.

- The knowledge is loaded once per process and rebuilt when one of its files changes
  (their modification times and sizes are compared on every question: a few ``stat``
  calls, no restart needed). A file that no longer loads keeps the last good index.
- Every value an answer states is read from the data (``knowledge.fill``); an answer
  below the calibrated confidence is not given at all.
- A question about one's own application is answered only through
  ``intake.applications.service.for_citizen``, the check the status page uses, with the reference
  number and the access code; without both nothing about any case is said.
- Unanswered questions are counted per day with numbers, e-mail addresses and codes
  masked (:func:`mask`), for the office to add answers.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from intake.applications import service as applications
from intake.applications.models import Application
from intake.assistant import language, repository
from intake.assistant.knowledge import (
    CONTACT_URL,
    DATA_DIR,
    Document,
    Knowledge,
    KnowledgeError,
    fill,
    knowledge_files,
    load,
)
from intake.assistant.search import Config, Index
from servicepoint.errors import NotFound
from servicepoint.settings import OFFICE_TIME

log = logging.getLogger(__name__)

MAX_QUESTION = 1000
VIDEO_URL = "/video/termin"
CASE_URL = "/assistent/antrag"
REFERENCE = re.compile(r"\bHSP-\d{4}-[A-Z0-9]{6}\b", re.IGNORECASE)
ACCESS_CODE = re.compile(r"(?<![\w-])[A-Za-z0-9_-]{40,48}(?![\w-])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_LONG_TOKEN = re.compile(r"\b[\w-]{16,}\b")
_NUMBER = re.compile(r"\d+")


class InvalidQuestion(ValueError):
    """Empty, too long or not text; ``key`` names the message in interface.yaml."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass
class Answer:
    answer: str
    lang: str
    answered: bool
    confidence: float
    sources: list[dict[str, str]] = field(default_factory=list)
    handoff: dict[str, str] | None = None
    entry: str | None = None  # the knowledge entry that answered (for the curators)
    personal: bool = False  # the question is about one's own application
    source_ids: list[str] = field(default_factory=list)  # what ``sources`` cite

    def public(self) -> dict[str, Any]:
        """The body of ``POST /api/v1/assistant/ask`` (CONTRACTS §7)."""
        return {
            "answer": self.answer,
            "lang": self.lang,
            "answered": self.answered,
            "confidence": self.confidence,
            "sources": self.sources,
            "handoff": self.handoff,
        }


def clean_question(raw: object) -> str:
    """The question as text without control characters; refuses what cannot be one."""
    if not isinstance(raw, str):
        raise InvalidQuestion("error_text")
    text = _CONTROL.sub(" ", raw)
    text = " ".join(text.split())
    if not text:
        raise InvalidQuestion("error_empty")
    if len(raw) > MAX_QUESTION:
        raise InvalidQuestion("error_long")
    return text


def mask(question: str) -> str:
    """The question without what could identify someone: e-mail addresses, codes and
    reference numbers, and every number (dates, phone numbers, house numbers)."""
    text = _EMAIL.sub("[E-Mail]", question)
    text = REFERENCE.sub("[Vorgangsnummer]", text)
    text = _LONG_TOKEN.sub("[Code]", text)
    text = _NUMBER.sub("#", text)
    return text[:300]


class Assistant:
    """The knowledge and its index, rebuilt when a knowledge file changes."""

    def __init__(
        self, data_dir: Path = DATA_DIR, config: Config | None = None, check_every: float = 1.0
    ) -> None:
        self.data_dir = data_dir
        self.config = config or Config()
        # A change is seen within ``check_every`` seconds; between checks nothing is read.
        self.check_every = check_every
        self._checked = 0.0
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._index: Index | None = None
        self.builds = 0

    def _current_signature(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for path in knowledge_files(self.data_dir):
            try:
                stat = path.stat()
            except OSError:
                found.append((str(path), -1, -1))
                continue
            found.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def index(self) -> Index:
        now = time.monotonic()
        if self._index is not None and now - self._checked < self.check_every:
            return self._index
        self._checked = now
        signature = self._current_signature()
        if self._index is not None and signature == self._signature:
            return self._index
        with self._lock:
            if self._index is None or signature != self._signature:
                try:
                    self._index = Index(load(self.data_dir), self.config)
                    self.builds += 1
                except KnowledgeError:
                    if self._index is None:
                        raise
                    log.exception("knowledge not reloaded; the last good version stays")
                self._signature = signature
            return self._index

    @property
    def knowledge(self) -> Knowledge:
        return self.index().knowledge

    def ask(
        self,
        question: str,
        lang: str | None = None,
        fallback: str = language.DEFAULT_LANGUAGE,
        session: Session | None = None,
    ) -> Answer:
        """Answer a cleaned question (see :func:`clean_question`)."""
        index = self.index()
        # The question is read in the language it is written in; the answer is given in
        # the chosen one (Leichte Sprache is German to read).
        wanted = lang if lang in language.LANGUAGES else None
        written = (
            "de-easy" if wanted == "de-easy" else language.detect(question, wanted or fallback)
        )
        chosen = wanted or written
        reference, code = REFERENCE.search(question), ACCESS_CODE.search(question)
        if session is not None and reference is not None and code is not None:
            return case_answer(session, index.knowledge, reference.group(0), code.group(0), chosen)
        hits = index.search(question, written, limit=1)
        if not hits or hits[0].confidence < index.threshold:
            confidence = hits[0].confidence if hits else 0.0
            answer = unknown(index.knowledge, chosen, confidence)
        else:
            answer = compose(index.knowledge, hits[0].document, chosen, hits[0].confidence)
        if wanted is None and chosen == "uk" and language.looks_russian(question):
            note = index.knowledge.text("uk", "russian_read_as_ukrainian")
            answer.answer = f"{note} {answer.answer}"
        return answer


def unknown(knowledge: Knowledge, lang: str, confidence: float = 0.0) -> Answer:
    return Answer(
        knowledge.text(lang, "unknown"),
        lang,
        answered=False,
        confidence=round(min(confidence, 1.0), 3),
        handoff={"kind": "video", "url": VIDEO_URL},
    )


def _cite(
    knowledge: Knowledge, source_ids: list[str], lang: str
) -> tuple[list[dict[str, str]], list[str]]:
    """Title and URL of each source (a tutorial in the asked language where there is
    one), once each; and the ids of the sources cited."""
    cited: list[dict[str, str]] = []
    ids: list[str] = []
    for source_id in source_ids:
        source = knowledge.sources.get(_localized(knowledge, source_id, lang))
        if source is None:
            continue
        title, _foreign = source.title(lang)
        if source.id.startswith("page:"):
            title = knowledge.page_title(source.url, lang)
        ids.append(source.id)
        page = source.url.partition("?")[0]
        if any(c["url"].partition("?")[0] == page for c in cited):
            continue  # two chapters of one tutorial: one link, to the first one cited
        cited.append({"title": title, "url": source.url})
    return cited, ids


def _localized(knowledge: Knowledge, source_id: str, lang: str) -> str:
    """A tutorial in the asked language when the script has that version."""
    if not source_id.startswith("tutorial:"):
        return source_id
    slug, _, chapter = source_id[len("tutorial:") :].partition("#")
    base = language.language_of(lang)
    source = knowledge.sources.get(source_id)
    if source is None or source.language == base:
        return source_id
    for sibling in knowledge.siblings.get(slug, []):
        other = knowledge.sources.get(f"tutorial:{sibling}")
        if other is not None and other.language == base and not sibling.endswith("leichte-sprache"):
            candidate = f"tutorial:{sibling}" + (f"#{chapter}" if chapter else "")
            if candidate in knowledge.sources:
                return candidate
    if lang == "de-easy":
        easy = f"tutorial:{slug}-leichte-sprache"
        if easy in knowledge.sources:
            return easy
    return source_id


def compose(knowledge: Knowledge, document: Document, lang: str, confidence: float) -> Answer:
    """The answer of one knowledge entry in ``lang``, its values read from the data."""
    if document.kind == "faq":
        text, used, german = fill(document.answers[lang], knowledge, lang)
        source_ids = [*used, *(s for s in document.sources if s not in used)]
        if document.personal:
            source_ids = [f"page:{CASE_URL}"]
    else:
        text, german = _describe(knowledge, document, lang)
        source_ids = list(document.sources)
    if german and language.language_of(lang) not in ("de", "en"):
        text = f"{text} ({knowledge.text(lang, 'german_only')})"
    sources, cited_ids = _cite(knowledge, source_ids, lang)
    if document.personal:
        sources = [{"title": knowledge.text(lang, "case_heading"), "url": CASE_URL}]
    return Answer(
        text,
        lang,
        answered=True,
        confidence=round(min(confidence, 1.0), 3),
        sources=sources,
        entry=document.id,
        personal=document.personal,
        source_ids=cited_ids,
    )


def _describe(knowledge: Knowledge, document: Document, lang: str) -> tuple[str, bool]:
    """A service, fact or tutorial chapter told in the asked language's framing."""
    source = knowledge.sources[document.sources[0]]
    base = "de" if lang == "de-easy" else lang
    german = base not in source.titles
    pick = base if not german else ("de" if "de" in source.titles else next(iter(source.titles)))

    def value(name: str) -> str:
        per_lang = source.values.get(name, {})
        chosen = per_lang.get(pick) or next(iter(per_lang.values()), "")
        return "; ".join(chosen) if isinstance(chosen, list) else chosen

    title = source.titles[pick]
    if document.kind == "tutorial":
        framing = knowledge.text(lang, "tutorial").replace("%(title)s", title)
        return f"{framing}: {value('narration')}", german
    if document.kind == "service":
        parts = [f"{title}: {value('summary')}"]
        for name in ("fee", "deadline", "bring"):
            if value(name):
                parts.append(f"{knowledge.text(lang, name)}: {value(name)}.")
        return " ".join(parts), german
    details = [value(name) for name in source.values if name != "title" and value(name)]
    return f"{title}: " + " ".join(details), german


def case_answer(
    session: Session, knowledge: Knowledge, reference: str, code: str, lang: str
) -> Answer:
    """The status of one's own application, through the status page's own check."""
    application_id = repository.application_id(session, reference.upper())
    application: Application | None = None
    if application_id is not None:
        try:
            application = applications.for_citizen(session, application_id, code)
        except NotFound:
            application = None
    if application is None:
        return Answer(
            knowledge.text(lang, "case_not_found"),
            lang,
            answered=False,
            confidence=1.0,
            handoff={"kind": "contact", "url": CONTACT_URL},
            personal=True,
        )
    status = knowledge.text(lang, f"status_{application.status}")
    text = knowledge.text(lang, "case_status")
    text = text.replace("%(reference)s", application.reference).replace("%(status)s", status)
    source = {"title": knowledge.text(lang, "case_link"), "url": f"/antrag/{application.id}"}
    return Answer(
        text,
        lang,
        answered=True,
        confidence=1.0,
        sources=[source],
        personal=True,
        entry="faq:antrag-status",
    )


def record_unanswered(session: Session, question: str, lang: str, now: datetime) -> None:
    """Count the question, masked, on the office's day (the caller owns the transaction)."""
    day: date = now.astimezone(OFFICE_TIME).date()
    repository.count_unanswered(session, day, lang, mask(question))


def unanswered_summary(session: Session, days: int = 30, limit: int = 10) -> dict[str, Any]:
    """The admin dashboard's section: questions left unanswered in the last ``days`` days."""
    since = datetime.now(OFFICE_TIME).date() - timedelta(days=days - 1)
    return {
        "since": since,
        "questions": repository.unanswered_since(session, since, limit),
        "per_day": repository.unanswered_per_day(session, since),
    }


_assistant: Assistant | None = None
_assistant_lock = threading.Lock()


def get_assistant() -> Assistant:
    """The process's assistant (knowledge loaded on first use)."""
    global _assistant
    with _assistant_lock:
        if _assistant is None:
            _assistant = Assistant()
        return _assistant
