"""Reading a question: a stop-word typed with a letter left out is still a stop-word."""

from __future__ import annotations

from intake.assistant.knowledge import load
from intake.assistant.language import stop_word_mistyped
from intake.assistant.search import Index


def test_a_stop_word_with_a_letter_left_out_is_dropped() -> None:
    assert stop_word_mistyped("mus", "de", set())  # muss
    assert stop_word_mistyped("kan", "de", set())  # kann
    assert stop_word_mistyped("abot", "en", set())  # about


def test_a_word_with_a_letter_more_or_one_the_knowledge_has_is_kept() -> None:
    assert not stop_word_mistyped("hund", "de", set())  # not "und"
    assert not stop_word_mistyped("pas", "de", {"pas"})  # a word the knowledge uses
    assert not stop_word_mistyped("ab", "de", set())  # too short to tell


def test_the_mistyped_stop_word_does_not_lower_the_confidence() -> None:
    index = Index(load())
    typed = index.search("mus ich mich abmelden?", "de", limit=1)[0]
    right = index.search("muss ich mich abmelden?", "de", limit=1)[0]
    assert typed.document.id == right.document.id == "faq:abmeldung"
    assert typed.confidence == right.confidence


def test_a_german_verb_is_joined_to_the_particle_that_ends_its_clause() -> None:
    index = Index(load())
    leaving = index.search("Wie melde ich mich ab?", "de", limit=1)[0]
    assert leaving.document.id == "faq:abmeldung"
    assert leaving.confidence >= index.threshold
    upload = index.search("Wo lade ich die Bestätigung hoch?", "de", limit=1)[0]
    assert upload.document.id == "faq:wohnungsgeber-hochladen"


def test_a_particle_is_joined_only_to_a_verb_the_knowledge_has() -> None:
    index = Index(load())
    joined, particles = index._separable("Wann macht das Bürgeramt auf?", "de")
    assert joined == {}
    assert particles == set()  # "auf" keeps its own meaning (open)
    joined, particles = index._separable("Wie melde ich mich ab, bitte?", "de")
    assert joined == {"melde": "abmelde"}
    assert particles == {"ab"}
