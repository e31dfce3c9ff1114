"""The assistant's quality on the question sets, with the real knowledge and search.

The held-out set was written and committed before the search existed and is never used
for tuning; its figures must meet the issue's targets. The tuning set's figures are
printed beside them (``pytest -s``). Every number in every answer, on every set (the
tuning batches too), must be found in the sources that answer cites: nothing invented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from intake.assistant import language, quality
from intake.assistant.service import Assistant

HERE = Path(__file__).resolve().parent
HELD_OUT = HERE / "questions_heldout.yaml"
# The first tuning set and its further batches, each written before the search was run on it.
TUNING, *BATCHES = quality.tuning_sets(HERE)
SETS = [TUNING, *BATCHES, HELD_OUT]
SET_IDS = ["tuning", *(p.stem.removeprefix("questions_tuning_") for p in BATCHES), "held-out"]
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    return Assistant()


def _numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


@pytest.mark.parametrize("path", SETS, ids=SET_IDS)
def test_question_sets_are_big_enough_and_cover_every_language(path: Path) -> None:
    questions = quality.load_questions(path)
    answerable = [q for q in questions if q.expected]
    unanswerable = [q for q in questions if not q.expected]
    if path == TUNING:
        assert len(answerable) >= 150
        assert len(unanswerable) >= 50
    assert {q.lang for q in answerable} == set(language.LANGUAGES)
    assert {q.lang for q in unanswerable} == set(language.LANGUAGES)


def test_held_out_targets(assistant: Assistant) -> None:
    index = assistant.index()
    held_out = quality.evaluate(index, quality.load_questions(HELD_OUT))
    tuning = quality.evaluate(index, quality.load_questions(TUNING))
    for name, figures in (("tuning", tuning), ("held-out", held_out)):
        print(  # noqa: T201 (the figures, shown with pytest -s)
            f"\n{name}: right source first {figures.right_first}/{figures.answerable} "
            f"({figures.right_first_share:.1%}), hand-off {figures.handed_off}/"
            f"{figures.unanswerable} ({figures.handoff_share:.1%}), language detected "
            f"{figures.detected}/{figures.answerable + figures.unanswerable}"
        )
        for miss in figures.misses:
            print("  miss:", miss)  # noqa: T201
    assert held_out.handoff_share >= 0.95  # the target, met
    # Measured when the search was first run on the held-out set: 68/97 (70.1 %); after
    # the calibrated confidence and the knowledge grown from seven tuning batches, 83/97
    # (85.6 %, measured once); after batches 8 and 9 and the knowledge grown from them,
    # 84/97 (86.6 %, measured once). The target of 90 % is not reached yet
    # (test_held_out_answerable_target below); this floor keeps the figure from getting
    # worse unnoticed.
    assert held_out.right_first >= 84


@pytest.mark.xfail(
    strict=True,
    reason="held-out: right source first and answered for 86.6 % of answerable questions; "
    "the target is 90 % (docs/benchmarks.md, 'Citizen assistant'). Remove this marker when "
    "it passes.",
)
def test_held_out_answerable_target(assistant: Assistant) -> None:
    figures = quality.evaluate(assistant.index(), quality.load_questions(HELD_OUT))
    assert figures.right_first_share >= 0.90


@pytest.mark.parametrize("path", SETS, ids=SET_IDS)
def test_no_number_in_any_answer_is_invented(assistant: Assistant, path: Path) -> None:
    knowledge = assistant.knowledge
    checked = 0
    for question in quality.load_questions(path):
        answer = assistant.ask(question.text, question.asked_lang)
        found = _numbers(answer.answer)
        if not answer.answered:
            assert not found, (question.text, answer.answer)
            continue
        cited = "\n".join(knowledge.sources[s].text() for s in answer.source_ids)
        invented = found - _numbers(cited)
        assert not invented, (question.text, answer.answer, answer.source_ids)
        checked += len(found)
    assert checked > 0  # the sets do ask for fees and deadlines


def test_every_faq_answer_in_every_language_reads_its_numbers_from_the_data(
    assistant: Assistant,
) -> None:
    """Beyond the question sets: each entry as it would be answered in each language."""
    from intake.assistant.service import compose

    knowledge = assistant.knowledge
    for document in knowledge.documents:
        for lang in language.LANGUAGES:
            answer = compose(knowledge, document, lang, 1.0)
            cited = "\n".join(knowledge.sources[s].text() for s in answer.source_ids)
            assert _numbers(answer.answer) <= _numbers(cited), (document.id, lang, answer.answer)


def test_language_detection_on_the_question_sets() -> None:
    questions = quality.load_questions(HELD_OUT) + quality.load_questions(TUNING)
    detected = [
        language.detect(q.text) == language.language_of(q.lang)
        for q in questions
        if q.lang != "de-easy"
    ]
    share = sum(detected) / len(detected)
    print(f"\nlanguage detected for {sum(detected)}/{len(detected)} ({share:.1%})")  # noqa: T201
    assert share >= 0.95
