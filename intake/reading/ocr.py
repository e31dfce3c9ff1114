"""Tesseract OCR, page orientation and deskew.

Every tesseract invocation in the project goes through :func:`_invoke` in this
module. Tesseract is kept loaded through its C API (``intake.reading.tesseract_engine``, one
engine per language and process); without the binding, or with
``SERVICEPOINT_TESSERACT_API=false``, the tesseract command runs once per reading
(pytesseract). The module-level counter :data:`CALLS` is incremented once per
reading, so a test can assert that a born-digital PDF was read without OCR::

    before = ocr.CALLS
    read_document(path)
    assert ocr.CALLS == before

Tesseract uses OpenMP threads by default; with several processes in parallel that
makes it many times slower, so ``OMP_THREAD_LIMIT=1`` is set at import unless the
environment already says otherwise.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import numpy as np  # noqa: E402
import pytesseract  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from intake.applications.documents import Box, PageText, TextSource, Word  # noqa: E402
from intake.reading import tesseract_engine  # noqa: E402
from servicepoint.settings import get_settings  # noqa: E402

CALLS = 0
"""Number of tesseract readings made by this module (for tests and metrics)."""

_T = TypeVar("_T")

# Below this mean word confidence an OSD answer is not trusted and the
# rotation is chosen by reading the page instead.
_OSD_MIN_CONFIDENCE = 2.0
_DESKEW_MAX_ANGLE = 10.0
_DESKEW_WIDTH = 700
_A4_LONG_SIDE = 3508  # pixels of an A4 page at 300 dpi
_CONTENT_EDGE = 0.01  # of the long side: border strip left out when looking for ink
_CONTENT_MARGIN = 0.04  # of the long side, kept around the ink (12 mm on A4)
_CONTENT_MIN_SAVING = 0.8  # a cut keeping more than this share of the pixels is not made


class OcrError(RuntimeError):
    """Tesseract could not be run or did not finish (missing binary, crash, timeout)."""


def _invoke(call: Callable[[], _T], what: str) -> _T:
    """Run one tesseract call, counting it and turning every failure into OcrError."""
    global CALLS
    CALLS += 1
    pytesseract.pytesseract.tesseract_cmd = get_settings().tesseract_cmd
    try:
        return call()
    except tesseract_engine.EngineTimeout as exc:
        raise OcrError(f"tesseract timed out during {what}") from exc
    except tesseract_engine.EngineError as exc:
        raise OcrError(f"tesseract failed during {what}: {exc}") from exc
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrError("tesseract is not installed or not on PATH") from exc
    except pytesseract.TesseractError as exc:
        raise OcrError(f"tesseract failed during {what}: {exc.message}") from exc
    except RuntimeError as exc:  # pytesseract signals a timeout with a bare RuntimeError
        raise OcrError(f"tesseract timed out during {what}") from exc
    except OSError as exc:
        raise OcrError(f"tesseract could not be started for {what}: {exc}") from exc


@contextmanager
def _input_file(image: Image.Image) -> Iterator[Image.Image | str]:
    """The image as tesseract should receive it: the path of a temporary PNM file.

    pytesseract would write each image as a zlib-compressed PNG, which for a page
    at 300 dpi costs more than a second of CPU; a PGM/PPM file holds the same
    pixels uncompressed (tesseract reads both identically) and is written in
    milliseconds. Other modes, and images still carrying a lossy source format
    (which pytesseract would re-encode in that format), are passed on unchanged.
    """
    if image.mode not in ("L", "RGB") or image.format not in (None, "PNG"):
        yield image
        return
    handle, name = tempfile.mkstemp(prefix="tess_", suffix=".pgm" if image.mode == "L" else ".ppm")
    try:
        with os.fdopen(handle, "wb") as file:
            image.save(file, format="PPM")
        yield name
    finally:
        os.unlink(name)


def _use_api() -> bool:
    """Whether readings go to the engine kept loaded (else to the tesseract command)."""
    return tesseract_engine.available() and get_settings().tesseract_api


def _whitelist(whitelist: str | None) -> str:
    # Tesseract's config parser splits on whitespace, so the command's whitelist must
    # not contain spaces; a space is always allowed between words anyway. The engine
    # gets the same characters.
    return (whitelist or "").replace(" ", "")


def _config(psm: int, dpi: int, whitelist: str | None) -> str:
    parts = [f"--psm {psm}", f"--dpi {dpi}"]
    if whitelist:
        parts.append(f"-c tessedit_char_whitelist={_whitelist(whitelist)}")
    return " ".join(parts)


def run_tesseract(
    image: Image.Image,
    *,
    lang: str = "deu",
    psm: int = 3,
    whitelist: str | None = None,
    dpi: int = 300,
    timeout: float = 60.0,
) -> PageText:
    """OCR one image and return its words with confidences, boxes and line numbers.

    ``PageText.index`` is 0; callers reading multi-page documents set it. The engine
    kept loaded and the command get the same pixels and parameters and give the same
    words, boxes and confidences.
    """
    if _use_api():
        data = _invoke(
            lambda: tesseract_engine.read_tsv(
                image, lang=lang, psm=psm, dpi=dpi, whitelist=_whitelist(whitelist), timeout=timeout
            ),
            "text recognition",
        )
    else:
        with _input_file(image) as source:
            data = _invoke(
                lambda: pytesseract.image_to_data(
                    source,
                    lang=lang,
                    config=_config(psm, dpi, whitelist),
                    output_type=pytesseract.Output.DICT,
                    timeout=timeout,
                ),
                "text recognition",
            )
    words = _words_from_data(data)
    return PageText(
        index=0,
        width=image.width,
        height=image.height,
        source=TextSource.OCR,
        text=_text_from_words(words),
        words=words,
    )


def _words_from_data(data: dict[str, list[object]]) -> list[Word]:
    """Turn pytesseract's column dict into Words with a running line index."""

    def number(column: str, i: int) -> int:
        return int(float(str(data[column][i])))

    words: list[Word] = []
    line_ids: dict[tuple[int, int, int], int] = {}
    for i, raw_text in enumerate(data["text"]):
        text = str(raw_text).strip()
        conf = float(str(data["conf"][i]))
        if not text or conf < 0:
            continue
        key = (number("block_num", i), number("par_num", i), number("line_num", i))
        line = line_ids.setdefault(key, len(line_ids))
        x, y = number("left", i), number("top", i)
        box = (x, y, x + number("width", i), y + number("height", i))
        words.append(Word(text=text, confidence=min(conf, 100.0) / 100.0, box=box, line=line))
    return words


