"""The assistant's figures on a question set: right source first, hand-off, language.

Shared by the quality test (held-out set, targets asserted) and
``bench/assistant_quality.py`` (tuning set, alternatives compared).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from intake.assistant import language
from intake.assistant.search import Index


@dataclass(frozen=True)
class Question:
    text: str
    lang: str
    expected: tuple[str, ...]  # empty: unanswerable

    @property
    def asked_lang(self) -> str | None:
        """Leichte Sprache is chosen by the reader; everything else is detected."""
        return "de-easy" if self.lang == "de-easy" else None


@dataclass
class Figures:
    answerable: int = 0
    right_first: int = 0
    right_first_any_confidence: int = 0
    unanswerable: int = 0
    handed_off: int = 0
    detected: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def right_first_share(self) -> float:
        return self.right_first / self.answerable if self.answerable else 0.0

    @property
    def handoff_share(self) -> float:
        return self.handed_off / self.unanswerable if self.unanswerable else 0.0

    @property
    def detection_share(self) -> float:
        total = self.answerable + self.unanswerable
        return self.detected / total if total else 0.0


def tuning_sets(folder: Path) -> list[Path]:
    """The tuning question sets in ``folder``: the first set, then its batches in the order
    they were written (batch2, batch3, ...); never the held-out set."""

    def batch_number(path: Path) -> int:
        return int(path.stem.removeprefix("questions_tuning_batch"))

    batches = sorted(folder.glob("questions_tuning_batch*.yaml"), key=batch_number)
    return [folder / "questions_tuning.yaml", *batches]


def load_questions(path: Path) -> list[Question]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    questions = [
        Question(item["q"], item["lang"], (item["source"], *item.get("also", [])))
        for item in data.get("answerable", [])
    ]
    questions += [Question(item["q"], item["lang"], ()) for item in data.get("unanswerable", [])]
    return questions


def question_language(question: Question) -> str:
    return question.asked_lang or language.detect(question.text)


def evaluate(index: Index, questions: list[Question], threshold: float | None = None) -> Figures:
    limit = index.threshold if threshold is None else threshold
    figures = Figures()
    for question in questions:
        lang = question_language(question)
        if language.language_of(lang) == language.language_of(question.lang):
            figures.detected += 1
        hits = index.search(question.text, lang, limit=1)
        top = hits[0] if hits else None
        answered = top is not None and top.confidence >= limit
        if question.expected:
            figures.answerable += 1
            right = top is not None and top.document.id in question.expected
            figures.right_first_any_confidence += int(right)
            if right and answered:
                figures.right_first += 1
            else:
                got = f"{top.document.id} {top.confidence:.2f}" if top else "nothing"
                figures.misses.append(f"{question.text!r} → {got} (want {question.expected[0]})")
        else:
            figures.unanswerable += 1
            if not answered:
                figures.handed_off += 1
            else:
                assert top is not None
                figures.misses.append(
                    f"{question.text!r} → {top.document.id} {top.confidence:.2f} (want hand-off)"
                )
    return figures
