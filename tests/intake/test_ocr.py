"""Tesseract wrapper, orientation and deskew against real tesseract and corpus scans."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from intake.applications.documents import PageText, TextSource, Word
from intake.reading import ocr


@pytest.fixture(scope="module")
def letter_page(corpus: Path) -> Image.Image:
    """A clean scanned landlord letter (300 dpi, upright)."""
    path = corpus / "anmeldung-dev" / "case-003" / "documents" / "wohnungsgeberbestaetigung.jpg"
    return Image.open(path).convert("L")


def test_run_tesseract_returns_words_with_confidence_boxes_and_lines(
    letter_page: Image.Image,
) -> None:
    top = letter_page.crop((0, 0, letter_page.width, letter_page.height // 3))
    before = ocr.CALLS

    page = ocr.run_tesseract(top)

    assert ocr.CALLS == before + 1
    assert page.source is TextSource.OCR
    assert (page.width, page.height) == top.size
    assert "Wohnungsgebers" in page.text
    assert all(0.0 <= w.confidence <= 1.0 for w in page.words)
    assert all(0 <= w.box[0] < w.box[2] <= top.width for w in page.words)
    lines = [w.line for w in page.words]
    assert lines == sorted(lines)  # reading order
    assert page.text.count("\n") == len(set(lines)) - 1
    assert page.mean_confidence > 0.85


def test_whitelist_restricts_characters(letter_page: Image.Image) -> None:
    top = letter_page.crop((0, 0, letter_page.width, letter_page.height // 4))
    page = ocr.run_tesseract(top, psm=6, whitelist="0123456789")
    assert page.text.strip()
    assert set(page.text) <= set("0123456789 \n")


def test_upright_page_needs_no_rotation(letter_page: Image.Image) -> None:
    assert ocr.detect_orientation(letter_page) == 0


@pytest.mark.parametrize("turned_by", [90, 180])
def test_detect_orientation_undoes_a_turned_page(letter_page: Image.Image, turned_by: int) -> None:
    turned = ocr.rotate_clockwise(letter_page, turned_by)
    assert ocr.detect_orientation(turned) == (360 - turned_by) % 360


@pytest.mark.parametrize("angle", [3.0, -2.5])
def test_deskew_estimates_small_angles(letter_page: Image.Image, angle: float) -> None:
    skewed = letter_page.rotate(angle, expand=True, fillcolor=255)
    straight, applied = ocr.deskew(skewed)
    assert applied == pytest.approx(-angle, abs=0.3)
    assert straight.size != skewed.size  # turned with expand


def test_prepare_page_enlarges_low_resolution_scans(letter_page: Image.Image) -> None:
    small = letter_page.resize((letter_page.width // 2, letter_page.height // 2))
    prepared, rotation, skew = ocr.prepare_page(small)
    assert rotation == 0
    assert abs(skew) < 0.5
    assert prepared.mode == "L"
    assert max(prepared.size) >= 3300


def test_timeout_raises_ocr_error(letter_page: Image.Image) -> None:
    with pytest.raises(ocr.OcrError, match="timed out"):
        ocr.run_tesseract(letter_page, timeout=0.01)


def test_missing_binary_raises_ocr_error(
    letter_page: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the engine kept loaded, readings run the command: a missing one is an OcrError."""
    from servicepoint.settings import reset_settings

    monkeypatch.setenv("SERVICEPOINT_TESSERACT_API", "false")
    monkeypatch.setenv("SERVICEPOINT_TESSERACT_CMD", "/nonexistent/tesseract")
    reset_settings()
    try:
        with pytest.raises(ocr.OcrError, match="not installed"):
            ocr.run_tesseract(letter_page.crop((0, 0, 400, 200)))
    finally:
        monkeypatch.undo()
        reset_settings()


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_pages_reach_tesseract_as_uncompressed_files_with_the_same_pixels(mode: str) -> None:
    image = Image.effect_noise((64, 48), 80).convert(mode)
    with ocr._input_file(image) as source:
        assert isinstance(source, str)
        with Image.open(source) as written:
            assert written.mode == mode
            assert written.tobytes() == image.tobytes()
    assert not Path(source).exists()