def _text_from_words(words: list[Word]) -> str:
    lines: dict[int, list[str]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word.text)
    return "\n".join(" ".join(parts) for _, parts in sorted(lines.items()))


def rotate_clockwise(image: Image.Image, degrees: int) -> Image.Image:
    """Turn an image clockwise by a multiple of 90 degrees (PIL turns counter-clockwise)."""
    degrees %= 360
    if degrees == 0:
        return image
    method = {
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }[degrees]
    return image.transpose(method)


def detect_orientation(image: Image.Image, *, timeout: float = 30.0) -> int:
    """Clockwise degrees (0/90/180/270) the image must be turned to stand upright.

    Tesseract's OSD is asked first. A confident "upright" is accepted as is (the
    common case costs one call). Any other answer is checked by reading:
    OSD is easily fooled on sparse pages such as an identity card on a scanner bed
    (it flips them by 180°) and gives up on very little text, so the candidates
    are read on a downscaled copy and the one with the most confident horizontal
    text wins.
    """
    gray = ImageOps.grayscale(image)
    proposal = _osd_rotation(gray, timeout=timeout)
    if proposal == 0:
        return 0
    if proposal is None:
        candidates: tuple[int, ...] = (0, 90, 180, 270)
    else:
        candidates = (0, proposal, (proposal + 180) % 360)
    return _orientation_by_reading(gray, candidates, timeout=timeout)


