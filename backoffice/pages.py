"""Page images for the case view, in the coordinates of the reading's word boxes.

The boxes of a reading refer to the page *as it was read*: scans and photos were turned
cut to the part holding ink, brought to about 300 dpi, turned upright and deskewed before
OCR (``intake.reading.ocr.read_page``); text-layer PDF pages use a 300 dpi raster. The same steps
are replayed here from the reading's recorded crop, rotation and skew
(``intake.reading.ocr.replay``, without running the orientation detection again), so the
overlay drawn in the page's pixel space lands on the words. Rendered
pages are cached on disk by content hash; the case view scales them in the browser.
"""

from __future__ import annotations

import io
import logging
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

from PIL import Image, ImageSequence

from intake.applications import processing
from intake.applications.models import Document
from intake.reading import ocr, pdftext
from servicepoint.errors import NotFound
from servicepoint.settings import Settings

log = logging.getLogger(__name__)

DISPLAY_WIDTH = 1400  # pixels: sharp enough to read at the case view's size
PDF_DISPLAY_DPI = 150
CACHE_VERSION = "2"


def cache_path(settings: Settings, document: Document, position: int, page: dict[str, Any]) -> Path:
    crop = "-".join(str(v) for v in page.get("crop") or ()) or "all"
    key = f"{document.sha256}-{position}-{page.get('rotation', 0)}-{page.get('skew', 0.0)}-{crop}"
    return settings.data_dir / "cache" / "pages" / f"{key}-v{CACHE_VERSION}.png"


def page_png(
    settings: Settings, document: Document, reading: dict[str, Any], position: int
) -> bytes:
    """The PNG of one page of a document, oriented as it was read."""
    pages = reading.get("pages") or []
    if not 0 <= position < len(pages) or document.purged_at is not None:
        raise NotFound()
    page = pages[position]
    target = cache_path(settings, document, position, page)
    if target.exists():
        return target.read_bytes()
    source = processing.stored_path(document.sha256, settings)
    if not source.exists():
        raise NotFound()
    if page.get("source") == "ocr":
        image = _prepared(
            _original_image(source, document.media_type, pages, position, settings), page
        )
    else:
        image = _pdf_page(source, int(page.get("index", position)))
    if image.width > DISPLAY_WIDTH:
        height = round(image.height * DISPLAY_WIDTH / image.width)
        image = image.resize((DISPLAY_WIDTH, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")  # writers may race
    temporary.write_bytes(data)
    temporary.replace(target)
    return data


def _original_image(
    source: Path, media_type: str, pages: list[dict[str, Any]], position: int, settings: Settings
) -> Image.Image:
    """The image that was given to OCR for the page at ``position`` (before preparing it)."""
    index = int(pages[position].get("index", position))
    if media_type == "application/pdf":
        # A scanned PDF page may hold several images; the reading has one page per image,
        # all with the page's index, biggest image first (as ``pdftext`` returns them).
        occurrence = sum(1 for p in pages[:position] if int(p.get("index", -1)) == index)
        content = pdftext.read_pdf(
            source.read_bytes(),
            max_pages=settings.max_pages,
            images_below_chars=10**9,
            max_image_pixels=settings.max_pixels,
        )
        if index >= len(content.pages) or occurrence >= len(content.pages[index].images):
            raise NotFound()
        return content.pages[index].images[occurrence]
    with Image.open(source) as opened:
        for number, frame in enumerate(ImageSequence.Iterator(opened)):
            if number == index:
                frame.load()
                return frame.copy()
    raise NotFound()


def _prepared(image: Image.Image, page: dict[str, Any]) -> Image.Image:
    """The page as it was read, from the recorded crop, rotation and skew."""
    crop = page.get("crop")
    upright = ocr.replay(
        image,
        crop=(crop[0], crop[1], crop[2], crop[3]) if crop else None,
        rotation=int(page.get("rotation", 0)),
        skew=float(page.get("skew", 0.0)),
    )
    expected = (int(page.get("width", upright.width)), int(page.get("height", upright.height)))
    if upright.size != expected:
        log.info("page image %s differs from the reading's %s: scaled", upright.size, expected)
        upright = upright.resize(expected, Image.Resampling.BILINEAR)
    return upright


def _pdf_page(source: Path, index: int) -> Image.Image:
    """A text-layer PDF page rendered by poppler (the boxes use the same page raster)."""
    with tempfile.TemporaryDirectory(prefix="servicepoint-page-") as folder:
        prefix = Path(folder) / "page"
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(PDF_DISPLAY_DPI),
                "-f",
                str(index + 1),
                "-l",
                str(index + 1),
                "-png",
                "-singlefile",
                str(source),
                str(prefix),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        with Image.open(prefix.with_suffix(".png")) as rendered:
            rendered.load()
            return rendered.copy()
