"""read_document end to end: real files, real pypdf, real tesseract."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pypdf
import pytesseract
import pytest
from PIL import Image

from intake.applications.documents import DocType, TextSource
from intake.reading import ocr
from intake.reading.reader import read_document, sniff_media_type


def _dev_document(corpus: Path, case: str, name: str) -> Path:
    return corpus / "anmeldung-dev" / case / "documents" / name


def _expected_fields(corpus: Path, case: str, name: str) -> dict[str, object]:
    expected = json.loads((corpus / "anmeldung-dev" / case / "expected.json").read_text())
    fields: dict[str, object] = expected["documents"][f"documents/{name}"]["fields"]
    return fields


@pytest.mark.parametrize(
    ("case", "source"),
    [("case-001", TextSource.PDF_TEXT), ("case-008", TextSource.ACROFORM)],
    ids=["born-digital", "fillable"],
)
def test_text_pdfs_are_read_without_tesseract(corpus: Path, case: str, source: TextSource) -> None:
    path = _dev_document(corpus, case, "wohnungsgeberbestaetigung.pdf")
    before = ocr.CALLS

    reading = read_document(path, declared_type=DocType.LANDLORD_CONFIRMATION)

    assert ocr.CALLS == before, "a PDF with a text layer must not be OCRed"
    assert not reading.ocr_used
    assert reading.problems == []
    assert reading.type is DocType.LANDLORD_CONFIRMATION
    assert reading.pages[0].source is source
    assert (reading.pages[0].width, reading.pages[0].height) == (2480, 3508)  # A4 at 300 dpi
    expected = _expected_fields(corpus, case, "wohnungsgeberbestaetigung.pdf")
    assert reading.field_values()["move_in_date"] == expected["move_in_date"]
    assert reading.field_values()["postal_code"] == expected["postal_code"]


def test_fillable_pdf_values_are_highlighted_where_their_widgets_are(corpus: Path) -> None:
    reading = read_document(_dev_document(corpus, "case-008", "wohnungsgeberbestaetigung.pdf"))
    date = reading.fields["move_in_date"]
    assert date.box is not None
    x0, y0, x1, y1 = date.box
    assert 0 < x0 < x1 < 2480
    assert 0 < y0 < y1 < 3508
    assert date.confidence >= 0.9


def test_rotated_scan_is_turned_upright_before_reading(corpus: Path) -> None:
    path = _dev_document(corpus, "case-026", "personalausweis_1.jpg")  # scenario "rotated"
    reading = read_document(path, declared_type=DocType.ID_CARD)
    assert reading.ocr_used
    assert reading.pages[0].rotation == 270
    assert reading.type is DocType.ID_CARD
    assert reading.type_confidence >= 0.9
    assert "BUNDESREPUBLIK" in reading.pages[0].text


def test_scanned_pdf_page_is_ocred_from_its_embedded_image(corpus: Path) -> None:
    path = _dev_document(corpus, "case-039", "wohnungsgeberbestaetigung.pdf")
    before = ocr.CALLS
    reading = read_document(path)
    assert ocr.CALLS > before
    assert reading.ocr_used
    assert reading.pages[0].source is TextSource.OCR
    assert reading.type is DocType.LANDLORD_CONFIRMATION


def test_scanners_invisible_text_layer_is_not_trusted(corpus: Path, tmp_path: Path) -> None:
    """A "searchable" scan carries an OCR layer of unknown quality: read the scan itself."""
    scan = Image.open(_dev_document(corpus, "case-003", "wohnungsgeberbestaetigung.jpg"))
    path = tmp_path / "searchable.pdf"
    path.write_bytes(pytesseract.image_to_pdf_or_hocr(scan, extension="pdf", lang="deu"))
    before = ocr.CALLS
    reading = read_document(path)
    assert ocr.CALLS > before
    assert reading.ocr_used
    assert reading.pages[0].source is TextSource.OCR
    assert reading.type is DocType.LANDLORD_CONFIRMATION


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("truncated.pdf", "corrupt"),
        ("encrypted.pdf", "encrypted"),
        ("corrupt.jpg", "corrupt"),
        ("bomb.png", "image_too_large"),
        ("empty.pdf", "unsupported_type"),
        ("not-a-pdf.pdf", "unsupported_type"),
        ("program.exe.pdf", "unsupported_type"),
        ("script.svg", "unsupported_type"),
    ],
)
def test_bad_inputs_give_a_reading_with_problems(corpus: Path, name: str, problem: str) -> None:
    path = corpus / "bad-inputs-dev" / name
    reading = read_document(path, declared_type=DocType.LANDLORD_CONFIRMATION, time_limit=20)
    assert problem in reading.problems
    assert reading.fields == {}
    assert reading.type_confidence == 0.0
    assert reading.seconds < 20


def test_bomb_is_refused_before_decoding(corpus: Path) -> None:
    before = ocr.CALLS
    reading = read_document(corpus / "bad-inputs-dev" / "bomb.png")
    assert "image_too_large" in reading.problems
    assert ocr.CALLS == before
    assert reading.seconds < 2


def test_time_limit_stops_before_ocr(corpus: Path) -> None:
    path = _dev_document(corpus, "case-003", "wohnungsgeberbestaetigung.jpg")
    before = ocr.CALLS
    reading = read_document(path, time_limit=0.0)
    assert "timeout" in reading.problems
    assert ocr.CALLS == before


def test_too_many_pages_reads_only_the_allowed_ones(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=595, height=842)
    path = tmp_path / "three-pages.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    reading = read_document(path, max_pages=2)
    assert "too_many_pages" in reading.problems
    assert len(reading.pages) == 2
    assert "unreadable" in reading.problems  # blank pages carry no text


def test_multi_page_tiff_reads_every_frame(corpus: Path, tmp_path: Path) -> None:
    letter = Image.open(_dev_document(corpus, "case-003", "wohnungsgeberbestaetigung.jpg"))
    top = letter.crop((0, 0, letter.width, letter.height // 3))
    path = tmp_path / "two-frames.tif"
    top.save(path, save_all=True, append_images=[top.copy()])
    reading = read_document(path)
    assert reading.media_type == "image/tiff"
    assert [page.index for page in reading.pages] == [0, 1]
    assert all("Wohnungsgebers" in page.text for page in reading.pages)


def test_media_type_comes_from_content_not_name() -> None:
    assert sniff_media_type(b"%PDF-1.7\n") == "application/pdf"
    assert sniff_media_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_media_type(b"\x89PNG\r\n\x1a\n") == "image/png"
    assert sniff_media_type(b"II*\x00") == "image/tiff"
    assert sniff_media_type(b"MZ\x90\x00") is None
    assert sniff_media_type(b"<svg xmlns=") is None
    buffer = io.BytesIO()
    Image.new("L", (10, 10)).save(buffer, format="PNG")
    assert sniff_media_type(buffer.getvalue()) == "image/png"