def test_images_in_other_modes_are_left_to_pytesseract() -> None:
    image = Image.new("RGBA", (8, 8))
    with ocr._input_file(image) as source:
        assert source is image


def test_content_box_keeps_all_ink_with_a_margin_and_leaves_blank_and_full_pages() -> None:
    page = Image.new("L", (2480, 3508), 245)
    assert ocr.content_box(page) is None  # nothing to read: nothing to cut
    draw = ImageDraw.Draw(page)
    draw.rectangle((300, 400, 1200, 1000), fill=40)  # a card's ink
    draw.rectangle((1500, 1300, 1510, 1310), fill=90)  # a faint mark well away from it
    draw.rectangle((0, 0, 2479, 15), fill=20)  # a scanner's edge shadow
    box = ocr.content_box(page)
    assert box is not None
    margin = 0.03 * 3508
    assert box[0] <= 300 - margin
    assert box[1] <= 400 - margin  # the shadow is not ink
    assert box[1] > 20
    assert box[2] >= 1510 + margin
    assert box[3] >= 1310 + margin
    assert (box[2] - box[0]) * (box[3] - box[1]) < 0.3 * page.width * page.height
    draw.rectangle((150, 200, 2330, 3300), fill=30)  # ink nearly everywhere
    assert ocr.content_box(page) is None
    for size in ((1, 1), (3, 3), (10, 2)):  # slivers and dots: left whole, no error
        assert ocr.content_box(Image.new("L", size, 0)) is None


def test_an_identity_scan_is_read_from_its_ink_and_the_case_view_replays_the_same_image(
    corpus: Path,
) -> None:
    upload = Image.open(
        corpus / "anmeldung-dev" / "case-031" / "documents" / "personalausweis_1.jpg"
    )
    uncut = ocr.run_tesseract(upload.convert("L"))
    page, prepared, rotation, skew = ocr.read_page(upload)
    assert page.crop is not None
    x0, y0, x1, y1 = page.crop
    assert (x1 - x0) * (y1 - y0) < 0.4 * upload.width * upload.height
    for word in uncut.words:  # nothing read on the whole page lies outside the cut
        if word.confidence > 0.6 and len(word.text) >= 3:
            assert x0 < word.box[0], word
            assert word.box[2] < x1, word
            assert y0 < word.box[1], word
            assert word.box[3] < y1, word
    wanted = {w.text for w in uncut.words if w.confidence > 0.9 and len(w.text) >= 4}
    read = {w.text for w in page.words}
    assert len(wanted & read) >= 0.9 * len(wanted), wanted - read
    assert (page.width, page.height) == prepared.size
    again = ocr.replay(upload, crop=page.crop, rotation=rotation, skew=skew)
    assert again.size == prepared.size
    assert ImageChops.difference(again, prepared).getbbox() is None


@pytest.mark.parametrize("turned_by", [90, 180, 270])
def test_a_turned_page_is_read_upright_with_at_most_three_readings(
    letter_page: Image.Image, turned_by: int
) -> None:
    turned = ocr.rotate_clockwise(letter_page, turned_by)
    before = ocr.CALLS

    page, prepared, rotation, _ = ocr.read_page(turned)

    assert rotation == (360 - turned_by) % 360
    assert ocr.CALLS - before <= 3  # the reading as uploaded, then the likely turns
    assert ocr.looks_upright(page)
    assert "Wohnungsgebers" in page.text
    assert (page.width, page.height) == prepared.size


def test_turns_are_tried_in_the_order_the_words_suggest() -> None:
    def page_of(boxes: list[tuple[int, int, int, int]]) -> PageText:
        words = [Word("Wort", 0.5, box, i) for i, box in enumerate(boxes)]
        return PageText(0, 1000, 1000, TextSource.OCR, "", words)

    standing = page_of([(0, 0, 20, 80)] * 5 + [(0, 0, 80, 20)] * 2)
    lying = page_of([(0, 0, 80, 20)] * 5 + [(0, 0, 20, 80)] * 2)
    assert ocr.turn_candidates(standing) == (90, 270, 180)
    assert ocr.turn_candidates(lying) == (180,)
    assert ocr.turn_candidates(page_of([])) == (90, 180, 270)
