"""Ranking the knowledge for a question: BM25 (``bm25s``) over stems, plus character
n-grams for compounds and typos, and how well the best entry covers the question.

Ranking and confidence are separate on purpose. BM25 orders the entries, but its score
has no fixed scale: an out-of-scope question still has a "best" entry. The confidence is a
logistic model (``confidence.yaml``, fitted by ``bench/assistant_calibration.py`` on the
tuning sets) over a few features of the best hit: the share of the question's words
(weighted by how rare they are in the knowledge) that the entry contains, exactly, through
a synonym, a typo-corrected form or most of the word's n-grams (a compound); the BM25
score and its margin to the second hit; and the rarest word the entry lacks. A question
whose rare words the entry lacks ("Führerschein", "Hundesteuer") scores low and is handed
to a person. Without the model file the coverage alone is the confidence (``coverage``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import bm25s
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from intake.assistant import language
from intake.assistant.knowledge import Document, Knowledge

NGRAM = 4


@dataclass(frozen=True)
class Config:
    """The search's switches; the defaults are what won on the tuning set."""

    fold: bool = True
    stem: bool = True
    synonyms: bool = True
    typos: bool = True
    ngrams: bool = True
    ngram_weight: float = 0.3
    kind_weight: dict[str, float] = field(
        default_factory=lambda: {"faq": 1.0, "service": 0.5, "fact": 0.5, "tutorial": 0.4}
    )
    threshold: float = 0.4
    prefix_stems: dict[str, int] | None = None  # None: language.PREFIX_STEMS
    index_answers: bool = False  # search a FAQ entry's answers too, not only its questions
    specific: float = 10.0  # matched weight at which a match counts as specific enough
    unknown_weight: float = 1.0  # a word the knowledge lacks, relative to the rarest known
    calibrated: bool = True  # the fitted model's confidence and threshold, when there is one

    def but(self, **changes: object) -> Config:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float
    confidence: float
    features: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Calibration:
    """A logistic model of "the best hit is the right answer" over some of the hit's
    features (those ``weights`` names)."""

    weights: dict[str, float]
    intercept: float
    threshold: float

    def probability(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(w * features[name] for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def from_data(cls, data: dict[str, object] | None) -> Calibration | None:
        if not data:
            return None
        weights = data["weights"]
        assert isinstance(weights, dict)
        return cls(
            {str(k): float(v) for k, v in weights.items()},
            float(data["intercept"]),  # type: ignore[arg-type]
            float(data["threshold"]),  # type: ignore[arg-type]
        )


FEATURES = ("coverage", "specific", "bm25", "margin", "missing", "unknown", "words", "elsewhere")


@dataclass
class _Group:
    """One word of the question and the index terms that stand for it."""

    word: str
    terms: set[str]
    grams: tuple[str, ...]
    weight: float = 0.0
    elsewhere: bool = False  # names a topic answered elsewhere (elsewhere.yaml)


def _ngrams(word: str) -> list[str]:
    padded = f"_{word}_"
    if len(padded) <= NGRAM:
        return [padded]
    return [padded[i : i + NGRAM] for i in range(len(padded) - NGRAM + 1)]


class Index:
    """The knowledge's documents as BM25 indexes over terms and over n-grams."""

    def __init__(self, knowledge: Knowledge, config: Config | None = None) -> None:
        self.knowledge = knowledge
        self.config = config or Config()
        self.documents = knowledge.documents
        term_corpus: list[list[str]] = []
        gram_corpus: list[list[str]] = []
        for document in self.documents:
            terms: list[str] = []
            grams: list[str] = []
            texts = document.texts + (document.answer_texts if self.config.index_answers else ())
            for lang, text in texts:
                for word, alternatives in self._words(text, lang):
                    for each in (word, *alternatives):
                        terms.extend(self._terms(each, lang))
                        grams.extend(_ngrams(each))
            term_corpus.append(terms)
            gram_corpus.append(grams)
        self.doc_terms = [frozenset(t) for t in term_corpus]
        self.doc_grams = [frozenset(g) for g in gram_corpus]
        self.terms = _bm25(term_corpus)
        self.grams = _bm25(gram_corpus)
        df: Counter[str] = Counter()
        for terms_of_doc in self.doc_terms:
            df.update(terms_of_doc)
        n = len(self.documents)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.unknown_idf = self.config.unknown_weight * math.log(1 + (n + 0.5) / 0.5)
        self.vocabulary = sorted(self.idf)
        self.kind_weight = np.array(
            [self.config.kind_weight.get(d.kind, 1.0) for d in self.documents]
        )
        model = Calibration.from_data(knowledge.calibration) if self.config.calibrated else None
        self.calibration = model
        self.elsewhere = {
            language.language_of(lang): tuple(language.fold(str(w), lang) for w in words)
            for lang, words in knowledge.elsewhere.items()
        }

    @property
    def threshold(self) -> float:
        """The confidence below which a question is handed to a person."""
        return self.calibration.threshold if self.calibration else self.config.threshold

    # --- text to terms ------------------------------------------------------------------

    def _words(self, text: str, lang: str) -> list[tuple[str, list[str]]]:
        """The text's words, each with the synonyms it also stands for."""
        if not self.config.fold:
            return [(w, []) for w in text.casefold().split() if w.isalnum()]
        found: list[tuple[str, list[str]]] = [(w, []) for w in language.words(text, lang)]
        if self.config.synonyms:
            table = self.knowledge.synonyms.get(language.language_of(lang)) or {}
            by_word = {w: alternatives for w, alternatives in found}
            # Synonyms also for stop-words ("auf" = open): look at every folded word.
            for raw in language.fold(text, lang).split():
                word = raw.strip("?!.,;:()\"'")
                extra = table.get(word)
                if not extra:
                    continue
                if word in by_word:
                    by_word[word].extend(extra)
                else:
                    found.append((word, list(extra)))
                    by_word[word] = found[-1][1]
        return found

    def _terms(self, word: str, lang: str) -> list[str]:
        if not self.config.stem:
            return [word]
        return [language.stem(word, lang, self.config.prefix_stems)]

    def _groups(self, question: str, lang: str) -> list[_Group]:
        groups: list[_Group] = []
        readings = [lang] if language.language_of(lang) == "de" else [lang, "de"]
        joined, particles = self._separable(question, lang)
        for word, alternatives in self._words(question, lang):
            if not alternatives and language.stop_word_mistyped(word, lang, self.idf):
                continue
            if word in particles:
                continue  # joined to its verb
            if word in joined:
                alternatives = [joined[word]]
            terms: set[str] = set()
            for reading in readings:
                folded = language.fold(word, reading) if self.config.fold else word
                terms.update(self._terms(folded, reading))
            # A word the knowledge itself uses is its topic, whatever elsewhere.yaml says
            # ("Automat" for the photo booth, "wählen" for choosing a file).
            elsewhere = not terms & self.idf.keys() and self._elsewhere(word, lang)
            if self.config.typos:
                terms |= self._corrections(terms)
            for alternative in alternatives:
                terms.update(self._terms(alternative, lang))
            known = [self.idf[t] for t in terms if t in self.idf]
            weight = max(known) if known else self.unknown_idf
            grams = [g for each in (word, *alternatives) for g in _ngrams(each)]
            groups.append(_Group(word, terms, tuple(grams), weight, elsewhere))
        return groups

    def _separable(self, question: str, lang: str) -> tuple[dict[str, str], set[str]]:
        """German verbs whose particle ends the clause ("Wie melde ich mich an?", "lade
        ... hoch"): each verb joined to it (``anmelde``) where the knowledge has the
        joined verb's stem, and the particles so used."""
        if language.language_of(lang) != "de" or not (self.config.fold and self.config.stem):
            return {}, set()
        joined: dict[str, str] = {}
        particles: set[str] = set()
        for clause in language.clauses(question, lang):
            if len(clause) < 2 or clause[-1] not in language.SEPARABLE_PARTICLES:
                continue
            particle = clause[-1]
            for word in clause[:-1]:
                verb = particle + word
                if self._terms(verb, lang)[0] in self.idf:
                    joined[word] = verb
                    particles.add(particle)
        return joined, particles

    def _elsewhere(self, word: str, lang: str) -> bool:
        """Whether the (folded) word names a topic the city answers elsewhere: that word,
        inflected or (German) as a compound's part (``language.names_topic``)."""
        base = language.language_of(lang)
        return any(language.names_topic(word, t, base) for t in self.elsewhere.get(base, ()))

    def _corrections(self, terms: set[str]) -> set[str]:
        found: set[str] = set()
        for term in terms:
            if term in self.idf or len(term) < 4:
                continue
            limit = 1 if len(term) <= 6 else 2
            match = process.extractOne(
                term, self.vocabulary, scorer=Levenshtein.distance, score_cutoff=limit
            )
            if match is not None:
                found.add(match[0])
        return found

    # --- ranking ------------------------------------------------------------------------

    def search(self, question: str, lang: str, limit: int = 3) -> list[Hit]:
        groups = self._groups(question, lang)
        if not groups:
            return []
        terms = sorted({t for g in groups for t in g.terms})
        scores = self.terms.get_scores(terms) if terms else np.zeros(len(self.documents))
        if self.config.ngrams:
            grams = [g for group in groups for g in group.grams]
            scores = scores + self.config.ngram_weight * self.grams.get_scores(grams)
        scores = scores * self.kind_weight
        order = np.argsort(-scores)[: max(limit, 2)]
        second = float(scores[order[1]]) if len(order) > 1 else 0.0
        hits = []
        for rank, i in enumerate(order[:limit]):
            if scores[i] <= 0:
                continue
            # Only the best hit's margin to the next one is measured.
            other = second if rank == 0 else float(scores[i])
            features = self._features(groups, int(i), float(scores[i]), other)
            confidence = (
                self.calibration.probability(features) if self.calibration else features["specific"]
            )
            hits.append(Hit(self.documents[i], float(scores[i]), confidence, features))
        return hits

    def _features(
        self, groups: Iterable[_Group], index: int, score: float, second: float
    ) -> dict[str, float]:
        terms, grams = self.doc_terms[index], self.doc_grams[index]
        total = covered = missing = unknown = elsewhere = 0.0
        count = 0
        for group in groups:
            count += 1
            total += group.weight
            if not group.terms & self.idf.keys():
                unknown += group.weight
            if group.terms & terms:
                covered += group.weight
                continue
            if group.elsewhere:
                elsewhere = 1.0
            share = 0.0
            if self.config.ngrams and group.grams:
                share = sum(1 for g in group.grams if g in grams) / len(group.grams)
            if share >= 0.75:  # a compound or a badly typed word, mostly there
                covered += group.weight * share * 0.8
            else:
                missing = max(missing, group.weight)
        coverage = covered / total if total else 0.0
        # A long question must match more than a word or two of the entry; a short one
        # that is matched whole needs no more.
        specific = coverage * min(1.0, covered / min(self.config.specific, total)) if total else 0.0
        return {
            "coverage": coverage,
            "specific": specific,
            "bm25": math.log1p(score),
            "margin": (score - second) / score if score > 0 else 0.0,
            "missing": missing / self.unknown_idf,
            "unknown": unknown / total if total else 0.0,
            "words": math.log1p(count),
            "elsewhere": elsewhere,
        }


def _bm25(corpus: list[list[str]]) -> bm25s.BM25:
    retriever = bm25s.BM25()
    retriever.index([tokens or [""] for tokens in corpus], show_progress=False)
    return retriever
