"""Tesseract kept loaded (C API) against the tesseract command, on corpus scans."""

from __future__ import annotations

import os
import pickle
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from intake.applications.documents import DocType, Word
from intake.applications.evaluate import DocumentTask, iter_readings
from intake.reading import ocr, tesseract_engine
from intake.reading.identity import MRZ_WHITELIST
from servicepoint.settings import reset_settings

pytestmark = pytest.mark.skipif(
    not tesseract_engine.available(), reason="tesserocr is not installed"
)


@pytest.fixture(scope="module")
def letter(corpus: Path) -> Image.Image:
    path = corpus / "anmeldung-dev" / "case-003" / "documents" / "wohnungsgeberbestaetigung.jpg"
    page = Image.open(path).convert("L")
    return page.crop((0, 0, page.width, page.height // 4))


@pytest.fixture(scope="module")
def mrz_part(corpus: Path) -> Image.Image:
    """The lower part of an identity card scan (its machine-readable zone)."""
    path = corpus / "anmeldung-dev" / "case-031" / "documents" / "personalausweis_1.jpg"
    page = Image.open(path).convert("L")
    box = ocr.content_box(page)
    assert box is not None
    card = page.crop(box)
    return card.crop((0, card.height // 2, card.width, card.height))


def _words(image: Image.Image, **options: object) -> list[Word]:
    return ocr.run_tesseract(image, **options).words  # type: ignore[arg-type]


def _by_command(image: Image.Image, **options: object) -> list[Word]:
    os.environ["SERVICEPOINT_TESSERACT_API"] = "false"
    reset_settings()
    try:
        return _words(image, **options)
    finally:
        del os.environ["SERVICEPOINT_TESSERACT_API"]
        reset_settings()


def test_an_engine_reads_what_the_command_reads_and_keeps_nothing_between_readings(
    letter: Image.Image, mrz_part: Image.Image
) -> None:
    mrz = {"lang": "eng", "psm": 6, "whitelist": MRZ_WHITELIST}
    expected_page = _by_command(letter)
    expected_mrz = _by_command(mrz_part, **mrz)
    assert expected_page
    assert expected_mrz

    # page, zone (restricted alphabet, other mode), page again, zone again, a turned page:
    # every reading is the command's, so nothing of one reading leaks into the next.
    assert _words(letter) == expected_page
    assert _words(mrz_part, **mrz) == expected_mrz
    assert _words(letter) == expected_page
    assert set("".join(w.text for w in _words(mrz_part, **mrz))) <= set(MRZ_WHITELIST)
    assert _words(mrz_part, **mrz) == expected_mrz
    assert _words(letter, psm=6, dpi=150) == _by_command(letter, psm=6, dpi=150)
    assert _words(letter) == expected_page


def test_one_engine_per_language_is_loaded_once_and_reused(letter: Image.Image) -> None:
    _words(letter, psm=6)  # deu is loaded by now
    created = tesseract_engine.engines_created()
    before = ocr.CALLS
    for _ in range(3):
        _words(letter, psm=6)
    assert ocr.CALLS == before + 3  # every reading counts
    assert tesseract_engine.engines_created() == created  # none loaded again


def test_a_forked_process_loads_its_own_engine(letter: Image.Image) -> None:
    expected = _words(letter, psm=6)
    assert tesseract_engine.engines_created() >= 1  # the parent has one
    # A bare fork, as the reading forkservers do: multiprocessing's own child would also
    # run the finalizers it inherited from whatever else this test process started.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's exit work
        code = 1
        try:
            os.close(read_end)
            found = (tesseract_engine.engines_created(), _words(letter, psm=6))
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(found, out)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        inherited, words = pickle.load(answer)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert inherited == 0  # nothing inherited
    assert words == expected


def test_threads_reading_at_once_each_get_an_engine_of_their_own(
    letter: Image.Image, mrz_part: Image.Image
) -> None:
    mrz = {"lang": "eng", "psm": 6, "whitelist": MRZ_WHITELIST}
    expected = [_words(letter), _words(mrz_part, **mrz)] * 2
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(_words, letter), pool.submit(_words, mrz_part, **mrz)] * 2
        assert [f.result() for f in futures] == expected


def test_a_missing_language_and_a_timeout_are_ocr_errors(letter: Image.Image) -> None:
    with pytest.raises(ocr.OcrError, match="could not load the language 'xyz'"):
        ocr.run_tesseract(letter, lang="xyz")
    with pytest.raises(ocr.OcrError, match="timed out"):
        ocr.run_tesseract(letter, timeout=0.001)
    assert _words(letter, psm=6)  # the engine is still usable


def test_a_worker_killed_at_its_time_limit_is_replaced_for_the_next_documents(
    tmp_path: Path,
) -> None:
    hang = tmp_path / "scan.jpg"
    os.mkfifo(hang)  # opening a FIFO without a writer blocks forever
    note = tmp_path / "note.png"
    image = Image.new("L", (900, 200), 255)
    ImageDraw.Draw(image).text((20, 60), "Bestaetigung des Wohnungsgebers", fill=0)
    image.resize((2700, 600)).save(note)
    tasks = [
        DocumentTask("hang", "documents/scan.jpg", hang, DocType.ID_CARD),
        DocumentTask("note", "documents/note.png", note),
        DocumentTask("again", "documents/again.png", note),
    ]
    started = time.monotonic()
    calls: dict[str, int] = {}
    done = dict(
        (t.key, r)
        for t, r in iter_readings(
            tasks, workers=1, time_limit=8, kill_grace=0.0, tesseract_calls=calls
        )
    )
    assert done["hang"].problems == ["timeout"]
    assert "timeout" not in done["note"].problems
    assert done["note"].ocr_used
    assert done["again"].pages[0].words == done["note"].pages[0].words
    assert calls["note"] >= 1
    assert calls["again"] == calls["note"]
    assert time.monotonic() - started < 60
