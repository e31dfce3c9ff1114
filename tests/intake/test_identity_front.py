"""ID cards uploaded as the front alone, and zones whose check digits are wrong.

Documents are rendered by :mod:`tests.corpusgen.identity` (never seen by the reader's
development) and read through the whole reader with real tesseract; decisions are made
by the Anmeldung rules over those readings.
"""

from __future__ import annotations

import copy
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from intake.applications.documents import PRINTED_NUMBER, DocType, DocumentReading, FieldValue
from intake.reading.identity import CONF_PRINTED_NUMBER
from intake.reading.reader import read_document
from intake.services.decision import Decision, decide
from tests.corpusgen.identity import (
    check_digit,
    render_identity_document,
    td1_lines,
)

pytestmark = pytest.mark.slow

SUBMITTED = "2026-10-05T10:12:00+02:00"

HOLDER: dict[str, Any] = {
    "surname": "Köhler",
    "given_names": "Maren Sophie",
    "birth_date": "1984-03-17",
    "birth_place": "Lüneburg",
    "nationality": "D",
    "sex": "F",
    "document_number": "LZ6T3KPR8",
    "expiry_date": "2033-06-11",
}


def render(tmp_path: Path, person: dict[str, Any], quality: str, sides: str, seed: int) -> Path:
    files = render_identity_document(person, "id_card", random.Random(seed), quality, sides=sides)
    assert len(files) == 1
    name, data = files[0]
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read(path: Path) -> DocumentReading:
    return read_document(path, declared_type=DocType.ID_CARD, reference=date(2026, 10, 5))


@pytest.fixture(scope="module")
def front_photo(tmp_path_factory: pytest.TempPathFactory) -> DocumentReading:
    return read(render(tmp_path_factory.mktemp("front"), HOLDER, "photo", "front", seed=5))


def application(number: str) -> dict[str, Any]:
    return {
        "service": "anmeldung",
        "submitted_at": SUBMITTED,
        "persons": [
            {
                "surname": HOLDER["surname"],
                "given_names": HOLDER["given_names"],
                "birth_date": HOLDER["birth_date"],
                "birth_place": HOLDER["birth_place"],
                "nationality": "D",
                "id_document_type": "id_card",
                "id_document_number": number,
            }
        ],
        "move_in_date": "2026-10-01",
        "new_address": {
            "street": "Lister Meile",
            "house_number": "45",
            "postal_code": "30161",
            "city": "Hannover",
        },  # fmt: skip
        "previous_address": {"street": "Gartenweg 3", "postal_code": "10115", "city": "Berlin"},
        "residence_type": "main",
        "documents": [
            {"file": "ausweis_vorderseite_1.jpg", "declared_type": "id_card"},
            {"file": "wgb.pdf", "declared_type": "landlord_confirmation"},
        ],
    }


def landlord() -> DocumentReading:
    values = {
        "landlord_name": "Leinetal Wohnbau GmbH",
        "move_in_date": "2026-10-01",
        "street": "Lister Meile",
        "house_number": "45",
        "postal_code": "30161",
        "city": "Hannover",
        "residents": ["Maren Sophie Köhler"],
    }
    return DocumentReading(
        file="wgb.pdf",
        media_type="application/pdf",
        type=DocType.LANDLORD_CONFIRMATION,
        type_confidence=0.95,
        fields={name: FieldValue(value, 0.98) for name, value in values.items()},
    )


def judge(reading: DocumentReading, number: str) -> Decision:
    return decide(application(number), [reading, landlord()])


def test_front_only_photo_yields_its_document_number(front_photo: DocumentReading) -> None:
    assert front_photo.type is DocType.ID_CARD
    assert front_photo.mrz is None  # the front has no machine-readable zone
    number = front_photo.fields["document_number"]
    assert number.value == HOLDER["document_number"]
    # No check digit covers the printed number: never trusted on its own (>= 0.9).
    assert number.source == PRINTED_NUMBER
    assert 0.5 <= number.confidence <= CONF_PRINTED_NUMBER


def test_front_only_is_automated_only_when_the_form_has_the_same_number(
    front_photo: DocumentReading,
) -> None:
    reading = copy.deepcopy(front_photo)
    reading.file = "ausweis_vorderseite_1.jpg"
    assert judge(reading, HOLDER["document_number"]).decision == "auto"
    # The citizen typed another number that the card alphabet allows (6 for G would be
    # a look-alike; here two characters are swapped): the front cannot settle it.
    typed = HOLDER["document_number"][:7] + HOLDER["document_number"][8] + "R"
    result = judge(reading, typed)
    assert result.decision == "review"
    assert "DOCUMENT_NUMBER_MISMATCH" in result.reasons
    assert "UNREADABLE_DOCUMENT" in result.reasons  # nor is there a zone to ask


def test_front_number_read_without_corroboration_goes_to_review(
    front_photo: DocumentReading,
) -> None:
    reading = copy.deepcopy(front_photo)
    reading.file = "ausweis_vorderseite_1.jpg"
    reading.fields["document_number"] = FieldValue(
        "LZ6T3KPR8", 0.98, "ocr", 0, reading.fields["document_number"].box
    )
    # The same value, but not as a printed number the reader vouches for: the rule
    # that a document without a zone is not trusted still holds.
    assert judge(reading, HOLDER["document_number"]).decision == "review"


def tampered(person: dict[str, Any], what: str) -> dict[str, Any]:
    """The holder's card with a zone whose check digits no longer fit."""
    lines = td1_lines(person)
    if what == "check_digit":  # the number's own check digit changed
        digit = str((int(lines[0][14]) + 3) % 10)
        lines[0] = lines[0][:14] + digit + lines[0][15:]
    else:  # a character of the number changed, its check digit kept
        number = person["document_number"]
        changed = number[:4] + ("7" if number[4] != "7" else "9") + number[5:]
        assert check_digit(changed) != check_digit(number)
        lines[0] = lines[0][:5] + changed + lines[0][14:]
    return {**person, "mrz_lines": lines}


@pytest.mark.parametrize("what", ["check_digit", "number"])
def test_a_wrong_check_digit_is_never_trusted(tmp_path: Path, what: str) -> None:
    path = render(tmp_path, tampered(HOLDER, what), "scan", "back", seed=11)
    reading = read(path)
    assert reading.mrz is not None
    assert not reading.mrz.valid
    assert not reading.mrz.checks["document_number"]
    number = reading.fields["document_number"]
    assert number.confidence < 0.5  # below what even a matching form could lift
    reading.file = "ausweis_vorderseite_1.jpg"
    result = judge(reading, HOLDER["document_number"])
    assert result.decision == "review"
    assert "MRZ_INVALID" in result.reasons
