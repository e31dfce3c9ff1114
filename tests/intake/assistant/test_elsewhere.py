"""Topics answered elsewhere (``elsewhere.yaml``) match whole words, inflected, and German
compound parts, never a longer word that only begins with the same letters."""

from __future__ import annotations

import pytest

from intake.assistant.knowledge import load
from intake.assistant.language import fold, names_topic
from intake.assistant.search import Index


@pytest.mark.parametrize(
    ("word", "topic", "lang"),
    [
        ("Hunde", "hund", "de"),
        ("Autos", "auto", "de"),
        ("Hundesteuer", "hund", "de"),
        ("Hundesteuer", "steuer", "de"),
        ("beglaubigte", "beglaubig", "de"),
        ("cars", "car", "en"),
        ("taxes", "tax", "en"),
        ("voting", "vote", "en"),
        ("vergisi", "vergi", "tr"),
        ("копії", "копі", "uk"),
        ("السيارة", "سيار", "ar"),
        ("بالسيارة", "سيار", "ar"),
    ],
)
def test_a_word_names_its_topic_inflected_or_in_a_compound(
    word: str, topic: str, lang: str
) -> None:
    assert names_topic(fold(word, lang), topic, lang)


@pytest.mark.parametrize(
    ("word", "topic", "lang"),
    [
        ("care", "car", "en"),
        ("careful", "car", "en"),
        ("taxi", "tax", "en"),
        ("petition", "pet", "en"),
        ("hundert", "hund", "de"),
        ("автобус", "авто", "uk"),
        ("يشمل", "شمل", "ar"),  # "includes", not the family reunion (لم الشمل)
    ],
)
def test_a_longer_word_that_only_begins_the_same_is_not_the_topic(
    word: str, topic: str, lang: str
) -> None:
    assert not names_topic(fold(word, lang), topic, lang)


def test_the_feature_fires_on_the_topic_and_not_on_a_word_that_begins_like_it() -> None:
    knowledge = load()
    knowledge.elsewhere = {"de": ["hund"], "en": ["car"]}
    index = Index(knowledge)
    assert "care" not in index.idf  # a word the knowledge lacks: only the match decides
    taxed = index.search("Was kostet die Hundesteuer?", "de", limit=1)[0]
    assert taxed.features["elsewhere"] == 1.0
    careful = index.search("Can I take care of the registration online?", "en", limit=1)[0]
    assert careful.features["elsewhere"] == 0.0
