"""One identity document read: its pages turned upright, the MRZ and the visual zone of
every page, a card's front side (number, dates, nationality), the fields and the MRZ.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from PIL import Image

from intake.applications.documents import (
    IDENTITY_FIELDS,
    FieldValue,
    MRZResult,
    PageText,
    TextSource,
)
from intake.reading import ocr
from intake.reading.classify import fuzzy_find
from intake.reading.identity.find import _is_flipped_mrz_text, _mrz_rows, _Row, visual_rows
from intake.reading.identity.score import (
    CONF_READINGS_DIFFER,
    CONF_UNLABELLED,
    MISMATCH_FIELD,
    _gather_evidence,
    _merge_one,
    _Merged,
    _printed_dates,
)
from intake.reading.identity.visual import (
    _fold,
    _Found,
    _fuzzy_find,
    _is_label_row,
    _serial_region,
    read_visual_zone,
    reread_serial,
)
from intake.reading.identity.vote import MrzReading, _mrz_score, read_page_mrz

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------- the front's number


def _is_card_front(page: PageText, viz: dict[str, _Found]) -> bool:
    """A page without MRZ that shows an ID card's front: its number or labelled fields, or,
    when the small labels are illegible, the title and a printed date (no passport label)."""
    if "passport_number" in viz:
        return False
    if "document_number" in viz:
        return True
    if len({"surname", "given_names", "birth_date", "expiry_date"} & set(viz)) >= 2:
        return True
    titled = fuzzy_find("deutschland", _fold(page.text), 2) is not None
    return titled and bool(_printed_dates(visual_rows(page)))


def _unlabelled_dates(page: PageText, viz: dict[str, _Found]) -> None:
    """Birth and expiry date of a card front whose labels OCR did not read (in place).

    A front prints exactly these two dates, the date of birth first and earlier.
    Without the label the assignment rests on that alone, so the values stay below
    what the decision trusts alone (``CONF_UNLABELLED``).
    """
    if "birth_date" in viz and "expiry_date" in viz:
        return
    dates: dict[date, _Found] = {}
    for day, found in _printed_dates(visual_rows(page)):
        if 1900 <= day.year <= 2100:  # OCR garbles years (1992 read as 1002)
            dates.setdefault(day, found)
    if len(dates) != 2:
        return
    earlier, later = sorted(dates)
    for name, day in (("birth_date", earlier), ("expiry_date", later)):
        if name not in viz:
            found = dates[day]
            viz[name] = _Found(found.text, min(found.confidence, CONF_UNLABELLED), found.box)


def _read_front_number(page: PageText, image: Image.Image, viz: dict[str, _Found]) -> None:
    """Read the card number of a front again, cut out, in the card alphabet (in place).

    The printed number carries no check digit (the MRZ on the back adds it), so
    whatever is read here stays below what the decision trusts alone
    (``CONF_PRINTED_NUMBER``); two readings that disagree lower it further.
    """
    rows = visual_rows(page)
    first_label = min((i for i, r in enumerate(rows) if _is_label_row(r)), default=2)
    found = viz.get("document_number")
    box = found.box if found is not None else _serial_region(rows, first_label)
    if box is None:
        return
    try:
        again = reread_serial(image, box)
    except ocr.OcrError:
        logger.warning("OCR of the card number failed", exc_info=True)
        return
    if again is None:
        return
    if found is None:
        viz["document_number"] = again
    elif found.text != again.text:
        viz["document_number"] = _Found(
            again.text, min(again.confidence, CONF_READINGS_DIFFER), box
        )


def _front_nationality(page: PageText, viz: dict[str, _Found]) -> None:
    """``DEUTSCH`` printed on a German card's front whose label OCR did not read (in place)."""
    if "nationality" in viz:
        return
    for word in page.words:
        if len(word.text) >= 6 and _fuzzy_find("deutsch", _fold(word.text))[0] <= 1:
            if len(_fold(word.text)) <= 8:  # not DEUTSCHLAND of the title
                viz["nationality"] = _Found("D", word.confidence, word.box)
                return


# ----------------------------------------------------------------- entry point


def _upright(page: PageText, image: Image.Image | None) -> tuple[PageText, Image.Image | None]:
    """Turn a page that was read upside down (its MRZ fillers came out as ``>``)."""
    rows = visual_rows(page)
    if image is None or _mrz_rows(rows) or not any(_is_flipped_mrz_text(r.text) for r in rows):
        return page, image
    turned = ocr.rotate_clockwise(image, 180)
    reread = ocr.run_tesseract(turned, lang="deu", psm=3)
    reread.index, reread.rotation, reread.skew = page.index, (page.rotation + 180) % 360, page.skew
    return reread, turned


def _images_by_page(
    pages: Sequence[PageText], images: Sequence[Image.Image]
) -> list[Image.Image | None]:
    """Page images aligned with the pages: only OCR pages have one when the counts differ."""
    if len(images) == len(pages):
        return list(images)
    remaining = iter(images)
    return [next(remaining, None) if p.source == TextSource.OCR else None for p in pages]


def read_identity(
    pages: list[PageText], images: list[Image.Image], *, reference: date | None = None
) -> tuple[dict[str, FieldValue], MRZResult | None]:
    """The identity fields of an ID card or passport, and its MRZ.

    ``reference`` (the submission date) settles the century of MRZ birth dates
    when the visual zone does not print them; without it the document's expiry
    date bounds them. Fields not found are left out; every field carries an
    honest confidence (see the ``CONF_*`` policy), and disagreements between the
    zones are listed in the ``mrz_viz_mismatch`` field.
    """
    best: MrzReading | None = None
    viz: dict[str, _Found] = {}
    rows: list[_Row] = []
    viz_page: int | None = None
    for page, image in zip(pages, _images_by_page(pages, images), strict=True):
        page, image = _upright(page, image)
        reading = read_page_mrz(page, image, reference=reference)
        if reading is not None and (best is None or _mrz_score(reading) > _mrz_score(best)):
            best = reading
        page_viz = read_visual_zone(page)
        if reading is None and image is not None and _is_card_front(page, page_viz):
            _read_front_number(page, image, page_viz)
            _front_nationality(page, page_viz)
            _unlabelled_dates(page, page_viz)
        if page_viz and viz_page is None:
            viz_page = page.index
        for name, found in page_viz.items():
            viz.setdefault(name, found)
        rows += visual_rows(page)
    merged = _Merged()
    evidence = _gather_evidence(best, viz, rows)
    page_index = viz_page if viz_page is not None else (pages[0].index if pages else None)
    for name in IDENTITY_FIELDS:
        _merge_one(name, evidence[name], best, page_index, merged)
    if merged.conflicts:
        merged.fields[MISMATCH_FIELD] = FieldValue(merged.conflicts, 1.0, "mrz_viz", page_index)
    return merged.fields, best.result if best else None
