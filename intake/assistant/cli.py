"""``servicepoint ask "QUESTION" [--lang xx]``: the assistant's answer with its sources and
score, for the people who curate the knowledge (no database, nothing stored)."""

from __future__ import annotations

import argparse
import json
import sys

from intake.assistant import language
from intake.assistant.knowledge import KnowledgeError
from intake.assistant.service import Assistant, InvalidQuestion, clean_question


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ask = sub.add_parser(
        "ask",
        help="ask the citizen assistant a question",
        description="Print the assistant's answer, its sources and its score, and the "
        "best-ranked knowledge entries (nothing is stored).",
    )
    ask.add_argument("question", metavar="QUESTION")
    ask.add_argument("--lang", choices=language.LANGUAGES, default=None)
    ask.add_argument("--json", action="store_true", help="print the API's JSON answer")
    ask.set_defaults(handler=run_ask)


def run_ask(args: argparse.Namespace) -> int:
    out = sys.stdout
    try:
        assistant = Assistant()
        question = clean_question(args.question)
        answer = assistant.ask(question, args.lang)
    except InvalidQuestion as exc:
        sys.stderr.write(f"error: {Assistant().knowledge.text('en', exc.key)}\n")
        return 2
    except KnowledgeError as exc:
        sys.stderr.write(f"error: the knowledge does not load: {exc}\n")
        return 1
    if args.json:
        out.write(json.dumps(answer.public(), ensure_ascii=False, indent=2) + "\n")
        return 0
    written = "de-easy" if args.lang == "de-easy" else language.detect(question, args.lang or "de")
    state = "answered" if answer.answered else "not answered (hand-off)"
    out.write(f"{answer.answer}\n\n")
    out.write(f"language: {answer.lang}   {state}   score: {answer.confidence:.3f}")
    out.write(f"   threshold: {assistant.index().threshold:.2f}\n")
    for source in answer.sources:
        out.write(f"source: {source['title']} <{source['url']}>\n")
    if answer.handoff:
        out.write(f"hand-off: {answer.handoff['kind']} <{answer.handoff['url']}>\n")
    out.write("ranking:\n")
    for hit in assistant.index().search(question, written, limit=3):
        out.write(f"  {hit.document.id:45} bm25 {hit.score:7.2f}   score {hit.confidence:.3f}\n")
    return 0
