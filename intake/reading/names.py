"""Comparable forms of personal names and street names.

Names are compared the way ICAO 9303 writes them into a machine-readable zone:
upper case, German umlauts and a few Nordic letters transliterated (Ä = AE,
ß = SS, Å = AA, Ø = OE), other diacritics dropped, hyphens and apostrophes read
as separators. ``MÜLLER``, ``Mueller`` and ``MUELLER`` are therefore the same
name; ``GONZÁLEZ`` equals ``GONZALEZ``.
"""

from __future__ import annotations

import re
import unicodedata

# ICAO 9303 Part 3, transliteration of multinational Latin characters: the
# letters whose transliteration is not simply the base letter.
_ICAO_SPECIAL = {
    "Ä": "AE",
    "Ö": "OE",
    "Ü": "UE",
    "ß": "SS",
    "ẞ": "SS",
    "Å": "AA",
    "Æ": "AE",
    "Ø": "OE",
    "Œ": "OE",
    "Þ": "TH",
    "Ð": "D",
    "Đ": "D",
    "Ł": "L",
    "Ħ": "H",
    "Ŧ": "T",
    "Ŋ": "N",
    "Ĳ": "IJ",
    "İ": "I",
}
_SEPARATORS = re.compile(r"[\s\-‐‑–—'’`´<,.]+")


def _fold_letter(char: str) -> str:
    special = _ICAO_SPECIAL.get(char)
    if special is not None:
        return special
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def icao_transliterate(s: str) -> str:
    """A name as an MRZ writes it, with spaces for the ``<`` between its parts.

    ``"Müller-Lüdenscheidt"`` → ``"MUELLER LUEDENSCHEIDT"``;
    ``"D'Alembert"`` → ``"D ALEMBERT"``; ``"Łukasz"`` → ``"LUKASZ"``.
    """
    upper = "".join(_fold_letter(c) for c in s.upper())  # upper() already turns ß into SS
    return " ".join(part for part in _SEPARATORS.split(upper) if part)


def comparable(s: str) -> str:
    """The normal form for every name comparison.

    Ignores case, accents, ICAO transliteration, hyphen versus space, apostrophes
    and repeated spaces; keeps only letters, digits and single spaces.
    """
    transliterated = icao_transliterate(s)
    return " ".join("".join(c for c in part if c.isalnum()) for part in transliterated.split())


def names_match(a: str, b: str) -> bool:
    """Whether two names are the same under :func:`comparable`."""
    return comparable(a) == comparable(b) and bool(comparable(a))


def mrz_name_matches(viz_or_form_name: str, mrz_name: str, *, truncated: bool = True) -> bool:
    """Whether an MRZ name agrees with a printed or typed name, allowing truncation.

    An MRZ name field has a fixed length; long names are cut, so the MRZ form
    may end early, even inside a word. It must then be a prefix of the
    transliterated full name, component by component: every complete MRZ part
    equals the corresponding part and the last one may be a prefix of it.
    Pass ``truncated=False`` when the MRZ name field ended in fillers (it was
    not cut), which demands an exact match.
    """
    full = comparable(viz_or_form_name).split()
    mrz = comparable(mrz_name).split()
    if not mrz or len(mrz) > len(full):
        return False
    if mrz == full:
        return True
    if not truncated:
        return False
    *complete, last = mrz
    return complete == full[: len(complete)] and full[len(complete)].startswith(last)


def normalize_street(s: str) -> str:
    """Street names in one form: ``Straße``, ``Strasse``, ``Str.`` and ``str.`` alike.

    ``"Hildesheimer Str."`` and ``"Hildesheimer Straße"`` both become
    ``"HILDESHEIMER STRASSE"``; ``"Wilhelm-Busch-Str."`` becomes
    ``"WILHELM BUSCH STRASSE"``.
    """
    text = comparable(s.replace(".", ". "))
    words = []
    for word in text.split():
        if word in ("STR", "STRASSE"):
            words.append("STRASSE")
        elif word.endswith("STR") and len(word) > 3:
            words.append(word[:-3] + "STRASSE")
        else:
            words.append(word)
    return " ".join(words)
