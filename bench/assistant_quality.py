"""The assistant's search alternatives on the TUNING question set (never the held-out).

Each bm25s variant adds one step of the normalisation (the last the fitted confidence
model of ``bench/assistant_calibration.py``, which is fitted on these same questions: its
row is in-sample; the cross-validated figure is that script's); for each, the answer threshold
is swept and the best one (right source first + hand-off, both as shares) is shown next
to the share of answerable questions whose right source ranks first at any confidence.
SQLite FTS5 (the tutorials' full text) is measured over the same documents with its own
bm25() ranking, its tokenizers, and a threshold swept on its score.

    nice -n 10 python bench/assistant_quality.py
"""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.assistant import language, quality  # noqa: E402
from intake.assistant.knowledge import Document, load  # noqa: E402
from intake.assistant.search import Config, Index  # noqa: E402

SETS = ROOT / "tests" / "intake" / "assistant"
TUNING = quality.tuning_sets(SETS)
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 17)]
PLAIN = Config(fold=False, stem=False, synonyms=False, typos=False, ngrams=False, calibrated=False)
VARIANTS = [
    ("bm25s, words as typed", PLAIN),
    ("+ folding, stop-words", PLAIN.but(fold=True)),
    ("+ stems (Snowball; uk/tr prefixes)", PLAIN.but(fold=True, stem=True)),
    ("+ synonyms", PLAIN.but(fold=True, stem=True, synonyms=True)),
    ("+ typo correction (rapidfuzz)", PLAIN.but(fold=True, stem=True, synonyms=True, typos=True)),
    ("+ character 4-grams (coverage as confidence)", Config(calibrated=False)),
    ("+ calibrated confidence (confidence.yaml) = chosen", Config()),
    ("chosen, Snowball for Turkish", Config(prefix_stems={"uk": 6})),
    ("chosen, without keywords in the FAQ", None),
]


def best(index: Index, questions: list[quality.Question]) -> tuple[float, quality.Figures]:
    scored = []
    for threshold in THRESHOLDS:
        figures = quality.evaluate(index, questions, threshold)
        scored.append((figures.right_first_share + figures.handoff_share, threshold, figures))
    scored.sort(key=lambda s: (s[0], s[2].handoff_share), reverse=True)
    return scored[0][1], scored[0][2]


def fts5_rows(
    knowledge_documents: list[Document], tokenizer: str, questions: list[quality.Question]
) -> str:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, body, tokenize='{tokenizer}')")
    for document in knowledge_documents:
        body = " ".join(text for _lang, text in document.texts)
        db.execute("INSERT INTO docs VALUES (?, ?)", (document.id, body))
    results = []
    for question in questions:
        lang = quality.question_language(question)
        words = [w for w in re.findall(r"\w+", question.text.casefold()) if len(w) > 1]
        words = [
            w for w in words if w not in language.STOPWORDS.get(language.language_of(lang), ())
        ]
        if tokenizer == "trigram":
            words = [w for w in words if len(w) >= 3]
        if not words:
            results.append((question, None, 0.0))
            continue
        query = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
        row = db.execute(
            "SELECT id, -bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 1",
            (query,),
        ).fetchone()
        results.append((question, row[0] if row else None, row[1] if row else 0.0))
    answerable = [r for r in results if r[0].expected]
    unanswerable = [r for r in results if not r[0].expected]
    top1 = sum(1 for q, top, _ in answerable if top in q.expected)
    best_row = (0.0, 0.0, 0, 0)
    for cut in sorted({s for _, _, s in results}):
        right = sum(1 for q, top, s in answerable if top in q.expected and s >= cut)
        off = sum(1 for _, _, s in unanswerable if s < cut)
        value = right / len(answerable) + off / len(unanswerable)
        if value > best_row[0]:
            best_row = (value, cut, right, off)
    _, cut, right, off = best_row
    return (
        f"| SQLite FTS5, tokenizer {tokenizer} | {top1 / len(answerable):.1%} | "
        f"{right / len(answerable):.1%} | {off / len(unanswerable):.1%} | score ≥ {cut:.2f} |"
    )


def main() -> int:
    questions = [q for path in TUNING for q in quality.load_questions(path)]
    knowledge = load()
    n_ans = sum(1 for q in questions if q.expected)
    print(f"tuning set: {n_ans} answerable, {len(questions) - n_ans} unanswerable")
    print(
        "| search | right source first (any confidence) | right source first, answered "
        "| hand-off of unanswerable | threshold |"
    )
    print("|---|---|---|---|---|")
    for name, config in VARIANTS:
        if config is None:
            from dataclasses import replace

            stripped = load()
            for i, document in enumerate(stripped.documents):
                if document.kind == "faq":
                    texts = tuple(
                        t for t in document.texts if not _is_keywords(t, knowledge, document.id)
                    )
                    stripped.documents[i] = replace(document, texts=texts)
            index = Index(stripped, Config())
        else:
            index = Index(knowledge, config)
        threshold, figures = best(index, questions)
        any_conf = figures.right_first_any_confidence / figures.answerable
        print(
            f"| {name} | {any_conf:.1%} | {figures.right_first_share:.1%} | "
            f"{figures.handoff_share:.1%} | {threshold:.2f} |"
        )
    for tokenizer in ("unicode61 remove_diacritics 2", "trigram"):
        print(fts5_rows(knowledge.documents, tokenizer, questions))
    index = Index(knowledge, Config())
    for path in TUNING:
        chosen = quality.evaluate(index, quality.load_questions(path))
        print(
            f"\n{path.name}, chosen configuration at its fixed threshold {index.threshold}: "
            f"right source first {chosen.right_first}/{chosen.answerable}, hand-off "
            f"{chosen.handed_off}/{chosen.unanswerable}, language detected {chosen.detected}/"
            f"{chosen.answerable + chosen.unanswerable}"
        )
    return 0


_KEYWORDS: dict[str, set[tuple[str, str]]] = {}


def _is_keywords(text: tuple[str, str], knowledge: object, faq_id: str) -> bool:
    if not _KEYWORDS:
        import yaml

        from intake.assistant.knowledge import DATA_DIR

        data = yaml.safe_load((DATA_DIR / "faq.yaml").read_text(encoding="utf-8"))
        for entry in data["faq"]:
            _KEYWORDS[f"faq:{entry['id']}"] = set((entry.get("keywords") or {}).items())
    return text in _KEYWORDS.get(faq_id, set())


if __name__ == "__main__":
    raise SystemExit(main())
