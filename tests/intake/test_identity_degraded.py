"""Identity documents at every upload quality, read through the reader with real tesseract.

The documents are rendered by :mod:`tests.corpusgen.identity` for invented holders:
clean scans, flatbed scans, phone photos on a table and degraded ones (low resolution,
faded, blurred, heavy JPEG). Each must yield its six fields; a value read wrong must
never carry a confidence the decision trusts alone.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from intake.applications.documents import DocType
from intake.applications.evaluate import field_correct
from intake.reading.identity import IDENTITY_FIELDS
from intake.reading.reader import read_document
from tests.corpusgen.identity import (
    QUALITIES,
    expected_identity_fields,
    render_identity_document,
    sample_person,
)

pytestmark = pytest.mark.slow

# Still read wrong (measured 2026-12-03): the zone is found and read, but does not verify.
KNOWN_WEAK = {
    ("id_card", "back", "photo"): "marks of the card edge are taken as three cells of line 1",
    ("id_card", "one_page", "degraded"): "nationality cell of a faded 150-dpi scan read as 9",
    ("passport", None, "degraded"): "a faded scan: most of the name line read as fillers",
}


def _case(kind: str, sides: str | None, quality: str) -> object:
    reason = KNOWN_WEAK.get((kind, sides, quality))
    marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
    return pytest.param(kind, sides, quality, marks=marks)


CASES = [
    _case(kind, sides, quality)
    for kind, sides in (("id_card", "back"), ("id_card", "one_page"), ("passport", None))
    for quality in QUALITIES
]


@pytest.mark.parametrize(("kind", "sides", "quality"), CASES)
def test_every_quality_reads_the_six_fields(
    tmp_path: Path, kind: str, sides: str | None, quality: str
) -> None:
    rng = random.Random(f"degraded-{kind}-{sides}-{quality}")
    person = sample_person(rng, kind)
    expected = expected_identity_fields(person)
    files = render_identity_document(person, kind, rng, quality, sides=sides)
    declared = DocType.PASSPORT if kind == "passport" else DocType.ID_CARD
    for name, data in files:
        path = tmp_path / name
        path.write_bytes(data)
        reading = read_document(path, declared_type=declared, reference=date(2026, 10, 5))
        assert reading.type is declared, name
        if "vorderseite" not in name:  # a photo shows one side: the front has no zone
            assert reading.mrz is not None, name
            assert reading.mrz.valid, name
        for field in IDENTITY_FIELDS:
            found = reading.fields.get(field)
            assert found is not None, (name, field)
            assert field_correct(field, found.value, expected[field]), (name, field, found)
