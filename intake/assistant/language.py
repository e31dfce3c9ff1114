"""Text handling for the assistant's search: folding, words, stems, and which language a
question is written in.

Languages: German (``de``, also for Leichte Sprache ``de-easy``), English, Turkish,
Arabic and Ukrainian. Snowball stemmers (PyStemmer) serve the first four; Ukrainian has
none there, so its words are cut to their first letters, which joins most inflections.
The detector looks at the script first (Arabic, Cyrillic) and at stop-words and a few
letters for the Latin-script languages; ``tests/intake/assistant`` measures it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container
from functools import lru_cache

import bm25s.stopwords
import Stemmer

LANGUAGES = ("de", "en", "tr", "ar", "uk", "de-easy")
RTL_LANGUAGES = frozenset({"ar"})
DEFAULT_LANGUAGE = "de"

# The stemmer and stop-words of each language; Leichte Sprache is German.
_STEMMERS = {"de": "german", "en": "english", "tr": "turkish", "ar": "arabic"}
# Languages whose words are cut to their first letters instead (no Snowball stemmer for
# Ukrainian; Turkish suffixes are cut more reliably than Snowball stems them here).
PREFIX_STEMS: dict[str, int] = {"uk": 6, "tr": 5}

_WORD = re.compile(r"\w+", re.UNICODE)
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ARABIC_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640]")  # tashkeel and tatweel
_APOSTROPHES = re.compile(r"[’'ʼ`´]")

_OWN_STOPWORDS: dict[str, frozenset[str]] = {
    "de": frozenset(
        """aber alle alles als also am an auch auf aus bei bin bis bitte da das dass dem den
        der des die dies diese doch du dann denn ein eine einem einen einer eines es etwas
        fuer gibt gibts habe haben hab hat hier ich ihr ihre im in ist ja jetzt kann man
        mein meine meinem meinen meiner mich mir mit muss nach noch nur ob oder schon sehr
        sich sie sind so soll um und uns unser von vom vor was welche
        welcher welches wenn wer wie viel wieviel wir wo woher wohin zu zum zur
        ueber werden wird wurde koennen kriege bekomme fuers ins eigentlich
        mal halt einfach genau koennten sagen nen ne gerne gern""".split()
    ),
    "en": frozenset(
        """a about after am an and any are as at be been before by can could do does doing
        for from get got has have how i if in into is it its me my need of on or our so
        that the there this to too up us was we what whats when where which who why will
        with would you your yours do i'm im could please tell just actually really
        basically""".split()
    ),
    "tr": frozenset(
        """acaba ama bana ben beni benim bir bu bunu da de daha diye en gibi hangi hangisi
        icin ile ise kac kim mi mu mı mü misin miyim nasil ne neden nerede nereden niye
        o sen siz sizin su ve veya var yok mi midir lutfen soyler misiniz""".split()
    ),
    "ar": frozenset(
        """في من الى على عن هل ما ماذا متى اين كيف كم هو هي انا انت نحن هذا هذه ذلك التي
        الذي او ثم لا لم لن قد كل مع عند بعد قبل يمكن يجب اريد لدي لي ايضا فضلك""".split()
    ),
    "uk": frozenset(
        """а але в во де для до з за и й і із як яка які який коли котрій мене мені мій моя
        моє мої на не ні про по с так там те то у це чи що щоб я ви вам вас ваш є бути
        підкажіть скажіть будь ласка""".split()
    ),
}
# Negations carry meaning here ("the landlord does not give me ..."): never dropped.
_KEPT = frozenset({"nicht", "kein", "keine", "keinen", "keiner", "not", "no", "degil", "yok"})
_LIBRARY_STOPWORDS = {
    "de": bm25s.stopwords.STOPWORDS_GERMAN,
    "en": bm25s.stopwords.STOPWORDS_EN_PLUS,
    "tr": bm25s.stopwords.STOPWORDS_TURKISH,
}


# Words that give a Latin-script question's language away beyond its stop-words.
_HINTS: dict[str, frozenset[str]] = {
    "de": frozenset("der die das und ist nicht ich wie was wann muss kann mein".split()),
    "en": frozenset("the and is what how when where my can do does i".split()),
    "tr": frozenset("ne nasil nerede mi mı kac için icin ve bir var mıyım miyim".split()),
}
_TURKISH_LETTERS = re.compile(r"[ğışİı]")
_GERMAN_LETTERS = re.compile(r"[äß]")


def _folded_stopwords() -> dict[str, frozenset[str]]:
    table = {}
    for lang, own in _OWN_STOPWORDS.items():
        listed = set(own) | set(_LIBRARY_STOPWORDS.get(lang, ()))
        table[lang] = frozenset(fold(w, lang) for w in listed) - _KEPT
    return table


def language_of(lang: str) -> str:
    """The language whose words and stems a text in ``lang`` uses."""
    return "de" if lang == "de-easy" else lang


def fold(text: str, lang: str) -> str:
    """Case, umlauts and the marks people leave out when typing, per language."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _APOSTROPHES.sub("", text)
    base = language_of(lang)
    if base == "de":
        text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    elif base == "ar":
        text = _ARABIC_MARKS.sub("", text)
        text = re.sub("[أإآ]", "ا", text).replace("ة", "ه").replace("ى", "ي")
    elif base == "tr":
        text = text.replace("i̇", "i")
    if base != "ar":
        # Remaining accents (Turkish ç ş ğ ı, é in loan words) are dropped: ı → i too.
        text = text.replace("ı", "i")
        decomposed = unicodedata.normalize("NFD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c) or c == "\u0306")
        text = unicodedata.normalize("NFC", text)
    return text


STOPWORDS: dict[str, frozenset[str]] = {}


def words(text: str, lang: str) -> list[str]:
    """Folded words of a text without the language's stop-words."""
    base = language_of(lang)
    stop = STOPWORDS.get(base, frozenset())
    return [w for w in _WORD.findall(fold(text, lang)) if w not in stop and not w.isdigit()]


@lru_cache(maxsize=8)
def _stemmer(base: str) -> Stemmer.Stemmer | None:
    name = _STEMMERS.get(base)
    return Stemmer.Stemmer(name) if name else None


# Separable German prefixes before the participle's "ge" (an-ge-meldet = anmelden).
_PARTICIPLE = re.compile(r"^(an|ab|um|auf|aus|ein|mit|vor|zu|nach|hoch|her|zurueck)ge(?=\w{4})")
_ARABIC_CLITIC = re.compile(r"^[وفبلك](?=\w{4})")


def stem(word: str, lang: str, prefixes: dict[str, int] | None = None) -> str:
    """The word's stem: Snowball, or its first letters where ``prefixes`` says so."""
    base = language_of(lang)
    cut = (prefixes or PREFIX_STEMS).get(base)
    if cut:
        return word[:cut]
    if base == "de":
        word = _PARTICIPLE.sub(r"\1", word)
    elif base == "ar" and not word.startswith("ال"):
        word = _ARABIC_CLITIC.sub("", word)
    stemmer = _stemmer(base)
    return str(stemmer.stemWord(word)) if stemmer else word


# What may follow a German word in the same word and still be that word, inflected
# (Hunde, Autos, beglaubigte); a longer rest is a compound's next part (Hundesteuer).
_GERMAN_ENDINGS = frozenset("e en er ern es n ns s t te ten tes ung ungen".split())
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")


# German particles a verb leaves at the end of its clause ("melde mich an", "lade hoch").
SEPARABLE_PARTICLES = frozenset(
    "an ab auf aus ein mit nach vor zu um hoch zurueck weg her hin fest durch".split()
)
_CLAUSE = re.compile(r"[?!.,;:]+")


def clauses(text: str, lang: str) -> list[list[str]]:
    """The folded words of each clause of a text (split at punctuation), stop-words kept."""
    return [_WORD.findall(part) for part in _CLAUSE.split(fold(text, lang)) if part.strip()]


def stop_word_mistyped(word: str, lang: str, known: Container[str]) -> bool:
    """Whether a word the knowledge lacks is a stop-word with one letter left out ("mus"
    for "muss", "kan" for "kann"): dropped like the stop-word. Only a letter left out,
    never one added ("Hund" is not "und")."""
    if len(word) < 3 or word in known or stem(word, lang) in known:
        return False
    for stop in _STOPWORDS_BY_LENGTH.get((language_of(lang), len(word) + 1), ()):
        if any(stop[:i] + stop[i + 1 :] == word for i in range(len(stop))):
            return True
    return False


def names_topic(word: str, topic: str, lang: str) -> bool:
    """Whether a (folded) word of a question names a (folded) topic word: the same word
    inflected, not a longer word that begins with the same letters ("care" is not "car",
    "taxi" not "tax", "автобус" not "авто"); in German also a compound that begins or
    ends with it ("Hundesteuer"), in Arabic after the article or a clitic ("السيارة")."""
    base = language_of(lang)
    if word == topic:
        return True
    if base == "ar":
        candidates = [word] + [
            word[len(p) :]
            for p in _ARABIC_PREFIXES
            if word.startswith(p) and len(word) > len(p) + 2
        ]
        return any(
            c == topic or (c.startswith(topic) and len(c) - len(topic) <= 2) for c in candidates
        )
    if base in PREFIX_STEMS:  # Turkish and Ukrainian: suffixes follow the word
        suffix = len(word) - len(topic)
        return word.startswith(topic) and suffix <= (2 if len(topic) <= 4 else 5)
    if stem(word, lang) == stem(topic, lang):
        return True
    if base == "de" and word.startswith(topic):
        rest = word[len(topic) :]
        return rest in _GERMAN_ENDINGS or len(rest) >= 4
    if base == "de" and len(topic) >= 5 and word.endswith(topic):
        return len(word) - len(topic) >= 3
    return False


def stems(text: str, lang: str) -> list[str]:
    return [stem(w, lang) for w in words(text, lang)]


_RUSSIAN_LETTERS = re.compile(r"[ыэъё]", re.IGNORECASE)
_UKRAINIAN_LETTERS = re.compile(r"[іїєґ]", re.IGNORECASE)
_RUSSIAN_WORDS = frozenset(
    "сколько где как что когда можно нужно нужны это мне стоит какие".split()
)


def looks_russian(text: str) -> bool:
    """Cyrillic without the letters only Ukrainian has, and with letters or everyday words
    only Russian has: such a question is read (and answered) as Ukrainian, with a note."""
    if _UKRAINIAN_LETTERS.search(text):
        return False
    if _RUSSIAN_LETTERS.search(text):
        return True
    return any(w in _RUSSIAN_WORDS for w in _WORD.findall(text.casefold()))


def detect(text: str, fallback: str = DEFAULT_LANGUAGE) -> str:
    """The question's language among de, en, tr, ar, uk (Leichte Sprache reads as de)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return fallback
    arabic = len(_ARABIC.findall(text))
    cyrillic = len(_CYRILLIC.findall(text))
    if arabic > len(letters) / 3:
        return "ar"
    if cyrillic > len(letters) / 3:
        return "uk"
    lowered = unicodedata.normalize("NFKC", text).casefold()
    tokens = _WORD.findall(lowered)
    scores: dict[str, float] = {}
    for lang in ("de", "en", "tr"):
        folded = [fold(t, lang) for t in tokens]
        stop = STOPWORDS[lang] | _HINTS[lang]
        scores[lang] = float(sum(1 for t in folded if t in stop))
    scores["tr"] += 2.0 * len(_TURKISH_LETTERS.findall(lowered))
    scores["de"] += 1.0 * len(_GERMAN_LETTERS.findall(lowered))
    best = max(scores, key=lambda k: scores[k])
    if scores[best] == 0:
        return fallback if language_of(fallback) in ("de", "en", "tr") else DEFAULT_LANGUAGE
    return best


STOPWORDS.update(_folded_stopwords())
_STOPWORDS_BY_LENGTH: dict[tuple[str, int], tuple[str, ...]] = {}
for _lang, _words in STOPWORDS.items():
    for _word in sorted(_words):
        if len(_word) >= 4:
            _STOPWORDS_BY_LENGTH.setdefault((_lang, len(_word)), ())
            _STOPWORDS_BY_LENGTH[(_lang, len(_word))] += (_word,)
