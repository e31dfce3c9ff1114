"""Choosing among the candidates per field, the landlord named elsewhere on the page,
and :func:`extract_landlord`, which reads the fields of one confirmation.
"""

from __future__ import annotations

from intake.applications.documents import FieldValue, PageText, Word
from intake.reading.classify import allowed_errors, fold, fuzzy_find
from intake.reading.landlord.form import (
    acroform_candidates,
    form_address,
    form_landlord,
    form_move_in,
    form_residents,
)
from intake.reading.landlord.letter import (
    letter_address,
    letter_landlord,
    letter_move_in,
    letter_residents,
)
from intake.reading.landlord.move import MOVE_OUT_CEILING, move_direction_in_text
from intake.reading.landlord.text import (
    CONTRADICTED,
    DOUBTFUL,
    FIELDS,
    FUZZY_LABEL,
    WEAK_ANCHOR,
    Document,
    Folded,
    Line,
    Snippet,
)
from intake.reading.landlord.values import Candidate

# ------------------------------------------------------------------ choosing


def _key(value: str | list[str]) -> str:
    if isinstance(value, list):
        return "|".join(sorted(" ".join(fold(v).split()) for v in value))
    return " ".join(fold(value).replace("strasse", "str").replace("str.", "str").split())


def choose(candidates: list[Candidate]) -> Candidate | None:
    """The best-anchored value; capped when another well-anchored value contradicts it."""
    if not candidates:
        return None
    groups: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(_key(candidate.value), []).append(candidate)

    def strength(group: list[Candidate]) -> tuple[float, int]:
        return max(c.anchor * c.penalty for c in group), len(group)

    ranked = sorted(groups.values(), key=strength, reverse=True)
    best_group = ranked[0]
    best = max(best_group, key=lambda c: (c.anchor * c.penalty, _has_box(c), c.base))
    others = [c for c in best_group if c is not best and not _same_place(c, best)]
    if others and best.penalty >= 0.9:
        best.support = max(c.base for c in others)
    for other in ranked[1:]:
        if max(c.anchor for c in other) >= FUZZY_LABEL:
            best.anchor = min(best.anchor, CONTRADICTED)
            best.support = 0.0
            best.origin = "contradicted"
            break
    return best


def _has_box(candidate: Candidate) -> bool:
    return any(w.box[2] > w.box[0] for s in candidate.snippets for w in s.words)


def _same_place(a: Candidate, b: Candidate) -> bool:
    """Two candidates read from the same words are one reading, not two."""
    boxes_a = {(s.page, w.box) for s in a.snippets for w in s.words if w.box[2] > w.box[0]}
    boxes_b = {(s.page, w.box) for s in b.snippets for w in s.words if w.box[2] > w.box[0]}
    if not boxes_a or not boxes_b:
        return a.snippets[0].source is b.snippets[0].source
    return bool(boxes_a & boxes_b)


def landlord_elsewhere(doc: Document, found: list[Candidate]) -> list[Candidate]:
    """The landlord's name printed a second time (signature line, letter closing).

    The second place is searched with a small edit distance, so that a misread in
    one of the two places shows up as a competing reading instead of going unseen.
    """
    extra = []
    for candidate in found:
        name = str(candidate.value)
        folded = Folded.of(name).text
        if len(folded.replace(" ", "")) < 6:
            continue
        own = {w.box for s in candidate.snippets for w in s.words}
        for line in doc.lines:
            if own & {w.box for w in line.words}:
                continue
            words = _fuzzy_words(line, folded)
            if words:
                text = " ".join(w.text for w in words).strip(" ,;:")
                snippet = Snippet(text, words, line.page, line.source)
                extra.append(Candidate(text, [snippet], WEAK_ANCHOR, 1.0, "repeated"))
    return extra


def _fuzzy_words(line: Line, folded_name: str) -> list[Word]:
    """The words of ``line`` that spell ``folded_name`` with at most a few OCR errors."""
    folded_line = Folded.of(line.text)
    errors = max(1, allowed_errors(folded_name.replace(" ", "")))
    found = fuzzy_find(folded_name, folded_line.text, errors)
    if found is None:
        return []
    end = folded_line.original_end(found[1])
    start = folded_line.origin[max(0, found[1] - len(folded_name))]
    words = line.words_between(start, end)
    if Folded.of(" ".join(w.text for w in words)).text.count(" ") != folded_name.count(" "):
        return []  # the match straddles more or fewer words than the name has
    return words


def extract_landlord(pages: list[PageText], acroform: dict[str, str]) -> dict[str, FieldValue]:
    """Landlord, move-in date, the flat's address and the residents of a confirmation."""
    doc = Document(pages)
    found: dict[str, list[Candidate]] = {name: [] for name in FIELDS}
    found["landlord_name"] += form_landlord(doc) + letter_landlord(doc)
    found["landlord_name"] += landlord_elsewhere(doc, found["landlord_name"])
    found["move_in_date"] += form_move_in(doc)
    if not found["move_in_date"]:
        found["move_in_date"] += letter_move_in(doc)
    found["residents"] += form_residents(doc) + letter_residents(doc)
    for part, values in form_address(doc).items():
        found[part] += values
    if not found["street"]:
        for part, values in letter_address(doc).items():
            found[part] += values
    for name, values in acroform_candidates(acroform).items():
        found[name] += values
    result = {}
    for name in FIELDS:
        best = choose(found[name])
        if best is not None:
            if _at_edge(best, pages) or name == "city" and _spelt_otherwise(doc, best):
                best.penalty = min(best.penalty, DOUBTFUL)
            result[name] = best.to_field()
    if "move_in_date" in result and move_direction_in_text(pages) == "out":
        cap_move_in(result)
    return result


def _spelt_otherwise(doc: Document, candidate: Candidate) -> bool:
    """The same word spelt differently elsewhere on the page ("Hannsver" for the flat,
    "Hannover" in the landlord's address or beside the signature): one of the two
    readings is wrong, and nothing tells which."""
    value = Folded.of(str(candidate.value)).text
    if len(value) < 5 or " " in value:
        return False
    own = {w.box for s in candidate.snippets for w in s.words}
    errors = max(1, allowed_errors(value))
    for line in doc.lines:
        for word in line.words:
            if word.box in own:
                continue
            other = Folded.of(word.text).text.strip()
            if other == value or abs(len(other) - len(value)) > errors or " " in other:
                continue
            if fuzzy_find(value, other, errors) is not None:
                return True
    return False


def _at_edge(candidate: Candidate, pages: list[PageText]) -> bool:
    """A value read up to the edge of the image may go on beyond it (a photo that cut
    off the form's right margin: "... Kleefeld-Buchholz e")."""
    sizes = {page.index: (page.width, page.height) for page in pages}
    for snippet in candidate.snippets:
        width, height = sizes.get(snippet.page, (0, 0))
        for word in snippet.words:
            x0, y0, x1, y1 = word.box
            if x1 <= x0 or not width:
                continue
            margin = max(3.0, 0.3 * (y1 - y0))
            if x0 < margin or y0 < margin or x1 > width - margin or y1 > height - margin:
                return True
    return False


def cap_move_in(fields: dict[str, FieldValue]) -> None:
    """A confirmation of moving out: its date is no move-in date to rely on."""
    if "move_in_date" in fields:
        date_field = fields["move_in_date"]
        date_field.confidence = min(date_field.confidence, MOVE_OUT_CEILING)
