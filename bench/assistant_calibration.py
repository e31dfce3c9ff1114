"""Fit the assistant's confidence model on the TUNING question sets (never the held-out).

For the best hit of every tuning question the search's features are computed
(``intake.assistant.search.FEATURES``); the label is 1 when the question is answerable and
that hit is one of its right sources, 0 otherwise (an unanswerable question, or a wrong
best hit). A logistic regression with a small L2 penalty (Newton's method, numpy) is
fitted; the answer threshold is chosen by 5-fold cross-validation, repeated over five
draws of the folds: on the out-of-fold probabilities, the threshold that answers the most
answerable questions rightly while handing off at least 96 % of the unanswerable ones.
Feature subsets are compared the same way and the best is kept. ``--write`` stores the
model fitted on all tuning questions, with that threshold, in
``intake/data/assistant/confidence.yaml`` (the assistant reloads it without a restart).

    nice -n 10 python bench/assistant_calibration.py [--write]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.assistant import quality  # noqa: E402
from intake.assistant.knowledge import DATA_DIR, load  # noqa: E402
from intake.assistant.search import FEATURES, Config, Index  # noqa: E402

SETS = ROOT / "tests" / "intake" / "assistant"
TUNING = quality.tuning_sets(SETS)
MODEL = DATA_DIR / "confidence.yaml"
HANDOFF = 0.98
FOLDS = 5
REPEATS = 5  # the folds drawn anew each time; shares averaged over the repeats
PENALTY = 1.0
THRESHOLDS = [round(0.01 * i, 2) for i in range(5, 96)]
SUBSETS = [
    ("coverage only (the former confidence)", ("specific",)),
    ("coverage + BM25 + margin", ("coverage", "specific", "bm25", "margin")),
    (
        "coverage + BM25 + margin + missing word",
        ("coverage", "specific", "bm25", "margin", "missing"),
    ),
    ("coverage + topic answered elsewhere", ("coverage", "specific", "elsewhere")),
    (
        "coverage + BM25 + margin + topic answered elsewhere",
        ("coverage", "specific", "bm25", "margin", "elsewhere"),
    ),
    ("all features but the topic answered elsewhere", FEATURES[:-1]),
    ("all features", FEATURES),
]


def rows(
    index: Index, questions: list[quality.Question]
) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Features of each question's best hit, its label, and whether it is answerable."""
    features: list[list[float]] = []
    labels: list[float] = []
    kinds: list[bool] = []
    for question in questions:
        hits = index.search(question.text, quality.question_language(question), limit=1)
        top = hits[0] if hits else None
        features.append([top.features[n] for n in FEATURES] if top else [0.0] * len(FEATURES))
        labels.append(float(top is not None and top.document.id in question.expected))
        kinds.append(bool(question.expected))
    return np.array(features), np.array(labels), kinds


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression weights (intercept first), L2 on all but the intercept."""
    design = np.hstack([np.ones((len(x), 1)), x])
    weights = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * PENALTY
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ weights, -30, 30)))
        gradient = design.T @ (p - y) + penalty @ weights
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    return weights


def predict(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = weights[0] + x @ weights[1:]
    p: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return p


def shares(
    p: np.ndarray, y: np.ndarray, kinds: list[bool], threshold: float
) -> tuple[float, float]:
    answerable = np.array(kinds)
    answered = p >= threshold
    right = float((answered & (y == 1) & answerable).sum() / answerable.sum())
    handed_off = float((~answered & ~answerable).sum() / (~answerable).sum())
    return right, handed_off


def folds(kinds: list[bool], y: np.ndarray, seed: int) -> list[int]:
    """Fold of each question, stratified by answerable and label, the same every run."""
    fold = [0] * len(kinds)
    rng = random.Random(seed)
    for stratum in {(k, float(v)) for k, v in zip(kinds, y, strict=True)}:
        members = [i for i, (k, v) in enumerate(zip(kinds, y, strict=True)) if (k, v) == stratum]
        rng.shuffle(members)
        for position, i in enumerate(members):
            fold[i] = position % FOLDS
    return fold


def cross_validate(x: np.ndarray, y: np.ndarray, kinds: list[bool]) -> tuple[float, float, float]:
    """Threshold chosen on out-of-fold probabilities, and the shares it reaches there
    (averaged over ``REPEATS`` draws of the folds)."""
    repeats = []
    for seed in range(REPEATS):
        fold = np.array(folds(kinds, y, seed))
        p = np.zeros(len(y))
        for k in range(FOLDS):
            train = fold != k
            p[~train] = predict(fit(x[train], y[train]), x[~train])
        repeats.append(p)
    best = (-1.0, 0.5, 0.0, 0.0)
    for threshold in THRESHOLDS:
        both = [shares(p, y, kinds, threshold) for p in repeats]
        right = sum(r for r, _ in both) / REPEATS
        handed_off = sum(h for _, h in both) / REPEATS
        if handed_off >= HANDOFF and right > best[0]:
            best = (right, threshold, right, handed_off)
    return best[1], best[2], best[3]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="store the fitted model")
    args = parser.parse_args()
    index = Index(load(), Config(calibrated=False))
    questions = [q for path in TUNING for q in quality.load_questions(path)]
    x, y, kinds = rows(index, questions)
    n_ans = sum(kinds)
    print(f"tuning sets: {n_ans} answerable, {len(kinds) - n_ans} unanswerable")
    print("| features | threshold (5-fold) | right source first, answered | hand-off |")
    print("|---|---|---|---|")
    chosen: tuple[float, str, tuple[str, ...], float, float] = (-1.0, "", (), 0.0, 0.0)
    for name, subset in SUBSETS:
        columns = [FEATURES.index(n) for n in subset]
        threshold, right, handed_off = cross_validate(x[:, columns], y, kinds)
        print(f"| {name} | {threshold:.2f} | {right:.1%} | {handed_off:.1%} |")
        if right > chosen[0]:
            chosen = (right, name, subset, threshold, handed_off)
    right, name, subset, threshold, handed_off = chosen
    columns = [FEATURES.index(n) for n in subset]
    weights = fit(x[:, columns], y)
    print(f"chosen: {name}, threshold {threshold:.2f}")
    for path in TUNING:
        own = quality.load_questions(path)
        ox, oy, okinds = rows(index, own)
        r, h = shares(predict(weights, ox[:, columns]), oy, okinds, threshold)
        print(f"{path.name}, model fitted on all tuning questions: right {r:.1%}, hand-off {h:.1%}")
    if args.write:
        lines = [
            "# The assistant's confidence: a logistic model over the best hit's features",
            "# (intake/assistant/search.py), fitted by bench/assistant_calibration.py --write on",
            "# the tuning question sets; the threshold is chosen by 5-fold cross-validation",
            f"# for a hand-off of at least {HANDOFF:.0%} of the unanswerable questions. Refit",
            "# after changing the knowledge. Out-of-fold on the tuning sets: right source first",
            f"# and answered {right:.1%}, hand-off {handed_off:.1%}. Features: {name}.",
            f"threshold: {threshold}",
            f"intercept: {weights[0]:.6f}",
            "weights:",
            *(f"  {n}: {w:.6f}" for n, w in zip(subset, weights[1:], strict=True)),
        ]
        MODEL.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"written: {MODEL.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
