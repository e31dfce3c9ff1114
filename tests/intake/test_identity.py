"""Identity cards and passports of the dev corpus, read with real tesseract."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from intake.applications.documents import FieldValue, MRZResult, PageText, TextSource, Word
from intake.reading import identity, ocr
from intake.reading.identity import (
    IDENTITY_FIELDS,
    MISMATCH_FIELD,
    align_name_to_mrz,
    parse_printed_date,
    read_identity,
)
from intake.reading.names import comparable

from .conftest import corpus_dir

DEV = corpus_dir() / "anmeldung-dev"

pytestmark = pytest.mark.slow

Reading = tuple[dict[str, FieldValue], MRZResult | None]


def ocr_page(path: Path) -> tuple[PageText, Image.Image]:
    """The full-page OCR the reader hands over (the corpus pages used here stand upright)."""
    image = ImageOps.grayscale(Image.open(path))
    return ocr.run_tesseract(image, lang="deu", psm=3), image


def read(case: str, file: str) -> Reading:
    page, image = ocr_page(DEV / case / "documents" / file)
    return read_identity([page], [image], reference=date(2026, 10, 1))


def truth(case: str, file: str) -> dict[str, str]:
    expected = json.loads((DEV / case / "expected.json").read_text(encoding="utf-8"))
    fields: dict[str, str] = expected["documents"][f"documents/{file}"]["fields"]
    return fields


def assert_fields_equal(fields: dict[str, FieldValue], expected: dict[str, str]) -> None:
    for name in IDENTITY_FIELDS:
        assert name in fields, name
        got = fields[name].value
        assert isinstance(got, str)
        if name in ("surname", "given_names"):
            assert comparable(got) == comparable(expected[name]), name
        else:
            assert got == expected[name], name


@pytest.fixture(scope="module")
def clean_card() -> Reading:
    return read("case-003", "personalausweis_1.jpg")


@pytest.fixture(scope="module")
def front() -> Reading:
    return read("case-019", "ausweis_vorderseite_1.jpg")


@pytest.fixture(scope="module")
def back() -> Reading:
    return read("case-019", "ausweis_rueckseite_1.jpg")


@pytest.fixture(scope="module")
def passport() -> Reading:
    return read("case-020", "reisepass_1.jpg")


@pytest.fixture(scope="module")
def tampered() -> Reading:
    return read("case-040", "personalausweis_1.jpg")


def test_clean_card_yields_all_fields_confirmed_by_both_zones(clean_card: Reading) -> None:
    fields, mrz = clean_card
    assert mrz is not None
    assert mrz.format == "TD1"
    assert mrz.valid
    assert_fields_equal(fields, truth("case-003", "personalausweis_1.jpg"))
    assert fields["surname"].value == "BÖHM"  # as printed, with the umlaut
    assert all(fields[name].confidence >= 0.9 for name in IDENTITY_FIELDS)
    assert MISMATCH_FIELD not in fields
    assert fields["birth_date"].page == 0
    assert fields["birth_date"].box is not None


def test_front_alone_yields_all_six_fields_from_the_visual_zone(front: Reading) -> None:
    fields, mrz = front
    assert mrz is None
    assert_fields_equal(fields, truth("case-019", "ausweis_vorderseite_1.jpg"))
    assert all(0.5 <= fields[name].confidence < 0.95 for name in IDENTITY_FIELDS)


def test_back_alone_yields_all_six_fields_from_the_mrz(back: Reading) -> None:
    fields, mrz = back
    assert mrz is not None
    assert mrz.valid
    assert_fields_equal(fields, truth("case-019", "ausweis_rueckseite_1.jpg"))
    # Names read from the MRZ alone are transliterated and unchecked: trusted less.
    assert fields["surname"].confidence < 0.9
    assert fields["given_names"].confidence < 0.9
    assert fields["birth_date"].confidence >= 0.9


def test_foreign_passport_reads_its_td3_zone(passport: Reading) -> None:
    fields, mrz = passport
    assert mrz is not None
    assert mrz.format == "TD3"
    assert mrz.valid
    assert_fields_equal(fields, truth("case-020", "reisepass_1.jpg"))
    assert fields["nationality"].value == "ITA"


def test_tampered_mrz_is_invalid_and_the_disagreement_is_reported(tampered: Reading) -> None:
    fields, mrz = tampered
    assert mrz is not None
    assert not mrz.valid
    assert not mrz.checks["birth_date"]
    assert fields["birth_date"].value == "1947-06-28"  # what the card prints
    assert fields["birth_date"].confidence < 0.5
    mismatch = fields[MISMATCH_FIELD]
    assert "birth_date" in mismatch.value
    assert mismatch.confidence == 1.0
    # Names are confirmed by nothing a check digit covers: not trusted on their own.
    assert fields["surname"].confidence < 0.9
    assert fields["given_names"].confidence < 0.9


def test_unreadable_card_invents_nothing() -> None:
    fields, _ = read("case-010", "personalausweis_1.jpg")
    assert all(f.confidence < 0.5 for name, f in fields.items() if name in IDENTITY_FIELDS)


def test_mrz_reading_calls_tesseract_only_through_the_ocr_module() -> None:
    page, image = ocr_page(DEV / "case-012" / "documents" / "reisepass_1.jpg")
    before = ocr.CALLS
    fields, mrz = read_identity([page], [image], reference=date(2026, 10, 1))
    # One reading of the cut-out zone, nothing else: it verifies completely.
    assert ocr.CALLS - before == 1
    assert mrz is not None
    assert mrz.valid
    assert fields["surname"].value == "GONZALEZ"  # OCR of the page lost the accent


def test_a_zone_the_first_reading_does_not_verify_is_read_again() -> None:
    # The first reading of this passport's zone fails a check digit.
    page, image = ocr_page(DEV / "case-020" / "documents" / "reisepass_1.jpg")
    cells = identity.segment_mrz(*_zone_crop(page, image))
    assert cells is not None
    votes = identity._CellVotes(cells)
    identity.read_mrz_cells(cells, votes, identity._MRZ_STAGES[0])
    first = identity._decide_mrz(cells, votes, "TD3", date(2026, 10, 1))
    assert first is None or not identity._verified(first, 1)

    before = ocr.CALLS
    fields, mrz = read_identity([page], [image], reference=date(2026, 10, 1))
    assert ocr.CALLS - before >= 2
    assert mrz is not None
    assert mrz.valid


def _zone_crop(page: PageText, image: Image.Image) -> tuple[Image.Image, float]:
    rows = identity._mrz_rows(identity.visual_rows(page))
    box, height = identity._crop_box(rows, image)
    return image.crop(box), height


def test_text_layer_mrz_needs_no_ocr() -> None:
    lines = ["IDD<<LK302R6G58<<<<<<<<<<<<<<<", "4003021<3607226D<<<<<<<<<<<<<0", "KOEHLER<<JOERG"]
    words = [
        Word(text, 1.0, (100, 100 + 50 * i, 1000, 140 + 50 * i), i) for i, text in enumerate(lines)
    ]
    page = PageText(0, 2480, 3508, TextSource.PDF_TEXT, "\n".join(lines), words)
    before = ocr.CALLS
    fields, mrz = read_identity([page], [], reference=date(2026, 10, 1))
    assert ocr.CALLS == before
    assert mrz is not None
    assert mrz.valid
    assert fields["document_number"].value == "LK302R6G5"
    assert fields["birth_date"].value == "1940-03-02"


def test_printed_names_are_aligned_with_the_mrz() -> None:
    assert align_name_to_mrz("JORG", "JOERG") == "JÖRG"  # OCR lost the umlaut dots
    assert align_name_to_mrz("LENAERIKA", "LENA<ERIKA") == "LENA ERIKA"
    assert align_name_to_mrz("GONZÁLEZ", "GONZALEZ") == "GONZÁLEZ"
    assert align_name_to_mrz("ANNA-KATHARINA LUISE", "ANNA<KATH", truncated=True) == (
        "ANNA-KATHARINA LUISE"
    )
    assert align_name_to_mrz("MILLER", "MUELLER") is None


def test_printed_dates() -> None:
    assert parse_printed_date("17.02.1974") == date(1974, 2, 17)
    assert parse_printed_date("05 SEP 1997") == date(1997, 9, 5)
    assert parse_printed_date("24 OKT 2031") == date(2031, 10, 24)
    assert parse_printed_date("31.02.2000") is None
    assert parse_printed_date("12 MAI/MAY 1984") == date(1984, 5, 12)
    assert parse_printed_date("01 MÄR/MAR 1972") == date(1972, 3, 1)
    assert parse_printed_date("03 DEZ / DEC 2035") == date(2035, 12, 3)


def test_card_read_upside_down_is_turned() -> None:
    path = DEV / "case-014" / "documents" / "personalausweis_1.jpg"
    flipped = ImageOps.grayscale(Image.open(path)).rotate(180)
    page = ocr.run_tesseract(flipped, lang="deu", psm=3)  # the MRZ fillers come out as ">"
    fields, mrz = read_identity([page], [flipped], reference=date(2026, 10, 1))
    assert mrz is not None
    assert mrz.valid
    assert_fields_equal(fields, truth("case-014", "personalausweis_1.jpg"))


def test_nothing_to_read_gives_nothing() -> None:
    blank = Image.new("L", (800, 600), 255)
    page = PageText(0, 800, 600, TextSource.OCR, "", [])
    assert read_identity([], []) == ({}, None)
    assert read_identity([page], [blank]) == ({}, None)


def test_glyph_distance_is_zero_for_a_small_shift_and_one_for_disjoint_ink() -> None:
    from intake.reading.identity import Glyph
    from intake.reading.identity import _glyph_distance as distance

    def _glyph_distance(a: np.ndarray, b: np.ndarray) -> float:
        return distance(Glyph.of(a), Glyph.of(b))

    canvas = np.full((20, 16), 255, dtype=np.int16)
    bar = canvas.copy()
    bar[4:16, 6:9] = 0
    shifted = np.roll(bar, (2, -2), axis=(0, 1))
    apart = canvas.copy()
    apart[2:4, 0:3] = 0
    half = bar.copy()
    half[4:10, 6:9] = 255
    assert _glyph_distance(bar, bar) == 0.0
    assert _glyph_distance(bar, shifted) == 0.0  # within the ±2 px the comparison allows
    assert _glyph_distance(bar, apart) == 1.0
    assert _glyph_distance(bar, half) == pytest.approx(18 / 54)
