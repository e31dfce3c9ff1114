"""Landlord-confirmation fields: dev-corpus layouts end to end, other wordings from text."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from intake.applications.documents import DocType, PageText, TextSource, Word
from intake.reading import ocr
from intake.reading.landlord import (
    extract_landlord,
    move_direction_in_text,
    parse_address,
    parse_date,
    ticked_move,
)
from intake.reading.reader import read_document


def _norm(value: object) -> object:
    """The corpus comparison: case, accents and ß/ä transliteration do not matter."""
    if isinstance(value, list):
        return sorted(str(_norm(v)) for v in value)
    text = str(value).upper().replace("ß", "SS")
    for umlaut, spelled in (("Ä", "AE"), ("Ö", "OE"), ("Ü", "UE")):
        text = text.replace(umlaut, spelled)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.replace("STRASSE", "STR").replace("STR.", "STR")


# One document of each layout: table scan, letter scan, scanned PDF letter,
# born-digital PDF, fillable PDF with two residents.
@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("case-002", "wohnungsgeberbestaetigung.jpg"),
        ("case-003", "wohnungsgeberbestaetigung.jpg"),
        ("case-030", "wohnungsgeberbestaetigung.pdf"),
        ("case-001", "wohnungsgeberbestaetigung.pdf"),
        ("case-011", "wohnungsgeberbestaetigung.pdf"),
    ],
    ids=["table", "letter", "letter-long-names", "textpdf", "acroform-family"],
)
def test_dev_layouts_match_expected_fields(corpus: Path, case: str, name: str) -> None:
    expected_doc = json.loads((corpus / "anmeldung-dev" / case / "expected.json").read_text())
    expected = expected_doc["documents"][f"documents/{name}"]["fields"]

    reading = read_document(corpus / "anmeldung-dev" / case / "documents" / name)

    assert reading.type is DocType.LANDLORD_CONFIRMATION
    for field_name, want in expected.items():
        got = reading.fields[field_name]
        assert _norm(got.value) == _norm(want), field_name
        assert got.page == 0
        assert got.box is not None, field_name


def _page(lines: list[str | list[tuple[str, float]]]) -> PageText:
    """A page of OCR words; plain strings are read with confidence 0.95."""
    words: list[Word] = []
    for number, line in enumerate(lines):
        tokens = [(t, 0.95) for t in line.split()] if isinstance(line, str) else line
        x = 100
        for text, confidence in tokens:
            words.append(
                Word(
                    text,
                    confidence,
                    (x, 100 + 50 * number, x + 20 * len(text), 140 + 50 * number),
                    number,
                )
            )
            x += 20 * len(text) + 20
    text = "\n".join(" ".join(w.text for w in words if w.line == n) for n in range(len(lines)))
    return PageText(0, 2480, 3508, TextSource.OCR, text, words)


def test_letter_with_other_wording_and_two_residents() -> None:
    page = _page(
        [
            "Wohnbau Nord GmbH · Vahrenwalder Straße 7 · 30165 Hannover",
            "Vermieterbescheinigung",
            "Sehr geehrte Damen und Herren,",
            "wir bestätigen als Wohnungsgeber, dass Herr Tom Becker und Frau Lea Becker",
            "zum 1. Oktober 2026 die Wohnung in der Lister Meile 45, 2. OG,",
            "30161 Hannover bezogen haben.",
            "Mit freundlichen Grüßen",
            "Wohnbau Nord GmbH",
        ]
    )
    fields = extract_landlord([page], {})
    values = {name: field.value for name, field in fields.items()}
    assert values["landlord_name"] == "Wohnbau Nord GmbH"
    assert values["move_in_date"] == "2026-10-01"
    assert (values["street"], values["house_number"]) == ("Lister Meile", "45")
    assert (values["postal_code"], values["city"]) == ("30161", "Hannover")
    assert values["residents"] == ["Tom Becker", "Lea Becker"]


def test_form_with_labels_and_values_on_the_same_line() -> None:
    page = _page(
        [
            "Bestätigung des Wohnungsgebers (§ 19 BMG)",
            "Vermieter: Hausverwaltung Krause KG, Am Markt 2, 30159 Hannover",
            "Lage der Wohnung: Podbielskistr. 12 a",
            "PLZ, Ort: 30177 Hannover",
            "Einzug am: 15.09.26",
            "Mieter/in: Yılmaz, Ayşe",
        ]
    )
    fields = extract_landlord([page], {})
    values = {name: field.value for name, field in fields.items()}
    assert values["landlord_name"] == "Hausverwaltung Krause KG"
    assert (values["street"], values["house_number"]) == ("Podbielskistr.", "12a")
    assert (values["postal_code"], values["city"]) == ("30177", "Hannover")
    assert values["move_in_date"] == "2026-09-15"
    assert values["residents"] == ["Ayşe Yılmaz"]


def test_form_with_separate_address_fields_and_a_residents_table() -> None:
    page = _page(
        [
            "Wohnungsgeberbestätigung nach § 19 BMG",
            "Name/Firma des Wohnungsgebers: Immobilien Vogt GmbH & Co. KG",
            "Angaben zur Wohnung",
            "Straße: Lister Meile Hausnummer: 45",
            "PLZ: 30161 Ort: Hannover",
            "Einzugsdatum: 01.10.2026",
            "Folgende Personen sind eingezogen:",
            "Name Vorname Geburtsdatum",
            "Becker Tom 01.02.1990",
            "Becker Lea 02.03.1991",
        ]
    )
    values = {name: field.value for name, field in extract_landlord([page], {}).items()}
    assert values == {
        "landlord_name": "Immobilien Vogt GmbH & Co. KG",
        "move_in_date": "2026-10-01",
        "street": "Lister Meile",
        "house_number": "45",
        "postal_code": "30161",
        "city": "Hannover",
        "residents": ["Tom Becker", "Lea Becker"],
    }


def test_landlord_address_is_not_taken_for_the_flat() -> None:
    page = _page(
        [
            "Wohnungsgeberbestätigung",
            "Angaben zum Wohnungsgeber",
            "Name: Erika Sommer",
            "Straße, Hausnummer: Gartenweg 3",
            "PLZ, Ort: 30159 Hannover",
            "Angaben zur Wohnung",
            "Straße, Hausnummer: Celler Straße 41",
            "PLZ, Ort: 30161 Hannover",
            "Datum des Einzugs: 01.10.2026",
        ]
    )
    values = {name: field.value for name, field in extract_landlord([page], {}).items()}
    assert (values["street"], values["house_number"], values["postal_code"]) == (
        "Celler Straße",
        "41",
        "30161",
    )


def test_fillable_form_fields_are_matched_by_meaning() -> None:
    acroform = {
        "Vermieter_Name": "Frank Osterloh",
        "Einzugsdatum": "01.10.2026",
        "Strasse_Nr": "Lister Meile 45",
        "PLZ": "30161",
        "Ort": "Hannover",
        "Ort_Datum": "Hannover, 02.10.2026",
        "Mieter1": "Müller, Anna Lena",
        "Eigentuemer": "ja",
    }
    fields = extract_landlord([], acroform)
    values = {name: field.value for name, field in fields.items()}
    assert values == {
        "landlord_name": "Frank Osterloh",
        "move_in_date": "2026-10-01",
        "street": "Lister Meile",
        "house_number": "45",
        "postal_code": "30161",
        "city": "Hannover",
        "residents": ["Anna Lena Müller"],
    }
    assert all(field.source is TextSource.ACROFORM for field in fields.values())


def test_weak_ocr_lowers_confidence() -> None:
    clean = _page(["Name des Wohnungsgebers", "Gerda Wilkens"])
    shaky = _page(["Name des Wohnungsgebers", [("Gerda", 0.93), ("Wilkens", 0.62)]])
    garbled = _page(["Name des Wohnungsgebers", "Gerda wWilkens"])
    assert extract_landlord([clean], {})["landlord_name"].confidence >= 0.9
    assert extract_landlord([shaky], {})["landlord_name"].confidence < 0.6
    assert extract_landlord([garbled], {})["landlord_name"].confidence < 0.7


def test_repaired_misread_is_not_trusted_blindly() -> None:
    page = _page(["Name des Wohnungsgebers", "Dr. IIse Brammer"])
    landlord = extract_landlord([page], {})["landlord_name"]
    assert landlord.value == "Dr. Ilse Brammer"
    assert landlord.confidence < 0.9


def test_contradicting_labels_lower_confidence() -> None:
    page = _page(
        [
            "Datum des Einzugs: 01.10.2026",
            "Einzug am: 01.11.2026",
        ]
    )
    assert extract_landlord([page], {})["move_in_date"].confidence < 0.5


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("01.10.2026", "2026-10-01"),
        ("1.10.26", "2026-10-01"),
        ("1. Oktober 2026", "2026-10-01"),
        ("am 3. März 2026", "2026-03-03"),
        ("2026-10-01", "2026-10-01"),
        ("31.02.2026", None),
    ],
)
def test_german_dates(text: str, iso: str | None) -> None:
    parsed = parse_date(text)
    assert (parsed[0] if parsed else None) == iso


@pytest.mark.parametrize(
    ("text", "street", "number", "postal", "city"),
    [
        ("Hildesheimer Straße 135b, 1. OG Mitte", "Hildesheimer Straße", "135b", None, None),
        ("Am Lindener Berge 102, 30449 Hannover", "Am Lindener Berge", "102", "30449", "Hannover"),
        ("Straße des 17. Juni 5, 10623 Berlin", "Straße des 17. Juni", "5", "10623", "Berlin"),
        ("Lange Laube 12-14", "Lange Laube", "12-14", None, None),
    ],
)
def test_addresses(
    text: str, street: str, number: str, postal: str | None, city: str | None
) -> None:
    address = parse_address(text, strict=False)
    assert (address.street, address.number) == (street, number)
    assert (address.postal_code, address.city) == (postal, city)


def test_tick_boxes_tell_a_move_out_from_a_move_in(corpus: Path) -> None:
    """The dev scans tick "Einzug"; the same scan with the two boxes swapped ticks "Auszug"."""
    documents = corpus / "anmeldung-dev" / "case-002" / "documents"
    scan = Image.open(documents / "wohnungsgeberbestaetigung.jpg")
    page, image, _, _ = ocr.read_page(scan)
    assert ticked_move(page, image) == "in"

    move_in = next(w for w in page.words if w.text == "Einzug")
    move_out = next(w for w in page.words if w.text == "Auszug" and w.line == move_in.line)
    height = move_in.box[3] - move_in.box[1]

    def box_left_of(word: Word) -> tuple[int, int, int, int]:
        x0, y0, _, y1 = word.box
        return (x0 - 2 * height, y0 - height // 4, x0 - height // 8, y1 + height // 4)

    ticked, empty = image.crop(box_left_of(move_in)), image.crop(box_left_of(move_out))
    swapped = image.copy()
    swapped.paste(empty.resize(ticked.size), box_left_of(move_in)[:2])
    swapped.paste(ticked.resize(empty.size), box_left_of(move_out)[:2])
    assert ticked_move(page, swapped) == "out"


def test_move_out_form_gives_no_trusted_move_in_date() -> None:
    page = _page(
        [
            "Wohnungsgeberbestätigung",
            "Art der Meldung: Auszug",
            "Datum des Auszugs: 30.09.2026",
            "am: 30.09.2026",
        ]
    )
    assert move_direction_in_text([page]) == "out"
    date = extract_landlord([page], {}).get("move_in_date")
    assert date is None or date.confidence <= 0.3
