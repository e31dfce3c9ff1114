"""Move in or move out? The wording of the page and the ticked box of a form."""

from __future__ import annotations

from PIL import Image

from intake.applications.documents import Box, PageText, Word
from intake.reading.classify import fold
from intake.reading.landlord.text import Document, Folded, Label, match_label

# ------------------------------------------------------------------ move in or move out?

MOVE_OUT_CEILING = 0.3  # a move-out confirmation proves no move-in date


def move_direction_in_text(pages: list[PageText]) -> str | None:
    """ "in" or "out" where the text itself says which move is confirmed.

    Born-digital and filled-in forms write the kind of move ("Art der Meldung:
    Auszug"); letters say "eingezogen" or "ausgezogen".
    """
    doc = Document(pages)
    for index, line in enumerate(doc.lines):
        found = match_label(line.text, Label("art der meldung"))
        if found is None:
            continue
        value = line.text[found[0] :]
        if not value.strip() and index + 1 < len(doc.lines):
            value = doc.lines[index + 1].text
        words = set(Folded.of(value).text.split())
        if words & {"auszug", "wegzug"} and not words & {"einzug", "zuzug"}:
            return "out"
        if words & {"einzug", "zuzug"} and not words & {"auszug", "wegzug"}:
            return "in"
    flow = Folded.of(doc.flow).text
    if "ausgezogen" in flow and "eingezogen" not in flow:
        return "out"
    return None


def ticked_move(page: PageText, image: Image.Image) -> str | None:
    """ "in" or "out" from the tick boxes in front of "Einzug" and "Auszug" on a scan.

    OCR cannot tell a ticked box from an empty one, but the pixels can: the box
    left of each word is measured, and the clearly darker one is the ticked one.
    """
    lines: dict[int, dict[str, Word]] = {}
    for word in page.words:
        folded = fold(word.text).strip(" :,.;")
        for kind, stem in (("in", "einzug"), ("out", "auszug")):
            if folded == stem:
                lines.setdefault(word.line, {})[kind] = word
    gray = image.convert("L")
    for pair in lines.values():
        if len(pair) < 2:
            continue
        ink_in, ink_out = _box_ink(gray, pair["in"].box), _box_ink(gray, pair["out"].box)
        if abs(ink_in - ink_out) < 0.04:
            return None  # both or neither ticked, or no boxes at all
        return "in" if ink_in > ink_out else "out"
    return None


def _box_ink(gray: Image.Image, box: Box) -> float:
    """Share of dark pixels in the square just left of a word (where a tick box sits)."""
    x0, y0, _, y1 = box
    height = max(8, y1 - y0)
    region = (
        max(0, x0 - round(2.0 * height)),
        max(0, y0 - height // 4),
        max(1, x0 - height // 8),
        min(gray.height, y1 + height // 4),
    )
    if region[2] <= region[0] or region[3] <= region[1]:
        return 0.0
    histogram = gray.crop(region).histogram()
    dark = sum(histogram[:128])
    return dark / max(1, sum(histogram))
