"""A page as drawing items in millimetres, rendered as a text PDF (fpdf2) or an image.

Layouts describe a page once (:class:`Page`); the same description becomes a born-digital
PDF with a text layer or a raster that :mod:`tests.corpusgen.degrade` turns into a scan or
a photo. Text positions are baselines, as in PDF.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

A4 = (210.0, 297.0)
PT_MM = 25.4 / 72.0

FONTS = {
    "sans": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "sans-bold": "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "serif-bold": "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "mono": "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "condensed": "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    # Hand-filled forms (Debian fonts-dancingscript, fonts-comic-neue).
    "script": "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf",
    "hand": "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf",
}


def font_path(name: str) -> str:
    path = FONTS[name]
    if not Path(path).exists():
        raise FileNotFoundError(
            f"font {name!r} needs {path}; install the Debian font packages listed in "
            "scripts/bootstrap.sh (test packages)"
        )
    return path


@dataclass(slots=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float = 10.0  # points
    font: str = "sans"
    color: tuple[int, int, int] = (0, 0, 0)
    angle: float = 0.0  # degrees, counter-clockwise (hand writing); images only


@dataclass(slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    width: float = 0.3  # line width, mm
    fill: int | None = None  # grey level of a filled rectangle


@dataclass(slots=True)
class Rule:
    x0: float
    y0: float
    x1: float
    y1: float
    width: float = 0.3


@dataclass(slots=True)
class Page:
    items: list[Text | Rect | Rule] = field(default_factory=list)

    def text(
        self, x: float, y: float, text: str, size: float = 10.0, font: str = "sans", **kw: object
    ) -> Text:
        item = Text(x, y, text, size, font, **kw)  # type: ignore[arg-type]
        self.items.append(item)
        return item

    def rect(
        self, x: float, y: float, w: float, h: float, width: float = 0.3, fill: int | None = None
    ) -> None:
        self.items.append(Rect(x, y, w, h, width, fill))

    def rule(self, x0: float, y0: float, x1: float, y1: float, width: float = 0.3) -> None:
        self.items.append(Rule(x0, y0, x1, y1, width))

    def checkbox(self, x: float, y: float, ticked: bool, size: float = 3.2) -> None:
        """A tick box whose bottom edge sits on baseline ``y``."""
        self.rect(x, y - size, size, size, 0.25)
        if ticked:
            self.rule(x + 0.4, y - size + 0.4, x + size - 0.4, y - 0.4, 0.35)
            self.rule(x + size - 0.4, y - size + 0.4, x + 0.4, y - 0.4, 0.35)


@lru_cache(maxsize=256)
def _pil_font(name: str, pixels: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(name), pixels)


def text_width(text: str, size: float, font: str = "sans") -> float:
    """Width of ``text`` in mm at ``size`` points."""
    pixels = 100
    return _pil_font(font, pixels).getlength(text) / pixels * size * PT_MM


def wrap(text: str, width: float, size: float, font: str = "sans") -> list[str]:
    """``text`` broken into lines no wider than ``width`` mm."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and text_width(trial, size, font) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def to_pdf(page: Page) -> bytes:
    """A born-digital PDF with a text layer."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_page()
    loaded: set[str] = set()
    for item in page.items:
        if isinstance(item, Text):
            if item.font not in loaded:
                pdf.add_font(item.font, "", font_path(item.font))
                loaded.add(item.font)
            pdf.set_font(item.font, size=item.size)
            pdf.set_text_color(*item.color)
            pdf.text(item.x, item.y, item.text)
        elif isinstance(item, Rect):
            pdf.set_line_width(item.width)
            if item.fill is not None:
                pdf.set_fill_color(item.fill)
                pdf.rect(item.x, item.y, item.w, item.h, style="DF")
            else:
                pdf.rect(item.x, item.y, item.w, item.h)
        else:
            pdf.set_line_width(item.width)
            pdf.line(item.x0, item.y0, item.x1, item.y1)
    return bytes(pdf.output())


def to_image(page: Page, dpi: int = 300, mode: str = "L") -> Image.Image:
    """The page rasterised at ``dpi`` (grey by default; RGB keeps coloured ink)."""
    scale = dpi / 25.4
    size = (int(round(A4[0] * scale)), int(round(A4[1] * scale)))
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for item in page.items:
        if isinstance(item, Rect):
            box = [
                item.x * scale,
                item.y * scale,
                (item.x + item.w) * scale,
                (item.y + item.h) * scale,
            ]
            fill = None if item.fill is None else (item.fill,) * 3
            draw.rectangle(
                box, outline=(0, 0, 0), fill=fill, width=max(1, round(item.width * scale))
            )
        elif isinstance(item, Rule):
            points = [item.x0 * scale, item.y0 * scale, item.x1 * scale, item.y1 * scale]
            draw.line(points, fill=(0, 0, 0), width=max(1, round(item.width * scale)))
    for item in page.items:  # text over the lines, as ink over a printed form
        if isinstance(item, Text):
            _draw_text(image, draw, item, scale)
    return image.convert(mode) if mode != "RGB" else image


def _draw_text(image: Image.Image, draw: ImageDraw.ImageDraw, item: Text, scale: float) -> None:
    pixels = max(6, round(item.size * PT_MM * scale))
    font = _pil_font(item.font, pixels)
    x, y = item.x * scale, item.y * scale
    if not item.angle:
        draw.text((x, y), item.text, font=font, fill=item.color, anchor="ls")
        return
    left, top, right, bottom = font.getbbox(item.text, anchor="ls")
    pad = pixels // 2
    patch = Image.new("L", (int(right - left) + 2 * pad, int(bottom - top) + 2 * pad), 0)
    ImageDraw.Draw(patch).text((pad - left, pad - top), item.text, font=font, fill=255, anchor="ls")
    turned = patch.rotate(item.angle, Image.Resampling.BICUBIC, expand=True)
    ink = Image.new("RGB", turned.size, item.color)
    offset = (
        round(x + left - pad - (turned.width - patch.width) / 2),
        round(y + top - pad - (turned.height - patch.height) / 2),
    )
    image.paste(ink, offset, turned)


def image_bytes(image: Image.Image, kind: str, quality: int = 85, dpi: int = 300) -> bytes:
    """``image`` encoded as ``"jpg"``, ``"png"`` or a one-page image ``"pdf"`` (a scan)."""
    buffer = io.BytesIO()
    if kind == "jpg":
        image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(
            buffer, "JPEG", quality=quality, dpi=(dpi, dpi)
        )
    elif kind == "png":
        image.save(buffer, "PNG")
    elif kind == "pdf":
        image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(
            buffer, "PDF", resolution=float(dpi), quality=quality
        )
    else:
        raise ValueError(f"unknown image kind {kind!r}")
    return buffer.getvalue()
