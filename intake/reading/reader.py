"""Read one uploaded file: real type, text (text layer, form fields, OCR), class, fields.

:func:`read_document` is the single entry point for the evaluation command, the
Prefect flows and ``servicepoint read``. It never raises for bad input: corrupt,
truncated, encrypted, oversized or unreadable files come back as a
:class:`~intake.applications.documents.DocumentReading` whose ``problems`` say what went wrong
(``unsupported_type``, ``corrupt``, ``encrypted``, ``unreadable``,
``too_many_pages``, ``image_too_large``, ``timeout``).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from PIL import Image, ImageFile, ImageSequence

from intake.applications.documents import (
    DocType,
    DocumentReading,
    FieldValue,
    MRZResult,
    PageText,
    TextSource,
    Word,
)
from intake.reading import ocr, pdftext
from intake.reading.classify import classify
from intake.reading.landlord import (
    cap_move_in,
    extract_landlord,
    move_direction_in_text,
    ticked_move,
)

logger = logging.getLogger(__name__)

MAX_IMAGE_PIXELS = 60_000_000
"""Largest image decoded (≈ A3 at 600 dpi). Larger ones are refused before decoding."""

# Pillow raises DecompressionBombError above twice this; the explicit size check in
# _open_image refuses anything above MAX_IMAGE_PIXELS before any pixel is decoded.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False

_MIN_TEXT_CHARS = 30  # a PDF page with fewer characters in its text layer is a scan
_MAX_OCR_SECONDS = 60.0
_OCR_LANG = "deu"

IdentityReader = Callable[..., tuple[dict[str, FieldValue], MRZResult | None]]


@dataclass(slots=True)
class _Budget:
    """The overall time limit of one reading; OCR calls get at most what is left."""

    deadline: float

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def ocr_timeout(self) -> float:
        return max(1.0, min(_MAX_OCR_SECONDS, self.remaining()))


@dataclass(slots=True)
class _Content:
    """Text of the whole document; ``images`` holds the prepared image of every OCRed
    page, aligned with ``pages`` (None for pages read from a text layer)."""

    pages: list[PageText] = field(default_factory=list)
    images: list[Image.Image | None] = field(default_factory=list)
    acroform: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    ocr_used: bool = False


def sniff_media_type(head: bytes) -> str | None:
    """Media type from the first bytes of a file, or None for anything unsupported."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    # The PDF header may legally follow some garbage within the first kilobyte.
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    return None


def read_document(
    path: Path,
    *,
    declared_type: DocType | None = None,
    max_pages: int = 10,
    time_limit: float = 120.0,
    reference: date | None = None,
) -> DocumentReading:
    """Read, classify and extract the fields of one uploaded file. Never raises.

    ``reference`` is the submission date: it settles the century of MRZ birth dates
    (the machine's clock is never used for that)."""
    started = time.monotonic()
    budget = _Budget(started + time_limit)
    try:
        data = path.read_bytes()
    except OSError:
        logger.warning("document %s cannot be opened", path, exc_info=True)
        return _failed(path, "application/octet-stream", ["unreadable"], declared_type, started)
    media_type = sniff_media_type(data[:1024])
    if media_type is None:
        problems = ["unsupported_type"]
        return _failed(path, "application/octet-stream", problems, declared_type, started)
    try:
        content = _read_content(data, media_type, max_pages, budget)
        reading = _understand(path, media_type, content, declared_type, reference)
    except ocr.OcrError as exc:
        problem = "timeout" if "timed out" in str(exc) else "unreadable"
        logger.warning("ocr failed for %s: %s", path, exc)
        return _failed(path, media_type, [problem], declared_type, started)
    except Exception:  # the promise is a reading with problems, never a crash
        logger.exception("reading %s failed", path)
        return _failed(path, media_type, ["unreadable"], declared_type, started)
    reading.seconds = round(time.monotonic() - started, 3)
    return reading


def _failed(
    path: Path,
    media_type: str,
    problems: list[str],
    declared_type: DocType | None,
    started: float,
) -> DocumentReading:
    """A reading of a file that could not be read: the declared type, with confidence 0."""
    return DocumentReading(
        file=path.name,
        media_type=media_type,
        type=declared_type or DocType.OTHER,
        type_confidence=0.0,
        problems=problems,
        seconds=round(time.monotonic() - started, 3),
    )


