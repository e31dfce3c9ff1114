"""PDF reading with pypdf only: text layer with word boxes, form fields, embedded images.

Nothing in a PDF is ever executed: pypdf has no JavaScript engine and this module
never follows actions or links. Broken, truncated and encrypted files never raise;
they come back as a :class:`PdfContent` with ``problems``.

Coordinates: pypdf cannot render pages, so for text-layer pages the page size and
every box are given in a 300 dpi raster of the page (PDF points × 300/72, origin
top left), the same space a rendering with ``pdftoppm -r 300`` would have. For
scanned pages the OCR boxes are in the pixel space of the embedded image instead.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdf
from PIL import Image
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from intake.applications.documents import Box, PageText, TextSource, Word

RASTER_DPI = 300
_SCALE = RASTER_DPI / 72.0
_DEFAULT_MAX_IMAGE_PIXELS = 60_000_000  # ≈ A3 at 600 dpi; larger is refused, not decoded
_MAX_IMAGES_PER_PAGE = 4
_MIN_IMAGE_SIDE = 200  # logos and signatures are not worth reading

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class PdfField:
    """One AcroForm field with its value and, if it has a widget, where it sits."""

    name: str
    value: str
    label: str = ""  # the field's tooltip (/TU), often the printed question
    kind: str = "text"  # "text", "checkbox", "choice", "other"
    page: int | None = None
    box: Box | None = None


@dataclass(slots=True)
class PdfPage:
    text: PageText  # the text layer (may be empty for scanned pages)
    images: list[Image.Image] = field(default_factory=list)  # only when requested
    # Most of the text is invisible (render mode 3): the OCR layer a scanner or
    # "searchable PDF" tool put over a scan. Its accuracy is unknown, so the
    # scan itself should be read instead.
    invisible_text: bool = False


@dataclass(slots=True)
class PdfContent:
    pages: list[PdfPage] = field(default_factory=list)
    fields: list[PdfField] = field(default_factory=list)
    page_count: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def acroform(self) -> dict[str, str]:
        """Field name → value, for every field that has a value."""
        return {f.name: f.value for f in self.fields if f.value}


def read_pdf(
    source: Path | bytes,
    *,
    max_pages: int = 10,
    images_below_chars: int = 30,
    max_image_pixels: int = _DEFAULT_MAX_IMAGE_PIXELS,
) -> PdfContent:
    """Read up to ``max_pages`` pages of a PDF.

    Embedded images are decoded only for pages whose text layer has fewer than
    ``images_below_chars`` non-blank characters (scanned pages).
    Problems reported: ``corrupt``, ``encrypted``, ``too_many_pages``,
    ``image_too_large``.
    """
    content = PdfContent()
    reader = _open(source, content)
    if reader is None:
        return content
    try:
        content.page_count = len(reader.pages)
    except Exception:  # a broken page tree
        content.problems.append("corrupt")
        return content
    if content.page_count > max_pages:
        content.problems.append("too_many_pages")
    for index in range(min(content.page_count, max_pages)):
        content.pages.append(
            _read_page(reader, index, images_below_chars, max_image_pixels, content)
        )
    content.fields = _read_fields(reader, content)
    return content


def _open(source: Path | bytes, content: PdfContent) -> pypdf.PdfReader | None:
    data = source.read_bytes() if isinstance(source, Path) else source
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    except Exception:
        logger.info("pdf could not be parsed", exc_info=True)
        content.problems.append("corrupt")
        return None
    if reader.is_encrypted:
        # Many "protected" PDFs only restrict printing and open with an empty password.
        try:
            opened = reader.decrypt("")
        except Exception:
            opened = pypdf.PasswordType.NOT_DECRYPTED
        if opened == pypdf.PasswordType.NOT_DECRYPTED:
            content.problems.append("encrypted")
            return None
    return reader


def _read_page(
    reader: pypdf.PdfReader,
    index: int,
    images_below_chars: int,
    max_image_pixels: int,
    content: PdfContent,
) -> PdfPage:
    try:
        page = reader.pages[index]
        text, invisible = _text_layer(page, index)
    except Exception:
        logger.info("pdf page %d unreadable", index, exc_info=True)
        if "corrupt" not in content.problems:
            content.problems.append("corrupt")
        return PdfPage(text=PageText(index, 0, 0, TextSource.PDF_TEXT, ""))
    result = PdfPage(text=text, invisible_text=invisible)
    if invisible or len("".join(text.text.split())) < images_below_chars:
        result.images = _embedded_images(page, max_image_pixels, content)
    return result


# --- text layer -----------------------------------------------------------------


class _PageGeometry:
    """Maps PDF user space (points, origin bottom left) to the 300 dpi raster."""

    def __init__(self, page: pypdf.PageObject) -> None:
        box = page.cropbox
        self.x0, self.y0 = float(box.left), float(box.bottom)
        self.w, self.h = float(box.width), float(box.height)
        self.rotation = int(page.get("/Rotate", 0) or 0) % 360

    @property
    def size(self) -> tuple[int, int]:
        w, h = round(self.w * _SCALE), round(self.h * _SCALE)
        return (h, w) if self.rotation in (90, 270) else (w, h)

    def to_raster(self, x: float, y: float) -> tuple[float, float]:
        # Unrotated raster coordinates first, then the page's /Rotate (clockwise).
        rx, ry = (x - self.x0) * _SCALE, (self.y0 + self.h - y) * _SCALE
        width, height = self.w * _SCALE, self.h * _SCALE
        if self.rotation == 90:
            return height - ry, rx
        if self.rotation == 180:
            return width - rx, height - ry
        if self.rotation == 270:
            return ry, width - rx
        return rx, ry

    def box(self, x0: float, y0: float, x1: float, y1: float) -> Box:
        ax, ay = self.to_raster(x0, y0)
        bx, by = self.to_raster(x1, y1)
        return (round(min(ax, bx)), round(min(ay, by)), round(max(ax, bx)), round(max(ay, by)))


@dataclass(slots=True)
class _Chunk:
    text: str
    x: float  # baseline start, PDF points
    y: float
    size: float  # effective font size, points
    char_width: float  # average advance per character, points


def _text_layer(page: pypdf.PageObject, index: int) -> tuple[PageText, bool]:
    """The page's text with word boxes, and whether most of it is invisible."""
    geometry = _PageGeometry(page)
    chunks: list[_Chunk] = []
    mode = _RenderMode()
    invisible_chars = 0

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        nonlocal invisible_chars
        if text.strip():
            chunks.extend(_chunks_from(text, cm, tm, font, size))
            if mode.current == 3:
                invisible_chars += len(text.strip())

    page.extract_text(visitor_text=visit, visitor_operand_before=mode.track)
    words = _words_from_chunks(chunks, geometry)
    width, height = geometry.size
    lines: dict[int, list[str]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word.text)
    text = "\n".join(" ".join(parts) for _, parts in sorted(lines.items()))
    visible_chars = sum(len(c.text.strip()) for c in chunks) - invisible_chars
    page_text = PageText(index, width, height, TextSource.PDF_TEXT, text, words)
    return page_text, invisible_chars > visible_chars


