"""The Anmeldung rules, one reason at a time, on readings built in the test.

The readings stand in for what the reading pipeline produces, so each rule is judged
on exactly the data it is given; the end-to-end path is covered by test_evaluate.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from intake.applications.documents import DocType, DocumentReading, FieldValue, MRZResult
from intake.services import get_service
from intake.services.decision import Decision, decide

SUBMITTED = "2026-10-05T10:12:00+02:00"


def application(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "service": "anmeldung",
        "submitted_at": SUBMITTED,
        "persons": [
            {
                "surname": "Müller",
                "given_names": "Anna Lena",
                "birth_date": "1990-07-16",
                "birth_place": "Berlin",
                "nationality": "D",
                "id_document_type": "id_card",
                "id_document_number": "LCPG9056C",
            }
        ],
        "move_in_date": "2026-10-01",
        "new_address": {
            "street": "Lister Meile",
            "house_number": "45",
            "address_suffix": "2. OG links",
            "postal_code": "30161",
            "city": "Hannover",
        },
        "previous_address": {"street": "Gartenweg 3", "postal_code": "10115", "city": "Berlin"},
        "residence_type": "main",
        "documents": [
            {"file": "documents/ausweis.jpg", "declared_type": "id_card"},
            {"file": "documents/wgb.pdf", "declared_type": "landlord_confirmation"},
        ],
    }
    base.update(changes)
    return base


def fields(values: dict[str, Any], confidence: float = 0.98) -> dict[str, FieldValue]:
    return {name: FieldValue(value, confidence) for name, value in values.items()}


def valid_mrz(valid: bool = True) -> MRZResult:
    checks = {"document_number": True, "birth_date": True, "expiry_date": True}
    checks["composite"] = valid
    return MRZResult(format="TD1", lines=["IDD<<..."], checks=checks, fields={})


def id_reading(
    file: str = "documents/ausweis.jpg",
    *,
    confidence: float = 0.98,
    mrz: MRZResult | None = None,
    doc_type: DocType = DocType.ID_CARD,
    **values: Any,
) -> DocumentReading:
    data = {
        "surname": "MÜLLER",
        "given_names": "ANNA LENA",
        "birth_date": "1990-07-16",
        "document_number": "LCPG9056C",
        "expiry_date": "2031-08-01",
        "nationality": "D",
    }
    data.update(values)
    return DocumentReading(
        file=file,
        media_type="image/jpeg",
        type=doc_type,
        type_confidence=0.95,
        fields=fields(data, confidence),
        mrz=mrz if mrz is not None else valid_mrz(),
    )


def landlord_reading(
    file: str = "documents/wgb.pdf", *, confidence: float = 0.98, **values: Any
) -> DocumentReading:
    data = {
        "landlord_name": "hanova WOHNEN GmbH",
        "move_in_date": "2026-10-01",
        "street": "Lister Meile",
        "house_number": "45",
        "postal_code": "30161",
        "city": "Hannover",
        "residents": ["Anna Lena Müller"],
    }
    data.update(values)
    return DocumentReading(
        file=file,
        media_type="application/pdf",
        type=DocType.LANDLORD_CONFIRMATION,
        type_confidence=0.95,
        fields=fields(data, confidence),
    )


def judge(app: dict[str, Any], *readings: DocumentReading) -> Decision:
    return decide(app, list(readings))


def test_clean_application_is_decided_automatically() -> None:
    result = judge(application(), id_reading(), landlord_reading())
    assert result.decision == "auto"
    assert result.reasons == []
    assert result.findings == []


def test_registry_returns_the_definition() -> None:
    service = get_service("anmeldung")
    assert service.deadline_days == 14
    assert [f.name for f in service.form_fields][:2] == ["persons", "move_in_date"]
    assert all(f.label_de and f.label_en for f in service.form_fields)
    with pytest.raises(KeyError):
        get_service("hundesteuer")


# --- documents --------------------------------------------------------------------------


def test_missing_landlord_confirmation() -> None:
    app = application(documents=[{"file": "documents/ausweis.jpg", "declared_type": "id_card"}])
    result = judge(app, id_reading())
    assert result.reasons == ["MISSING_DOCUMENT"]
    assert "Wohnungsgeberbestätigung" in result.findings[0].message_de


def test_missing_identity_document_for_second_person() -> None:
    app = application()
    second = dict(app["persons"][0], given_names="Paul", birth_date="1988-01-02",
                  id_document_number="T22000129")  # fmt: skip
    app["persons"].append(second)
    result = judge(
        app, id_reading(), landlord_reading(residents=["Anna Lena Müller", "Paul Müller"])
    )
    assert result.reasons == ["MISSING_DOCUMENT"]
    assert result.findings[0].person == 1


def test_landlord_slot_holding_other_document_is_wrong_type_and_missing() -> None:
    other = DocumentReading(
        file="documents/wgb.pdf", media_type="image/jpeg", type=DocType.OTHER,
        type_confidence=0.9,
    )  # fmt: skip
    result = judge(application(), id_reading(), other)
    assert result.reasons == ["WRONG_DOCUMENT_TYPE", "MISSING_DOCUMENT"]


def test_passport_in_id_card_slot_is_accepted() -> None:
    passport = id_reading(doc_type=DocType.PASSPORT)
    result = judge(application(), passport, landlord_reading())
    assert result.decision == "auto"


def test_id_card_in_landlord_slot_is_wrong_type() -> None:
    app = application(
        documents=[
            {"file": "documents/ausweis.jpg", "declared_type": "id_card"},
            {"file": "documents/ausweis2.jpg", "declared_type": "landlord_confirmation"},
        ]
    )
    result = judge(app, id_reading(), id_reading("documents/ausweis2.jpg"))
    assert "WRONG_DOCUMENT_TYPE" in result.reasons
    assert "MISSING_DOCUMENT" in result.reasons


def test_document_with_problems_is_unreadable() -> None:
    broken = DocumentReading(
        file="documents/wgb.pdf", media_type="application/pdf", type=DocType.OTHER,
        type_confidence=0.0, problems=["encrypted"],
    )  # fmt: skip
    result = judge(application(), id_reading(), broken)
    assert result.reasons == ["UNREADABLE_DOCUMENT"]
    assert "encrypted" in result.findings[0].message_de


def test_upload_without_reading_is_unreadable() -> None:
    result = judge(application(), id_reading())
    assert result.reasons == ["UNREADABLE_DOCUMENT"]


# --- identity ---------------------------------------------------------------------------


def test_invalid_mrz() -> None:
    result = judge(application(), id_reading(mrz=valid_mrz(False)), landlord_reading())
    assert result.reasons == ["MRZ_INVALID"]
    assert result.findings[0].details["failed_checks"] == ["composite"]


def test_identity_document_without_mrz_is_not_trusted() -> None:
    no_mrz = id_reading()
    no_mrz.mrz = None
    result = judge(application(), no_mrz, landlord_reading())
    assert result.reasons == ["UNREADABLE_DOCUMENT"]


def test_visual_zone_disagreeing_with_mrz_goes_to_review() -> None:
    reading = id_reading()
    reading.fields["mrz_viz_mismatch"] = FieldValue(["birth_date"], 1.0)
    result = judge(application(), reading, landlord_reading())
    assert result.reasons == ["UNREADABLE_DOCUMENT"]


def test_expiry_judged_on_the_submission_date() -> None:
    expired = judge(application(), id_reading(expiry_date="2026-10-04"), landlord_reading())
    last_day = judge(application(), id_reading(expiry_date="2026-10-05"), landlord_reading())
    assert expired.reasons == ["ID_EXPIRED"]
    assert last_day.decision == "auto"


def test_name_mismatch_but_transliteration_is_equal() -> None:
    typo = application()
    typo["persons"][0]["surname"] = "Müllner"
    transliterated = id_reading(surname="MUELLER")
    result = judge(typo, id_reading(), landlord_reading())
    assert "NAME_MISMATCH" in result.reasons
    assert result.decision == "review"
    assert judge(application(), transliterated, landlord_reading()).decision == "auto"


def test_birth_date_mismatch() -> None:
    result = judge(application(), id_reading(birth_date="1991-07-16"), landlord_reading())
    assert result.reasons == ["BIRTH_DATE_MISMATCH"]
    finding = result.findings[0]
    assert finding.details["form_value"] == "1990-07-16"
    assert finding.details["document_value"] == "1991-07-16"


def test_document_number_mismatch() -> None:
    result = judge(application(), id_reading(document_number="LCPG9056D"), landlord_reading())
    assert result.reasons == ["DOCUMENT_NUMBER_MISMATCH"]


def test_persons_are_matched_to_documents_by_content_not_order() -> None:
    app = application()
    paul = dict(app["persons"][0], given_names="Paul", birth_date="1988-01-02",
                id_document_number="T22000129")  # fmt: skip
    app["persons"].append(paul)
    app["documents"].insert(1, {"file": "documents/ausweis2.jpg", "declared_type": "id_card"})
    paul_id = id_reading(given_names="PAUL", birth_date="1988-01-02", document_number="T22000129")
    anna_id = id_reading("documents/ausweis2.jpg")
    residents = ["Anna Lena Müller", "Paul Müller"]
    result = judge(app, paul_id, anna_id, landlord_reading(residents=residents))
    assert result.decision == "auto", result.reasons


def test_front_and_back_of_an_id_card_belong_to_one_person() -> None:
    app = application()
    app["documents"].insert(1, {"file": "documents/rueckseite.jpg", "declared_type": "id_card"})
    front = id_reading(confidence=0.7)  # visual zone only, read less surely
    front.mrz = None
    back = id_reading("documents/rueckseite.jpg", surname="MUELLER")
    assert judge(app, front, back, landlord_reading()).decision == "auto"


def test_an_identity_document_that_matches_no_person_goes_to_a_clerk() -> None:
    """A back whose zone was illegible gave only a wrong number: it belongs to nobody, and
    the front alone must not carry the case."""
    app = application()
    app["documents"].insert(1, {"file": "documents/rueckseite.jpg", "declared_type": "id_card"})
    front = id_reading()
    back = id_reading("documents/rueckseite.jpg", confidence=0.6, document_number="4N5CHR1FT")
    for name in ("surname", "given_names", "birth_date", "expiry_date", "nationality"):
        del back.fields[name]
    back.mrz = None
    result = judge(app, front, back, landlord_reading())
    assert result.decision == "review"
    assert [(f.code, f.document) for f in result.findings] == [
        ("UNREADABLE_DOCUMENT", "documents/rueckseite.jpg")
    ]


# --- confidence -------------------------------------------------------------------------


def test_uncertain_field_that_agrees_with_the_form_is_trusted() -> None:
    reading = id_reading(confidence=0.7)
    reading.fields["expiry_date"].confidence = 0.98  # nothing on the form to agree with
    assert judge(application(), reading, landlord_reading()).decision == "auto"


def test_uncertain_field_without_a_second_source_is_unreadable() -> None:
    reading = id_reading()
    reading.fields["expiry_date"].confidence = 0.7
    result = judge(application(), reading, landlord_reading())
    assert result.reasons == ["UNREADABLE_DOCUMENT"]
    assert result.findings[0].field == "expiry_date"


def test_very_uncertain_field_is_unreadable_even_if_it_agrees() -> None:
    result = judge(application(), id_reading(confidence=0.2), landlord_reading())
    assert result.reasons == ["UNREADABLE_DOCUMENT"]


def test_uncertain_field_that_differs_reports_both() -> None:
    reading = id_reading()
    reading.fields["birth_date"] = FieldValue("1990-07-18", 0.6)
    result = judge(application(), reading, landlord_reading())
    assert result.reasons == ["UNREADABLE_DOCUMENT", "BIRTH_DATE_MISMATCH"]
    assert result.findings[1].details["uncertain"] is True
    assert "Möglicherweise" in result.findings[1].message_de


def test_landlord_name_must_be_read_surely() -> None:
    reading = landlord_reading()
    reading.fields["landlord_name"] = FieldValue("hanova WOHNEN GmbH", 0.6)
    result = judge(application(), id_reading(), reading)
    assert result.reasons == ["UNREADABLE_DOCUMENT"]
    assert result.findings[0].field == "landlord_name"


def test_missing_field_is_unreadable() -> None:
    reading = id_reading()
    del reading.fields["document_number"]
    result = judge(application(), reading, landlord_reading())
    assert result.reasons[0] == "UNREADABLE_DOCUMENT"


# --- landlord confirmation ------------------------------------------------------------------


def test_address_mismatch_on_house_number() -> None:
    result = judge(application(), id_reading(), landlord_reading(house_number="54"))
    assert result.reasons == ["ADDRESS_MISMATCH"]
    assert result.findings[0].field == "house_number"


def test_street_abbreviations_are_equal() -> None:
    app = application()
    app["new_address"]["street"] = "Hildesheimer Straße"
    app["new_address"]["house_number"] = "135b"
    reading = landlord_reading(street="Hildesheimer Str.", house_number="135 B")
    assert judge(app, id_reading(), reading).decision == "auto"


def test_move_in_date_mismatch() -> None:
    result = judge(application(), id_reading(), landlord_reading(move_in_date="2026-09-28"))
    assert result.reasons == ["MOVE_IN_DATE_MISMATCH"]


def test_person_not_listed() -> None:
    result = judge(application(), id_reading(), landlord_reading(residents=["Anna Köhler"]))
    assert result.reasons == ["PERSON_NOT_LISTED"]


def test_resident_listed_surname_first_counts() -> None:
    reading = landlord_reading(residents=["Müller, Anna Lena"])
    assert judge(application(), id_reading(), reading).decision == "auto"


def test_name_misspelt_on_form_is_a_name_mismatch_not_an_unlisted_person() -> None:
    app = application()
    app["persons"][0]["surname"] = "Müllner"
    result = judge(app, id_reading(), landlord_reading())
    assert result.reasons == ["NAME_MISMATCH"]


# --- dates and place ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("move_in", "reasons"),
    [
        ("2026-09-21", []),  # 14 days: on time
        ("2026-09-20", ["LATE_REGISTRATION"]),  # 15 days
        ("2026-10-05", []),  # the same day
        ("2026-10-06", ["FUTURE_MOVE_IN"]),
    ],
)
def test_deadline(move_in: str, reasons: list[str]) -> None:
    app = application(move_in_date=move_in)
    result = judge(app, id_reading(), landlord_reading(move_in_date=move_in))
    assert result.reasons == reasons


@pytest.mark.parametrize(
    ("postal_code", "city", "inside"),
    [
        ("30161", "Hannover", True),
        ("30659", "Hannover", True),
        ("10119", "Berlin", False),
        ("30851", "Hannover", False),  # Langenhagen, Region Hannover
        ("30880", "Laatzen", False),
        ("30161", "Langenhagen", False),
    ],
)
def test_outside_city(postal_code: str, city: str, inside: bool) -> None:
    app = application()
    app["new_address"].update(postal_code=postal_code, city=city)
    result = judge(app, id_reading(), landlord_reading(postal_code=postal_code, city=city))
    assert ("OUTSIDE_CITY" not in result.reasons) is inside
    assert result.decision == ("auto" if inside else "review")


def test_rules_do_not_change_the_application() -> None:
    app = application()
    before = copy.deepcopy(app)
    judge(app, id_reading(), landlord_reading())
    assert app == before


def test_implausibly_spelt_landlord_name_is_unreadable_even_if_confident() -> None:
    reading = landlord_reading(landlord_name="Gerda wWilkens")
    result = judge(application(), id_reading(), reading)
    assert result.reasons == ["UNREADABLE_DOCUMENT"]
    assert result.findings[0].details["implausible"] is True
    legal_form = landlord_reading(landlord_name="Spar- und Bauverein eG")
    assert judge(application(), id_reading(), legal_form).decision == "auto"
