"""Document classification from content."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from intake.applications.documents import DocType, PageText, TextSource
from intake.reading.classify import classify, fuzzy_find, mrz_kind
from intake.reading.reader import read_document


def _text_page(text: str) -> PageText:
    return PageText(0, 2480, 3508, TextSource.PDF_TEXT, text)


@pytest.mark.parametrize("case", ["case-005", "case-023"])
def test_electricity_contract_in_the_landlord_slot_is_other(corpus: Path, case: str) -> None:
    path = corpus / "anmeldung-dev" / case / "documents" / "wohnungsgeberbestaetigung.jpg"
    reading = read_document(path, declared_type=DocType.LANDLORD_CONFIRMATION)
    assert "Stromliefervertrag" in reading.pages[0].text  # what it really is
    assert reading.type is DocType.OTHER
    assert reading.type_confidence >= 0.6
    assert reading.fields == {}
    assert reading.problems == []


def test_scanned_id_card_and_passport(corpus: Path) -> None:
    card = corpus / "anmeldung-dev" / "case-009" / "documents" / "personalausweis_1.jpg"
    passport = corpus / "anmeldung-dev" / "case-022" / "documents" / "reisepass_1.jpg"
    assert read_document(card).type is DocType.ID_CARD
    assert read_document(passport).type is DocType.PASSPORT


def test_mrz_lines_decide_identity_documents() -> None:
    card = (
        "IDD<<LRPIKATKG3<<<<<<<<<<<<<<<\n0401135<3402041D<<<<<<<<<<<<<4\n"
        "MUELLER<<UWE<<<<<<<<<<<<<<<<<<"
    )
    passport = (
        "P<UKRBONDARENKO<<OLENA<<<<<<<<<<<<<<<<<<<<<<\nBO54659386UKR8812256F3006265<<<<<<<<<<<<<<04"
    )
    assert classify([_text_page(card)], {})[0] is DocType.ID_CARD
    assert classify([_text_page(passport)], {})[0] is DocType.PASSPORT
    assert mrz_kind("IDD<<LRPIKATKG3<<<<<<<<<<<<<<<") == "id_card"
    assert mrz_kind("Hannover, 05.11.2026") is None


def test_landlord_confirmation_survives_ocr_noise() -> None:
    noisy = (
        "Wohnungsgeberbestätiqung\nnach 8 19 des Bundesmeldegesetzes (BMG)\n"
        "Name und Anschrift des Wohnunqsgebers\nDr. Ilse Brammer, Limmerstraße 72"
    )
    doc_type, confidence = classify([_text_page(noisy)], {})
    assert doc_type is DocType.LANDLORD_CONFIRMATION
    assert confidence >= 0.8


@pytest.mark.parametrize(
    "text",
    [
        # A utility's direct debit ("Einzug") and a move are different things.
        "Stadtwerke Hannover AG\nSEPA-Lastschriftmandat\nWir ziehen den Abschlag per Einzug "
        "von Ihrem Konto ein. Ihre neue Verbrauchsstelle: Lister Meile 45, 30161 Hannover.\n"
        "Bitte prüfen Sie die Angaben und senden Sie uns das Mandat unterschrieben zurück.",
        "Gehaltsabrechnung Oktober 2026\nPersonalnummer 4711\nBrutto 3.200,00 EUR\n"
        "Netto 2.150,00 EUR\nSteuerklasse 1\nKrankenversicherung AOK Niedersachsen",
        "Landeshauptstadt Hannover\nMeldebescheinigung (einfach) nach § 18 Bundesmeldegesetz\n"
        "Die Meldebehörde bescheinigt: Frau Lea Becker ist seit dem Einzug am 01.10.2026 "
        "in der Wohnung Lister Meile 45, 30161 Hannover mit alleiniger Wohnung gemeldet.",
    ],
    ids=["direct-debit", "payslip", "registration-certificate"],
)
def test_other_documents_are_other(text: str) -> None:
    doc_type, confidence = classify([_text_page(text)], {})
    assert doc_type is DocType.OTHER
    assert confidence >= 0.6


def test_illegible_text_is_not_claimed_to_be_other() -> None:
    doc_type, confidence = classify([_text_page("~ ,. ;: ii")], {})
    assert doc_type is DocType.OTHER
    assert confidence < 0.5  # the reader reports "unreadable" instead


def test_fuzzy_find_tolerates_a_few_errors() -> None:
    assert fuzzy_find("wohnungsgeber", "xxwohnunqsgeberxx", 1) == (1, 15)
    assert fuzzy_find("wohnungsgeber", "vermieter", 2) is None


def _fuzzy_find_by_table(pattern: str, text: str, max_errors: int) -> tuple[int, int] | None:
    """The textbook column-by-column table, to check the bit-parallel version against."""
    previous = list(range(len(pattern) + 1))
    best: tuple[int, int] | None = None
    for end, char in enumerate(text, start=1):
        current = [0]
        for i, p_char in enumerate(pattern, start=1):
            cost = 0 if p_char == char else 1
            current.append(min(previous[i] + 1, current[i - 1] + 1, previous[i - 1] + cost))
        if current[-1] <= max_errors and (best is None or current[-1] < best[0]):
            best = (current[-1], end)
            if best[0] == 0:
                return best
        previous = current
    return best


def test_fuzzy_find_agrees_with_the_full_table() -> None:
    rnd = random.Random(7)
    for alphabet in ("ab", "abcü ", "abcdefghijklmnopqrstuvwxyz0123456789 "):
        for _ in range(400):
            pattern = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 70)))
            text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 90)))
            errors = rnd.randint(0, 4)
            expected = _fuzzy_find_by_table(pattern, text, errors)
            assert fuzzy_find(pattern, text, errors) == expected, (pattern, text, errors)


def test_fuzzy_find_agrees_with_the_full_table_on_near_misses() -> None:
    # Texts holding the pattern with up to five edits: the cases where the quick
    # letter-pair test must not turn a search away that the table would answer.
    rnd = random.Random(11)
    alphabet = "abcdefghijklmnopqrstuvwxyz "
    for _ in range(1500):
        pattern = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(2, 30)))
        edited = list(pattern)
        for _ in range(rnd.randint(0, 5)):
            at = rnd.randint(0, len(edited))
            match rnd.choice(("insert", "delete", "replace")):
                case "insert":
                    edited.insert(at, rnd.choice(alphabet))
                case "delete" if at < len(edited):
                    del edited[at]
                case "replace" if at < len(edited):
                    edited[at] = rnd.choice(alphabet)
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 10)))
        text += "".join(edited) + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 10)))
        errors = rnd.randint(0, 5)
        expected = _fuzzy_find_by_table(pattern, text, errors)
        assert fuzzy_find(pattern, text, errors) == expected, (pattern, text, errors)


def test_housing_company_letter_confirming_a_move_in_is_a_landlord_confirmation() -> None:
    """A letter that never says "Wohnungsgeber" or "§ 19 BMG" but confirms the move in
    for the registration office is one; moving words alone are not."""
    letter = _text_page(
        "Lindener Baugenossenschaft eG\nBestätigung über den Einzug\n"
        "Hiermit bestätigen wir als Vermieter, dass Can Demir am 20.09.2026 in die Wohnung "
        "Am Küchengarten 66, 30449 Hannover eingezogen ist. Diese Bestätigung dient zur "
        "Vorlage bei der Meldebehörde."
    )
    assert classify([letter], {})[0] is DocType.LANDLORD_CONFIRMATION
    removal = _text_page(
        "Umzugsservice Nord GmbH\nAuftragsbestätigung\nIhr Einzug am 20.09.2026 in die "
        "Wohnung Am Küchengarten 66: wir sind um 8 Uhr da. Vermieter informiert."
    )
    assert classify([removal], {})[0] is DocType.OTHER
