"""The assistant's pages: ``/assistent`` (ask, answer, frequent questions), the check of
one's own application, the knowledge it answers from, the office's contacts; the
compact panel every portal page includes; the administrators' list of unanswered
questions. Every page works without JavaScript (forms that GET or POST, answers
rendered by the server); ``static/js/assistant.js`` asks the API instead and announces
the answer in the page's live region.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from starlette.responses import Response

from backoffice import staff_pages
from intake.assistant import language, service
from intake.assistant.knowledge import CONTACT_URL
from intake.assistant.limits import questions_limited
from intake.portal import portal
from intake.portal.pages import flash, read_form, redirect, state_of, take_flash
from servicepoint import i18n, web
from servicepoint.db import SessionDep
from servicepoint.settings import OFFICE_TIME
from servicepoint.web import render, request_language, translator

router = APIRouter(include_in_schema=False, tags=["assistant"])

_TEXT_KEYS = (
    "title", "intro", "label", "hint", "language_label", "language_auto", "ask",
    "answer_heading", "you_asked", "sources", "suggested", "panel_heading", "panel_link",
    "handoff_video", "handoff_contact", "case_heading", "case_intro", "case_reference",
    "case_code", "case_submit", "knowledge_title", "fee", "deadline", "bring", "duration",
    "rate_limited",
)  # fmt: skip


def texts(lang: str) -> dict[str, str]:
    knowledge = service.get_assistant().knowledge
    return {key: knowledge.text(lang, key) for key in _TEXT_KEYS}


def panel(lang: str) -> dict[str, str]:
    """The panel's words in the portal's language (portal pages speak de or en)."""
    return texts(lang if lang in language.LANGUAGES else language.DEFAULT_LANGUAGE)


web.templates.globals["assistant_panel"] = panel


def _languages(request: Request, current: str, question: str) -> list[dict[str, str]]:
    names = service.get_assistant().knowledge.interface["languages"]
    found = []
    for code in language.LANGUAGES:
        query = {"lang": code, **({"q": question} if question else {})}
        url = request.url.replace_query_params(**query)
        found.append(
            {
                "code": code,
                "html_lang": "de" if code == "de-easy" else code,
                "name": names[code]["name"],
                "url": f"{url.path}?{url.query}",
                "current": str(code == current),
            }
        )
    return found


def _page_lang(lang: str) -> dict[str, Any]:
    html_lang = "de" if lang == "de-easy" else lang
    found: dict[str, Any] = {
        "page_lang": html_lang,
        "page_dir": "rtl" if lang in language.RTL_LANGUAGES else None,
    }
    chrome: dict[str, dict[str, str]] = service.get_assistant().knowledge.interface.get(
        "chrome", {}
    )
    if chrome and all(lang in texts for texts in chrome.values()):
        # The site speaks German and English; in the assistant's other languages its
        # header and footer are told from interface.yaml, and the page is one language.
        fallback, _ngettext = translator(i18n.DEFAULT_LANGUAGE)

        def gettext(message: str, **variables: Any) -> Markup:
            told = chrome.get(message, {}).get(lang)
            if told is None:
                return fallback(message, **variables)
            text = escape(told)
            return text % variables if variables else text

        found.update({"_": gettext, "gettext": gettext, "lang": html_lang})
    return found


def _suggested(lang: str) -> list[dict[str, str]]:
    knowledge = service.get_assistant().knowledge
    found = []
    for faq_id in knowledge.interface.get("suggested", []):
        document = knowledge.faq(faq_id)
        if document is None:
            continue
        asked = [text for text_lang, text in document.texts if text_lang == lang]
        if asked:
            found.append(
                {"question": asked[0], "url": f"/assistent?q={_quote(asked[0])}&lang={lang}"}
            )
    return found


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _chosen_lang(request: Request) -> str | None:
    value = (request.query_params.get("lang") or "").strip().lower()
    return value if value in language.LANGUAGES else None


def _answer_context(request: Request, session: SessionDep) -> tuple[str, dict[str, Any], int]:
    """The answer to ``?q=`` (or the reason there is none): language, context, status."""
    portal_lang = request_language(request)
    chosen = _chosen_lang(request)
    raw = request.query_params.get("q")
    context: dict[str, Any] = {"question": "", "answer": None, "error": None, "wait": 0}
    lang = chosen or portal_lang
    if raw is None or not raw.strip():
        return lang, context, 200
    knowledge = service.get_assistant().knowledge
    try:
        question = service.clean_question(raw)
    except service.InvalidQuestion as exc:
        context.update(error=knowledge.text(lang, exc.key), question=raw[: service.MAX_QUESTION])
        return lang, context, 422
    wait = questions_limited(request)
    if wait:
        context.update(error=knowledge.text(lang, "rate_limited"), question=question, wait=wait)
        return lang, context, 429
    answer = service.get_assistant().ask(question, chosen, portal_lang, session)
    if not answer.answered and not answer.personal:
        service.record_unanswered(session, question, answer.lang, datetime.now(UTC))
    context.update(question=question, answer=answer)
    return answer.lang, context, 200


def _limited(response: HTMLResponse, context: dict[str, Any]) -> HTMLResponse:
    if context["wait"]:
        response.headers["Retry-After"] = str(max(1, round(context["wait"])))
    return response


@router.get("/assistent", response_class=HTMLResponse)
def assistant_page(request: Request, session: SessionDep) -> Response:
    lang, context, status = _answer_context(request, session)
    return _limited(_render(request, lang, context, status), context)


@router.get("/assistent/antwort", response_class=HTMLResponse)
def answer_fragment(request: Request, session: SessionDep) -> HTMLResponse:
    """The answer alone, for the pages' script to put into their live region."""
    lang, context, status = _answer_context(request, session)
    ctx = {
        **context,
        **_page_lang(lang),
        "a_lang": lang,
        "t": texts(lang),
        "contact_url": CONTACT_URL,
        "video_url": service.VIDEO_URL,
        "prefix": re.sub(r"[^a-z]", "", request.query_params.get("prefix") or "")[:20] or "js",
    }
    response = render(request, "assistant/_fragment.html", ctx, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return _limited(response, context)


def _render(request: Request, lang: str, context: dict[str, Any], status: int) -> HTMLResponse:
    ctx = {
        **context,
        **_page_lang(lang),
        "a_lang": lang,
        "t": texts(lang),
        "languages": _languages(request, lang, context.get("question") or ""),
        "suggested": _suggested(lang),
        "has_errors": bool(context.get("error")),
        "contact_url": CONTACT_URL,
        "video_url": service.VIDEO_URL,
        "case_url": service.CASE_URL,
    }
    response = render(request, "assistant/page.html", ctx, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- one's own application ----------------------------------------------------------------


@router.get("/assistent/antrag", response_class=HTMLResponse)
def case_page(request: Request) -> Response:
    lang = _chosen_lang(request) or request_language(request)
    result = take_flash(state_of(request))
    ctx = {
        **_page_lang(lang),
        "a_lang": lang,
        "t": texts(lang),
        "languages": _languages(request, lang, ""),
        "result": result if result and result.get("kind") == "assistant_case" else None,
        "has_errors": bool(result and not result.get("found")),
    }
    response = render(request, "assistant/case.html", ctx)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/assistent/antrag")
async def case_check(request: Request) -> Response:
    form = await read_form(request)
    lang = str(form.get("lang") or "")
    lang = lang if lang in language.LANGUAGES else request_language(request)
    reference = " ".join(str(form.get("reference") or "").split())[:32]
    code = str(form.get("code") or "").strip().rsplit("token=", 1)[-1][:200]
    back = f"/assistent/antrag?lang={lang}"
    wait = questions_limited(request)
    if wait:
        flash(
            state_of(request),
            {"kind": "assistant_case", "found": False, "text": texts(lang)["rate_limited"]},
        )
        return redirect(back)

    def check() -> service.Answer:
        from servicepoint.db import session_scope

        with session_scope() as session:
            knowledge = service.get_assistant().knowledge
            return service.case_answer(session, knowledge, reference, code, lang)

    from starlette.concurrency import run_in_threadpool

    answer = await run_in_threadpool(check)
    if answer.answered and answer.sources:
        application_id = answer.sources[0]["url"].rsplit("/", 1)[-1]
        portal.remember_case(state_of(request), application_id, code)
    flash(
        state_of(request),
        {
            "kind": "assistant_case",
            "found": answer.answered,
            "text": answer.answer,
            "sources": answer.sources,
        },
    )
    return redirect(back)


# --- what the assistant knows, and the contacts -------------------------------------------


@router.get("/assistent/wissen", response_class=HTMLResponse)
def knowledge_page(request: Request) -> HTMLResponse:
    lang = _chosen_lang(request) or request_language(request)
    knowledge = service.get_assistant().knowledge
    shown = [
        source
        for source_id, source in knowledge.sources.items()
        if source_id.startswith(("fact:", "service:"))
    ]
    ctx = {
        **_page_lang(lang),
        "a_lang": lang,
        "t": texts(lang),
        "languages": _languages(request, lang, ""),
        "sources": shown,
        "value_lang": "en" if language.language_of(lang) == "en" else "de",
    }
    return render(request, "assistant/knowledge.html", ctx)


@router.get("/assistent/kontakt", response_class=HTMLResponse)
def contact_page(request: Request) -> HTMLResponse:
    lang = _chosen_lang(request) or request_language(request)
    knowledge = service.get_assistant().knowledge
    value_lang = "en" if language.language_of(lang) == "en" else "de"
    ctx = {
        **_page_lang(lang),
        "a_lang": lang,
        "t": texts(lang),
        "languages": _languages(request, lang, ""),
        "title": knowledge.page_title(CONTACT_URL, lang),
        "contact": knowledge.sources["fact:kontakt"],
        "hours": knowledge.sources["fact:oeffnungszeiten"],
        "video": knowledge.sources["fact:videozeiten"],
        "value_lang": value_lang,
        "video_url": service.VIDEO_URL,
    }
    return render(request, "assistant/contact.html", ctx)


# --- back office: what went unanswered ----------------------------------------------------


@router.get("/backoffice/verwaltung/assistent", response_class=HTMLResponse)
def admin_unanswered(
    request: Request, session: SessionDep, user: staff_pages.PageAdmin
) -> HTMLResponse:
    summary = service.unanswered_summary(session, days=90, limit=500)
    today: date = datetime.now(OFFICE_TIME).date()
    context = {"section": "assistant", "summary": summary, "today": today}
    return staff_pages.page(request, "assistant/admin.html", user, context)