class _RenderMode:
    """Follows the text render mode (``Tr``) through the graphics state stack."""

    def __init__(self) -> None:
        self.current = 0
        self._saved: list[int] = []

    def track(self, operator: bytes, args: list[Any], cm: Any, tm: Any) -> None:
        if operator == b"Tr" and args:
            try:
                self.current = int(args[0])
            except (TypeError, ValueError):
                pass
        elif operator == b"q":
            self._saved.append(self.current)
        elif operator == b"Q" and self._saved:
            self.current = self._saved.pop()


def _chunks_from(
    text: str, cm: list[float], tm: list[float], font: Any, size: float
) -> list[_Chunk]:
    """Position of a text-showing operation in user space, split at line breaks."""
    x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
    y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
    scale = math.hypot(tm[0], tm[1]) * math.hypot(cm[0], cm[1])
    effective = max(1.0, size * (scale or 1.0))
    char_width = effective * _average_glyph_width(font)
    chunks = []
    for i, line in enumerate(text.split("\n")):
        if line.strip():
            chunks.append(_Chunk(line, x, y - i * effective * 1.2, effective, char_width))
    return chunks


def _average_glyph_width(font: Any) -> float:
    """Mean advance width of the font in em; 0.5 when the font does not say."""
    try:
        widths = [float(w) for w in font.get_object().get("/Widths", []) if float(w) > 0]
    except Exception:
        widths = []
    if widths:
        return min(1.0, max(0.3, sum(widths) / len(widths) / 1000.0))
    name = str(font.get("/BaseFont", "")) if isinstance(font, DictionaryObject) else ""
    return 0.6 if "Courier" in name or "Mono" in name else 0.5


def _words_from_chunks(chunks: list[_Chunk], geometry: _PageGeometry) -> list[Word]:
    """Split chunks into words and group them into lines."""
    words: list[Word] = []
    for chunk in chunks:
        for start, token in _tokens(chunk.text):
            x0 = chunk.x + start * chunk.char_width
            x1 = x0 + len(token) * chunk.char_width
            box = geometry.box(x0, chunk.y - 0.22 * chunk.size, x1, chunk.y + 0.78 * chunk.size)
            words.append(Word(text=token, confidence=1.0, box=box))
    return assign_lines(words)


def assign_lines(words: list[Word]) -> list[Word]:
    """Number lines top to bottom by the words' bottom edges; sort left to right in a line.

    A word joins the current line when its bottom edge lies within half a word
    height of the line's first word.
    """
    ordered = sorted(words, key=lambda w: (w.box[3], w.box[0]))
    line, line_bottom = -1, -1e9
    for word in ordered:
        if word.box[3] - line_bottom > 0.5 * max(1, word.box[3] - word.box[1]):
            line, line_bottom = line + 1, word.box[3]
        word.line = line
    ordered.sort(key=lambda w: (w.line, w.box[0]))
    return ordered