def _osd_rotation(gray: Image.Image, *, timeout: float) -> int | None:
    """OSD's clockwise correction, or None when it fails or is unsure."""
    # Half resolution is enough to see which way text runs, at half the cost.
    small = _downscale(gray, 1754)
    dpi = max(70, round(300 * max(small.size) / max(gray.size)))
    if _use_api():
        try:
            degrees, conf = _invoke(
                lambda: tesseract_engine.orientation(small, dpi=dpi), "orientation detection"
            )
        except OcrError:
            return None  # "too few characters" and the like
        # The engine names the page's clockwise turn, which is the correction here.
        return None if conf < _OSD_MIN_CONFIDENCE else degrees % 360
    try:
        with _input_file(small) as source:
            osd = _invoke(
                lambda: pytesseract.image_to_osd(
                    source, config=f"--psm 0 --dpi {dpi}", timeout=timeout
                ),
                "orientation detection",
            )
    except OcrError as exc:
        if "timed out" in str(exc) or "not installed" in str(exc):
            raise
        return None  # "too few characters" and the like
    rotate = re.search(r"Rotate:\s*(\d+)", osd)
    confidence = re.search(r"Orientation confidence:\s*([\d.]+)", osd)
    if not rotate or not confidence or float(confidence.group(1)) < _OSD_MIN_CONFIDENCE:
        return None
    # OSD's "Rotate" is counter-clockwise; this module speaks clockwise.
    return (360 - int(rotate.group(1))) % 360


def _orientation_by_reading(
    gray: Image.Image, candidates: tuple[int, ...], *, timeout: float
) -> int:
    """Pick the rotation whose OCR yields the most confident horizontal characters.

    Tesseract's layout analysis also reads vertical text lines, so a page lying
    on its side reads well at 0 degrees too; only words whose boxes are wider
    than tall count, which is true only when the page stands upright.
    """
    small = _downscale(gray, 1400)
    scale_dpi = max(70, round(300 * max(small.size) / max(gray.size)))
    best, best_score = candidates[0], -1.0
    for degrees in candidates:
        page = run_tesseract(
            rotate_clockwise(small, degrees), psm=3, dpi=scale_dpi, timeout=timeout
        )
        score = orientation_score(page)
        if score > best_score:
            best, best_score = degrees, score
    return best


def orientation_score(page: PageText) -> float:
    """Confident horizontal characters of a reading: highest for the upright page."""
    return sum(
        w.confidence * len(w.text)
        for w in page.words
        if w.confidence > 0.6 and len(w.text) >= 3 and _is_horizontal(w.box)
    )


def turn_candidates(page: PageText) -> tuple[int, ...]:
    """The turns worth trying, most likely first, for a page that did not read upright.

    A page lying on its side is still read, but its words come out in boxes taller
    than wide: it needs a quarter turn. A page whose words lie flat but read badly
    is upside down, or just hard to read. With no words to go by, every turn is tried.
    """
    long_words = [w for w in page.words if len(w.text) >= 3]
    if not long_words:
        return (90, 180, 270)
    standing = sum(1 for w in long_words if not _is_horizontal(w.box))
    if standing > len(long_words) / 2:
        return (90, 270, 180)
    return (180,)


