"""Tesseract kept loaded: engines of its C API (tesserocr), one per language and process.

Starting the tesseract command costs about 0.15 s of CPU before it reads anything (most
of it building the model's tables); an engine pays that once per process and language
and is then reused for every page and every pass over a machine-readable zone.

What a reading depends on is set on every call, never left from the call before: the
page-segmentation mode, the resolution tesseract assumes (``user_defined_dpi``, what the
command's ``--dpi`` sets) and the character whitelist (the MRZ passes restrict it, a page
reading must not inherit that). The adaptive classifier and the document dictionary
(words tesseract learnt from earlier pages) are cleared before each reading, so a page
reads as it would in a fresh ``tesseract`` process: same image bytes, same parameters,
same engine, same words, boxes and confidences (tested against the command in
``tests/intake/test_tesseract_engine.py``).

Processes: the reader runs in processes forked from a forkserver (evaluation, flow
runs). An engine is never inherited across ``fork``: it is created lazily in the process
that uses it, and a child forgets its parent's engines at once (``os.register_at_fork``)
without freeing them, since the parent's memory is only borrowed. Threads: an engine is
used by one thread at a time; a second thread reading at the same moment gets an engine
of its own from the same pool.

Without tesserocr installed (``available()`` is false) ``intake.reading.ocr`` runs the
tesseract command instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

try:  # the C API binding; intake.reading.ocr falls back to the tesseract command without it
    import tesserocr
except ImportError:  # pragma: no cover - exercised only on machines without tesserocr
    tesserocr = None

from PIL import Image

# Columns of tesseract's TSV output, as the command writes them in its header line.
TSV_COLUMNS = (
    "level",
    "page_num",
    "block_num",
    "par_num",
    "line_num",
    "word_num",
    "left",
    "top",
    "width",
    "height",
    "conf",
    "text",
)


class EngineError(RuntimeError):
    """An engine could not be created or failed on an image."""


class EngineTimeout(EngineError):
    """Recognition did not finish within its time limit."""


def available() -> bool:
    """Whether the C API binding is installed."""
    return tesserocr is not None


def version() -> str | None:
    """The version of the tesseract library the binding uses, or None without it."""
    if tesserocr is None:
        return None
    return str(tesserocr.tesseract_version()).split()[1]


class _Pools:
    """Idle engines of this process by language; created on demand, reused forever."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: dict[str, list[Any]] = {}
        self.created = 0


_pools = _Pools()
_inherited: list[_Pools] = []  # a parent's engines in a forked child: kept, never used


def _forget_after_fork() -> None:
    """In a forked child: start without engines (the parent's stay untouched)."""
    global _pools
    _inherited.append(_pools)
    _pools = _Pools()


os.register_at_fork(after_in_child=_forget_after_fork)


def engines_created() -> int:
    """Engines this process has created so far (for tests and metrics)."""
    return _pools.created


def _new_engine(lang: str) -> Any:
    assert tesserocr is not None
    api = tesserocr.PyTessBaseAPI(init=False)
    try:
        api.InitFull(lang=lang, oem=tesserocr.OEM.DEFAULT)
    except RuntimeError as exc:
        api.End()
        raise EngineError(f"tesseract could not load the language {lang!r}: {exc}") from exc
    return api


@contextmanager
def _engine(lang: str) -> Iterator[Any]:
    """An idle engine for ``lang``, this thread's alone until the block ends."""
    pools = _pools
    with pools.lock:
        idle = pools.idle.setdefault(lang, [])
        api = idle.pop() if idle else None
    if api is None:
        api = _new_engine(lang)
        with pools.lock:
            pools.created += 1
    try:
        yield api
    finally:
        with pools.lock:
            pools.idle.setdefault(lang, []).append(api)


def _set_image(api: Any, image: Image.Image) -> None:
    """Hand tesseract the image's pixels as the command would read them from a PNM file."""
    if image.mode == "L":
        api.SetImageBytes(image.tobytes(), image.width, image.height, 1, image.width)
    elif image.mode == "RGB":
        api.SetImageBytes(image.tobytes(), image.width, image.height, 3, 3 * image.width)
    else:  # other modes go through the binding's own conversion
        api.SetImage(image)


def _prepare(api: Any, image: Image.Image, psm: int, dpi: int, whitelist: str) -> None:
    api.ClearAdaptiveClassifier()
    api.SetPageSegMode(psm)
    for name, value in (("user_defined_dpi", str(dpi)), ("tessedit_char_whitelist", whitelist)):
        if not api.SetVariable(name, value):
            raise EngineError(f"tesseract does not know the variable {name}")
    _set_image(api, image)


def read_tsv(
    image: Image.Image,
    *,
    lang: str,
    psm: int,
    dpi: int,
    whitelist: str = "",
    timeout: float = 60.0,
) -> dict[str, list[Any]]:
    """Recognise ``image``; tesseract's TSV as columns (numbers as int, as pytesseract gives)."""
    with _engine(lang) as api:
        try:
            _prepare(api, image, psm, dpi, whitelist)
            if not api.Recognize(max(1, round(timeout * 1000))):
                raise EngineTimeout(f"recognition took longer than {timeout:g} s")
            tsv = api.GetTSVText(0)
        finally:
            api.Clear()  # the image and results: nothing of this reading stays behind
    return parse_tsv(tsv)


def parse_tsv(tsv: str) -> dict[str, list[Any]]:
    """Columns of TSV rows without a header, converted like pytesseract's ``image_to_data``."""
    data: dict[str, list[Any]] = {name: [] for name in TSV_COLUMNS}
    text_column = len(TSV_COLUMNS) - 1
    for row in tsv.splitlines():
        if not row:
            continue
        cells = row.split("\t", text_column)
        cells += [""] * (len(TSV_COLUMNS) - len(cells))
        for name, cell in zip(TSV_COLUMNS[:-1], cells, strict=False):
            data[name].append(int(float(cell)))
        data["text"].append(cells[text_column])
    return data


def orientation(image: Image.Image, *, dpi: int) -> tuple[int, float]:
    """Tesseract's orientation detection (``--psm 0``): (clockwise degrees the page is
    turned, confidence). Raises EngineError when the page has too little text."""
    with _engine("osd") as api:
        try:
            _prepare(api, image, tesserocr.PSM.OSD_ONLY if tesserocr else 0, dpi, "")
            found = api.DetectOrientationScript()
        finally:
            api.Clear()
    if not found:
        raise EngineError("too few characters to detect the orientation")
    return int(found["orient_deg"]), float(found["orient_conf"])