def lines_of(words: list[Word]) -> list[list[Word]]:
    """Words grouped by their line number, in line order."""
    grouped: dict[int, list[Word]] = {}
    for word in words:
        grouped.setdefault(word.line, []).append(word)
    return [grouped[key] for key in sorted(grouped)]


def _tokens(text: str) -> Iterator[tuple[int, str]]:
    start = None
    for i, char in enumerate(text + " "):
        if char.isspace():
            if start is not None:
                yield start, text[start:i]
                start = None
        elif start is None:
            start = i


# --- form fields ----------------------------------------------------------------


def _read_fields(reader: pypdf.PdfReader, content: PdfContent) -> list[PdfField]:
    try:
        raw = reader.get_fields() or {}
    except Exception:
        logger.info("pdf form fields unreadable", exc_info=True)
        return []
    positions = _widget_positions(reader, len(content.pages))
    fields = []
    for name, spec in raw.items():
        kind = {"/Tx": "text", "/Btn": "checkbox", "/Ch": "choice"}.get(
            str(spec.get("/FT")), "other"
        )
        value = _field_value(spec.get("/V"), kind)
        page, box = positions.get(name, (None, None))
        label = str(spec.get("/TU", "") or "")
        fields.append(PdfField(name, value, label, kind, page, box))
    return fields


def _field_value(raw: Any, kind: str) -> str:
    if raw is None:
        return ""
    if isinstance(raw, ArrayObject | list):
        return ", ".join(_field_value(item, kind) for item in raw)
    value = str(raw.get_object() if isinstance(raw, IndirectObject) else raw)
    if kind == "checkbox":
        # A checkbox's value is its export name (/Yes, /On, /Ja ...) or /Off.
        return "" if value in ("/Off", "Off", "") else value.lstrip("/")
    return value.strip()


def _widget_positions(reader: pypdf.PdfReader, page_limit: int) -> dict[str, tuple[int, Box]]:
    positions: dict[str, tuple[int, Box]] = {}
    for index in range(page_limit):
        try:
            page = reader.pages[index]
            geometry = _PageGeometry(page)
            annotations = page.get("/Annots") or []
            for ref in annotations:
                widget = ref.get_object()
                if widget.get("/Subtype") != "/Widget" or "/Rect" not in widget:
                    continue
                name = _qualified_name(widget)
                x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
                positions.setdefault(name, (index, geometry.box(x0, y0, x1, y1)))
        except Exception:
            logger.info("widgets of page %d unreadable", index, exc_info=True)
    return positions


def _qualified_name(widget: DictionaryObject) -> str:
    """Fully qualified field name (parent.child), as get_fields() reports it."""
    parts: list[str] = []
    node: Any = widget
    for _ in range(20):  # a cycle in a hostile file must not loop forever
        if "/T" in node:
            parts.append(str(node["/T"]))
        parent = node.get("/Parent")
        if parent is None:
            break
        node = parent.get_object()
    return ".".join(reversed(parts))


# --- embedded images ------------------------------------------------------------


def _embedded_images(
    page: pypdf.PageObject, max_pixels: int, content: PdfContent
) -> list[Image.Image]:
    """Decode the page's large images (a scanned page is one big image), biggest first.

    Each image's declared size is checked before decoding, so an image bomb is
    refused without allocating it.
    """
    found: list[tuple[int, Image.Image]] = []
    for image_id, pixels in _image_ids(page):
        if pixels > max_pixels:
            if "image_too_large" not in content.problems:
                content.problems.append("image_too_large")
            continue
        try:
            image = page.images[image_id].image
        except Exception:
            logger.info("embedded image %s undecodable", image_id, exc_info=True)
            continue
        if image is not None and min(image.size) >= _MIN_IMAGE_SIDE:
            found.append((pixels, image))
    found.sort(key=lambda item: -item[0])
    return [image for _, image in found[:_MAX_IMAGES_PER_PAGE]]


def _image_ids(page: pypdf.PageObject) -> Iterator[tuple[str | list[str], int]]:
    """Image XObjects of the page and of its form XObjects (one level), with pixel counts."""
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources else None
    if not xobjects:
        return
    for name, ref in xobjects.get_object().items():
        obj = ref.get_object()
        if obj.get("/Subtype") == "/Image":
            yield str(name), _pixels(obj)
        elif obj.get("/Subtype") == "/Form":
            inner_resources = obj.get("/Resources")
            inner = inner_resources.get_object().get("/XObject") if inner_resources else None
            if not inner:
                continue
            for inner_name, inner_ref in inner.get_object().items():
                inner_obj = inner_ref.get_object()
                if inner_obj.get("/Subtype") == "/Image":
                    yield [str(name), str(inner_name)], _pixels(inner_obj)


def _pixels(image: DictionaryObject) -> int:
    try:
        return int(image.get("/Width", 0)) * int(image.get("/Height", 0))
    except (TypeError, ValueError):
        return 0