def _is_horizontal(box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    return (x1 - x0) > (y1 - y0)


def _downscale(image: Image.Image, max_side: int) -> Image.Image:
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def _upright_gray(image: Image.Image) -> Image.Image:
    """The upload's image turned as its EXIF says, in grey: what every page step starts from."""
    return ImageOps.grayscale(ImageOps.exif_transpose(image) or image)


def _ink_mask(gray: Image.Image, max_side: int = _DESKEW_WIDTH) -> Image.Image:
    """Binarised copy in which ink is white (255) and paper black, at a small size."""
    small = _downscale(gray, max_side)
    histogram = small.histogram()
    total = sum(histogram) or 1
    mean = sum(i * n for i, n in enumerate(histogram)) / total
    threshold = mean * 0.75  # ink is clearly darker than the page average
    return small.point(lambda v: 255 if v < threshold else 0)


def _profile_score(mask: Image.Image, angle: float) -> float:
    """Sharpness of the row-ink profile: text lines aligned with rows score highest."""
    turned = mask.rotate(angle, resample=Image.Resampling.NEAREST, expand=False, fillcolor=0)
    # One pixel per row of the 8-bit mask: its bytes are the mean ink of each row.
    row_ink = turned.resize((1, turned.height), Image.Resampling.BOX).tobytes()
    steps = np.diff(np.frombuffer(row_ink, dtype=np.uint8).astype(np.int64))
    return float(np.dot(steps, steps))


def estimate_skew(image: Image.Image) -> float:
    """Counter-clockwise angle in degrees (within ±10) that straightens the text lines."""
    mask = _ink_mask(ImageOps.grayscale(image))
    coarse = [a / 2 for a in range(int(-2 * _DESKEW_MAX_ANGLE), int(2 * _DESKEW_MAX_ANGLE) + 1)]
    best = max(coarse, key=lambda a: _profile_score(mask, a))
    fine = [round(best + d / 10, 1) for d in range(-4, 5)]
    return max(fine, key=lambda a: _profile_score(mask, a))


def deskew(image: Image.Image, angle: float | None = None) -> tuple[Image.Image, float]:
    """Straighten a slightly skewed page; returns the image and the angle applied.

    ``angle`` is the page's skew when it was measured already (else it is
    estimated here). Angles below 0.3 degrees are left alone: rotating costs
    sharpness and tesseract copes with them.
    """
    if angle is None:
        angle = estimate_skew(image)
    if abs(angle) < 0.3:
        return image, 0.0
    return _rotated(image, angle), angle


def _rotated(image: Image.Image, angle: float) -> Image.Image:
    fill = 255 if image.mode in ("L", "1") else "white"
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def resolution_factor(size: tuple[int, int]) -> float:
    """How much a page image of ``size`` pixels is enlarged to read at about 300 dpi.

    Tesseract reads text best with capital letters some 30 px high; scans and
    photos of an A4 page at 150-200 dpi lose whole words otherwise (measured:
    mean word confidence 0.85 → 0.92 and labels read again). The metadata dpi of
    uploads cannot be trusted, so the pixel size decides: a page-shaped image
    (aspect about √2) is scaled to A4 at 300 dpi, anything else smaller than
    1200 px (a card photographed alone) is doubled.
    """
    long_side, short_side = max(size), min(size)
    aspect = long_side / max(1, short_side)
    if 1.3 <= aspect <= 1.5 and long_side < _A4_LONG_SIDE * 0.8:
        return min(2.0, _A4_LONG_SIDE / long_side)
    if long_side < 1200:
        return 2.0
    return 1.0


def normalise_resolution(image: Image.Image) -> Image.Image:
    """Enlarge a low-resolution page image to about 300 dpi (see resolution_factor)."""
    return cut_and_scale(image, None, resolution_factor(image.size))


def cut_and_scale(image: Image.Image, box: Box | None, factor: float) -> Image.Image:
    """The part ``box`` of ``image`` (all of it for None), enlarged by ``factor``."""
    part = image.crop(box) if box is not None else image
    if factor == 1.0:
        return part
    size = (round(part.width * factor), round(part.height * factor))
    return part.resize(size, Image.Resampling.LANCZOS)


def content_box(gray: Image.Image) -> Box | None:
    """The part of a page image that holds ink, with a wide margin; None for (nearly) all.

    Identity documents are scanned as a card or a passport page on an A4 bed, and
    letters have wide margins: most of their pixels are blank paper, and tesseract's
    time and the deskew rotation grow with the pixels (measured on the dev scans:
    an identity page holds its ink in about a quarter of the page). Ink is what is
    clearly darker than the page's mean, as for the skew estimate; a thin strip
    along the image border (scanner shadows) is not looked at. Everything within
    _CONTENT_MARGIN of the ink stays, so faint marks next to the text are kept.
    """
    mask = _ink_mask(gray, 1000)
    scale = gray.width / mask.width
    edge = max(2, round(_CONTENT_EDGE * max(mask.size)))
    if min(mask.size) <= 2 * edge:
        return None  # a few pixels: nothing worth cutting
    inner = mask.crop((edge, edge, mask.width - edge, mask.height - edge)).getbbox()
    if inner is None:
        return None
    margin = _CONTENT_MARGIN * max(gray.size)
    box = (
        max(0, round((inner[0] + edge) * scale - margin)),
        max(0, round((inner[1] + edge) * scale - margin)),
        min(gray.width, round((inner[2] + edge) * scale + margin)),
        min(gray.height, round((inner[3] + edge) * scale + margin)),
    )
    if (box[2] - box[0]) * (box[3] - box[1]) > _CONTENT_MIN_SAVING * gray.width * gray.height:
        return None
    return box


def replay(image: Image.Image, *, crop: Box | None, rotation: int, skew: float) -> Image.Image:
    """The page image a reading's boxes refer to, from the upload's image and the
    reading's recorded crop, rotation and skew (what read_page did, without OCR)."""
    gray = _upright_gray(image)
    prepared = rotate_clockwise(cut_and_scale(gray, crop, resolution_factor(gray.size)), rotation)
    return _rotated(prepared, skew) if skew else prepared


def prepare_page(image: Image.Image, *, timeout: float = 30.0) -> tuple[Image.Image, int, float]:
    """Grayscale, resolution-normalised, upright and deskewed page.

    Returns (image, rotation, skew); OCR boxes refer to the returned image.
    """
    gray = normalise_resolution(_upright_gray(image))
    rotation = detect_orientation(gray, timeout=timeout)
    upright = rotate_clockwise(gray, rotation)
    straight, skew = deskew(upright)
    return straight, rotation, skew


def looks_upright(page: PageText) -> bool:
    """Whether an OCR result shows an upright page (cheap check before asking OSD).

    Measured on the dev scans: upright pages yield at least 19 confidently read
    horizontal words of three or more letters, making up at least half of such
    words; pages turned by 90° or 180° yield at most 7 (at most 7%).
    """
    long_words = [w for w in page.words if len(w.text) >= 3]
    good = [w for w in long_words if w.confidence >= 0.85 and _is_horizontal(w.box)]
    return len(good) >= 10 and len(good) >= 0.3 * len(long_words)


def read_page(
    image: Image.Image, *, lang: str = "deu", timeout: float = 60.0
) -> tuple[PageText, Image.Image, int, float]:
    """Read one page image the cheap way when it is upright, else orient it first.

    The part of the page that holds ink is cut out (``content_box``) and brought to
    about 300 dpi. Most uploads are upright: the page is read once after deskewing.
    A reading that does not look upright shows which turns to try (``turn_candidates``:
    a quarter turn when its words stand on end, else half a turn); the page is read
    turned until a reading looks upright, else the most confident reading is kept.
    A page lying on its side costs two or three readings, where asking for the
    orientation first (``detect_orientation``) cost five or six. Returns (text,
    prepared image, rotation, skew); the boxes of the text refer to the prepared
    image, which ``replay`` makes again from the upload and the page's recorded
    crop, rotation and skew.
    """
    whole = _upright_gray(image)
    crop = content_box(whole)
    gray = cut_and_scale(whole, crop, resolution_factor(whole.size))
    # The skew is measured on the whole page: its text lines are longer than the cut's.
    straight, skew = deskew(gray, estimate_skew(whole) if crop else None)
    page = run_tesseract(straight, lang=lang, timeout=timeout)
    rotation = 0
    if not looks_upright(page):
        # The first turn that reads upright, else the most confident reading.
        tried = [(orientation_score(page), 0, page, straight, skew)]
        for turn in turn_candidates(page):
            turned, turned_skew = deskew(rotate_clockwise(gray, turn))
            reading = run_tesseract(turned, lang=lang, timeout=timeout)
            tried.append((orientation_score(reading), turn, reading, turned, turned_skew))
            if looks_upright(reading):
                chosen = tried[-1]
                break
        else:
            chosen = max(tried, key=lambda t: t[0])
        _, rotation, page, straight, skew = chosen
    page.rotation, page.skew, page.crop = rotation, skew, crop
    return page, straight, rotation, skew