def _read_content(data: bytes, media_type: str, max_pages: int, budget: _Budget) -> _Content:
    if media_type == "application/pdf":
        return _read_pdf(data, max_pages, budget)
    return _read_image_file(data, max_pages, budget)


# ---------------------------------------------------------------- PDF


def _read_pdf(data: bytes, max_pages: int, budget: _Budget) -> _Content:
    pdf = pdftext.read_pdf(
        data,
        max_pages=max_pages,
        images_below_chars=_MIN_TEXT_CHARS,
        max_image_pixels=MAX_IMAGE_PIXELS,
    )
    content = _Content(acroform=pdf.acroform, problems=list(pdf.problems))
    for page in pdf.pages:
        text_page = _with_form_values(page.text, pdf.fields)
        if (_has_text(text_page) and not page.invisible_text) or not page.images:
            content.pages.append(text_page)
            content.images.append(None)
            continue
        for image in page.images:
            if _out_of_time(budget, content):
                return content
            _add_ocr_page(content, image, page.text.index, budget)
    return content


def _has_text(page: PageText) -> bool:
    return len("".join(page.text.split())) >= _MIN_TEXT_CHARS


def _with_form_values(page: PageText, fields: list[pdftext.PdfField]) -> PageText:
    """The page's text layer with the form's values written where their widgets sit.

    A fillable PDF shows its values in widgets that pypdf's text extraction does
    not see; placing them into the page text lets the same label-based extraction
    read printed and filled-in forms alike, whatever the fields are called.
    """
    placed = [f for f in fields if f.value and f.page == page.index and f.box is not None]
    if not placed:
        return page
    words = [Word(w.text, w.confidence, w.box, 0) for w in page.words]
    for form_field in placed:
        assert form_field.box is not None
        words.extend(_words_in_box(form_field.value, form_field.box))
    lined = pdftext.assign_lines(words)
    text = "\n".join(" ".join(w.text for w in line) for line in pdftext.lines_of(lined))
    return PageText(page.index, page.width, page.height, TextSource.ACROFORM, text, lined)


def _words_in_box(value: str, box: tuple[int, int, int, int]) -> list[Word]:
    """Lay a field's value out left to right inside its widget box."""
    x0, y0, x1, y1 = box
    tokens = value.split()
    total = sum(len(t) + 1 for t in tokens) or 1
    char_width = min((x1 - x0) / total, (y1 - y0) * 0.6)
    words, x = [], float(x0 + 10)
    for token in tokens:
        width = len(token) * char_width
        words.append(Word(token, 1.0, (round(x), y0, round(x + width), y1), 0))
        x += width + char_width
    return words


# ---------------------------------------------------------------- images


def _read_image_file(data: bytes, max_pages: int, budget: _Budget) -> _Content:
    content = _Content()
    try:
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        content.problems += ["image_too_large", "unreadable"]
        return content
    except (OSError, ValueError, SyntaxError):
        content.problems += ["corrupt", "unreadable"]
        return content
    frames = getattr(image, "n_frames", 1)
    if frames > max_pages:
        content.problems.append("too_many_pages")
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        if index >= max_pages or _out_of_time(budget, content):
            break
        if frame.width * frame.height > MAX_IMAGE_PIXELS:
            content.problems += ["image_too_large", "unreadable"]
            return content
        try:
            frame.load()
        except (OSError, ValueError, SyntaxError):
            content.problems += ["corrupt", "unreadable"]
            return content
        _add_ocr_page(content, frame.copy(), index, budget)
    return content


def _add_ocr_page(content: _Content, image: Image.Image, index: int, budget: _Budget) -> None:
    """Orient, deskew and OCR one page image; keep the prepared image for the clerk view."""
    page, prepared, _, _ = ocr.read_page(image, lang=_OCR_LANG, timeout=budget.ocr_timeout())
    page.index = index
    content.pages.append(page)
    content.images.append(prepared)
    content.ocr_used = True


def _out_of_time(budget: _Budget, content: _Content) -> bool:
    if budget.remaining() > 0:
        return False
    if "timeout" not in content.problems:
        content.problems.append("timeout")
    return True


# ---------------------------------------------------------------- understanding


def _understand(
    path: Path,
    media_type: str,
    content: _Content,
    declared_type: DocType | None,
    reference: date | None = None,
) -> DocumentReading:
    """Classify the text and extract the fields of its type.

    When there is too little legible text to tell what a document is, its type
    stays the declared one with confidence 0 and ``unreadable`` is reported: an
    illegible upload is not evidence of a wrong document. The extractor of the
    declared type still runs (its fields carry their own, low, confidence), and an
    identity document whose machine-readable zone is read with valid check digits
    is recognised by it. The same holds for an upload declared as an identity
    document that reads as legible "other" text: its zone is cut out and read, and
    only a verified zone makes it an identity document.
    """
    reading = DocumentReading(
        file=path.name,
        media_type=media_type,
        type=declared_type or DocType.OTHER,
        type_confidence=0.0,
        pages=content.pages,
        problems=list(content.problems),
        ocr_used=content.ocr_used,
    )
    if not any(page.text.strip() for page in content.pages):
        _add_problem(reading, "unreadable")
        return reading
    doc_type, confidence = classify(content.pages, content.acroform)
    identity_declared = declared_type in (DocType.ID_CARD, DocType.PASSPORT)
    if doc_type is DocType.OTHER and confidence >= 0.5 and identity_declared:
        # A photo whose page OCR garbled the MRZ lines and missed the card's title reads
        # as "other"; the cut-out zone read glyph by glyph may still verify.
        _extract(reading, declared_type, content, reference)
        if reading.mrz is not None and reading.mrz.valid:
            reading.type = DocType.PASSPORT if reading.mrz.format == "TD3" else DocType.ID_CARD
            reading.type_confidence = 0.9
            return reading
        reading.fields, reading.mrz = {}, None
    if doc_type is DocType.OTHER and confidence < 0.5:
        _add_problem(reading, "unreadable")
        _extract(reading, declared_type, content, reference)
        if reading.mrz is not None and reading.mrz.valid:
            reading.type = DocType.PASSPORT if reading.mrz.format == "TD3" else DocType.ID_CARD
            reading.type_confidence = 0.9
            reading.problems.remove("unreadable")
        return reading
    reading.type, reading.type_confidence = doc_type, confidence
    _extract(reading, doc_type, content, reference)
    return reading


def _extract(
    reading: DocumentReading,
    doc_type: DocType | None,
    content: _Content,
    reference: date | None = None,
) -> None:
    if doc_type is DocType.LANDLORD_CONFIRMATION:
        reading.fields = extract_landlord(content.pages, content.acroform)
        if _confirms_move_out(content):
            cap_move_in(reading.fields)
            _add_problem(reading, "move_out")
    elif doc_type in (DocType.ID_CARD, DocType.PASSPORT):
        identity = _identity_reader()
        if identity is not None:
            reading.fields, reading.mrz = identity(
                content.pages, _page_images(content), reference=reference
            )


def _page_images(content: _Content) -> list[Image.Image]:
    """Page images aligned with the pages, or none when some page had no image."""
    images = [image for image in content.images if image is not None]
    return images if len(images) == len(content.pages) else []


def _confirms_move_out(content: _Content) -> bool:
    """Whether the confirmation is one of moving out (text, or tick boxes on a scan)."""
    direction = move_direction_in_text(content.pages)
    for page, image in zip(content.pages, content.images, strict=True):
        if direction is None and image is not None:
            direction = ticked_move(page, image)
    return direction == "out"


def _add_problem(reading: DocumentReading, problem: str) -> None:
    if problem not in reading.problems:
        reading.problems.append(problem)


def _identity_reader() -> IdentityReader | None:
    """The identity-document reader, imported lazily (it loads MRZ machinery)."""
    try:
        from intake.reading.identity import read_identity
    except ImportError:
        logger.warning(
            "intake.reading.identity is not available: identity fields are not extracted"
        )
        return None
    return read_identity
