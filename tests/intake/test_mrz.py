"""ICAO 9303 check digits, TD1/TD2/TD3 parsing and the repair of OCR look-alikes."""

from __future__ import annotations

from datetime import date

import pytest

from intake.reading.mrz import (
    check_digit,
    clean_line,
    correct_lookalikes,
    expand_birth_date,
    expand_expiry_date,
    parse_mrz,
    repair_mrz,
)

REFERENCE = date(2026, 10, 5)

TD1_SPECIMEN = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
]
TD3_SPECIMEN = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]


def german_id(number: str, birth: str, expiry: str, name: str) -> list[str]:
    """A German identity card MRZ (TD1) with correct check digits, built from its fields."""
    first = f"IDD<<{number}{check_digit(number)}".ljust(30, "<")
    second = f"{birth}{check_digit(birth)}<{expiry}{check_digit(expiry)}D".ljust(29, "<")
    composite = check_digit(first[5:30] + second[0:7] + second[8:15] + second[18:29])
    return [first, second + composite, name.ljust(30, "<")]


GENUINE = german_id("LK302R6G5", "400302", "360722", "KOEHLER<<JOERG")


def inject(lines: list[str], line: int, column: int, char: str) -> list[str]:
    changed = list(lines)
    changed[line] = changed[line][:column] + char + changed[line][column + 1 :]
    return changed


# --- check digits and specimens ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "digit"),
    [("D23145890", "7"), ("740812", "2"), ("120415", "9"), ("L898902C3", "6"),
     ("ZE184226B<<<<<", "1"), ("", "0")],
)  # fmt: skip
def test_check_digit_matches_icao_examples(data: str, digit: str) -> None:
    assert check_digit(data) == digit


def test_td1_specimen_parses_with_all_checks() -> None:
    result = parse_mrz(TD1_SPECIMEN, reference=REFERENCE)
    assert result is not None
    assert result.format == "TD1"
    assert result.checks == {
        "document_number": True,
        "birth_date": True,
        "expiry_date": True,
        "composite": True,
    }
    assert result.valid
    assert result.fields["document_number"] == "D23145890"
    assert result.fields["birth_date"] == "1974-08-12"
    assert result.fields["expiry_date"] == "2012-04-15"
    assert result.fields["surname"] == "ERIKSSON"
    assert result.fields["given_names"] == "ANNA MARIA"
    assert result.fields["nationality"] == "UTO"
    assert result.fields["sex"] == "F"
    assert result.fields["document_code"] == "I"


def test_td1_check_digit_values_are_those_printed() -> None:
    first, second, _ = TD1_SPECIMEN
    assert (first[14], second[6], second[14], second[29]) == ("7", "2", "9", "6")


def test_td3_specimen_parses_with_personal_number() -> None:
    result = parse_mrz(TD3_SPECIMEN, reference=REFERENCE)
    assert result is not None
    assert result.format == "TD3"
    assert result.valid
    assert set(result.checks) == {
        "document_number",
        "birth_date",
        "expiry_date",
        "personal_number",
        "composite",
    }
    assert result.fields["document_number"] == "L898902C3"
    assert result.fields["personal_number"] == "ZE184226B"
    assert result.fields["given_names"] == "ANNA MARIA"
    second = TD3_SPECIMEN[1]
    assert (second[9], second[19], second[27], second[42], second[43]) == ("6", "2", "9", "1", "0")


def test_td3_without_personal_number_has_no_personal_check() -> None:
    number, birth, expiry = "B40837819", "970905", "350807"
    body = f"{number}{check_digit(number)}ESP{birth}{check_digit(birth)}F{expiry}"
    body += check_digit(expiry) + "<" * 14 + "0"
    composite = check_digit(body[0:10] + body[13:20] + body[21:43])
    lines = ["P<ESPGONZALEZ<<ALEJANDRO".ljust(44, "<"), body + composite]
    result = parse_mrz(lines, reference=REFERENCE)
    assert result is not None
    assert result.valid
    assert "personal_number" not in result.checks
    assert result.fields["nationality"] == "ESP"
    assert result.fields["expiry_date"] == "2035-08-07"


def test_td2_parses() -> None:
    number, birth, expiry = "D23145890", "740812", "120415"
    body = f"{number}{check_digit(number)}UTO{birth}{check_digit(birth)}F{expiry}"
    body += check_digit(expiry) + "<" * 7
    composite = check_digit(body[0:10] + body[13:20] + body[21:35])
    lines = ["I<UTOERIKSSON<<ANNA<MARIA".ljust(36, "<"), body + composite]
    result = parse_mrz(lines, reference=REFERENCE)
    assert result is not None
    assert result.format == "TD2"
    assert result.valid
    assert result.fields["surname"] == "ERIKSSON"


def test_td1_long_document_number_overflows_into_optional_data() -> None:
    number = "D23145890734"  # twelve characters: nine, then three in the optional data
    first = f"I<UTO{number[:9]}<{number[9:]}{check_digit(number)}".ljust(30, "<")
    second = "7408122F1204159UTO<<<<<<<<<<<"
    second += check_digit(first[5:30] + second[0:7] + second[8:15] + second[18:29])
    result = parse_mrz([first, second, "ERIKSSON<<ANNA<MARIA"], reference=REFERENCE)
    assert result is not None
    assert result.checks["document_number"]
    assert result.valid
    assert result.fields["document_number"] == number


def test_german_card_uses_d_for_nationality_and_state() -> None:
    result = parse_mrz(GENUINE, reference=REFERENCE)
    assert result is not None
    assert result.valid
    assert result.fields["nationality"] == "D"
    assert result.fields["issuing_state"] == "D"
    assert result.fields["document_number"] == "LK302R6G5"


# --- centuries -----------------------------------------------------------------------


def test_birth_century_is_the_latest_not_after_the_reference() -> None:
    assert expand_birth_date("050504", date(2026, 10, 1), None) == date(2005, 5, 4)
    assert expand_birth_date("280101", date(2026, 10, 1), None) == date(1928, 1, 1)
    assert expand_birth_date("261002", date(2026, 10, 1), None) == date(1926, 10, 2)


def test_birth_century_without_reference_is_bounded_by_expiry() -> None:
    assert expand_birth_date("420411", None, date(2033, 4, 25)) == date(1942, 4, 11)
    assert expand_birth_date("050504", None, date(2027, 5, 31)) == date(2005, 5, 4)


def test_expiry_century_lies_within_twenty_years_of_the_reference() -> None:
    assert expand_expiry_date("360722", REFERENCE) == date(2036, 7, 22)
    assert expand_expiry_date("990101", REFERENCE) == date(1999, 1, 1)
    assert expand_expiry_date("991301", REFERENCE) is None  # no 13th month


# --- cleaning and fitting ------------------------------------------------------------


def test_clean_line_drops_spaces_and_reads_guillemets_as_fillers() -> None:
    assert clean_line("idd«<LK302 R6G58‹<<") == "IDD<<LK302R6G58<<<"


def test_lines_with_wrong_filler_counts_are_fitted() -> None:
    first, second, third = GENUINE
    ocr = [first[:20], second.replace("<<<<<", "<<", 1), third + "<<<<"]
    result = correct_lookalikes(ocr, reference=REFERENCE)
    assert result is not None
    assert result.lines == GENUINE
    assert result.valid


def test_letters_after_three_fillers_in_a_name_are_fillers() -> None:
    first, second, _ = GENUINE
    result = parse_mrz([first, second, "KOEHLER<<JOERG<<<K<<KK<<<C<<<"], reference=REFERENCE)
    assert result is not None
    assert result.fields["given_names"] == "JOERG"


# --- look-alike repair ------------------------------------------------------------


LOOKALIKE = {"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G", "4": "A", "O": "0"}


def with_lookalikes(lines: list[str], cells: list[tuple[int, int]]) -> list[str]:
    """The lines with the characters at ``cells`` replaced by their OCR look-alikes."""
    for line, column in cells:
        original = lines[line][column]
        assert original in LOOKALIKE, (line, column, original)
        lines = inject(lines, line, column, LOOKALIKE[original])
    return lines


def test_lookalikes_in_digit_and_letter_fields_are_corrected() -> None:
    # birth date, expiry date, a check digit, the surname, the given name, the serial
    cells = [(1, 0), (1, 1), (1, 9), (1, 12), (1, 6), (2, 1), (2, 10), (0, 8), (0, 13)]
    corrupted = with_lookalikes(GENUINE, cells)
    assert all(corrupted[line][col] != GENUINE[line][col] for line, col in cells)
    result = correct_lookalikes(corrupted, reference=REFERENCE)
    assert result is not None
    assert result.corrected
    assert result.valid
    assert result.lines == GENUINE
    assert result.fields["document_number"] == "LK302R6G5"
    assert result.fields["surname"] == "KOEHLER"


def test_injected_o_i_s_b_z_are_restored_by_semantics_and_check_digits() -> None:
    genuine = german_id("L01X5T2V8", "810215", "320118", "SCHMIDT<<ANNA<LENA")
    # O for 0, I for 1, S for 5, B for 8 in the serial (a German serial has none of
    # those letters), Z for 2 there too (it may hold both: the check digit decides),
    # and B, I, O, Z in the dates.
    cells = [(0, 6), (0, 7), (0, 9), (0, 13), (0, 11), (1, 0), (1, 1), (1, 2), (1, 9)]
    corrupted = with_lookalikes(genuine, cells)
    repaired = repair_mrz(corrupted, reference=REFERENCE)
    assert repaired is not None
    assert repaired.result.lines == genuine
    assert repaired.result.valid
    assert repaired.result.corrected
    assert repaired.guessed == [(0, 11)]  # the only cell decided by the check digit alone


def test_ambiguous_lookalikes_stay_invalid() -> None:
    # A Z/2 misread in a serial with several Zs and 2s: swapping the misread cell back
    # satisfies the check digit, but so does swapping the Z in column 10.
    genuine = german_id("Z22ZLZC72", "820927", "321220", "WIECHMANN<<KATHARINA<MARIE")
    corrupted = inject(genuine, 0, 7, "Z")
    assert check_digit("Z22ZLZC72") == check_digit("Z2ZZL2C72") == genuine[0][14]
    result = correct_lookalikes(corrupted, reference=REFERENCE)
    assert result is not None
    assert not result.valid
    assert not result.checks["document_number"]
    assert result.lines[0] == corrupted[0]


def test_uncorrectable_corruption_stays_invalid() -> None:
    corrupted = inject(GENUINE, 1, 9, "8")  # 6 -> 8: digits are no look-alikes of each other
    result = correct_lookalikes(corrupted, reference=REFERENCE)
    assert result is not None
    assert not result.valid
    assert not result.checks["expiry_date"]


@pytest.mark.parametrize(("line", "column", "digit"), [(1, 5, "3"), (1, 11, "9"), (0, 9, "7")])
def test_tampered_digit_is_not_corrected_into_validity(line: int, column: int, digit: str) -> None:
    tampered = inject(GENUINE, line, column, digit)
    assert tampered != GENUINE
    result = correct_lookalikes(tampered, reference=REFERENCE)
    assert result is not None
    assert not result.valid
    assert result.lines[line][column] == digit  # the forged digit was not swapped away


def test_tampered_birth_date_of_a_real_card_stays_invalid() -> None:
    # The dev corpus's tampered card: the birth date says 29 June, the check digit 28 June.
    lines = ["IDD<<NJXP7H3RK6<<<<<<<<<<<<<<<", "4706295<3411034D<<<<<<<<<<<<<6", "BUENGER<<MARIE"]
    result = correct_lookalikes(lines, reference=REFERENCE)
    assert result is not None
    assert result.checks["document_number"]
    assert not result.checks["birth_date"]
    assert not result.valid


def test_unknown_country_code_is_repaired_to_the_one_known_code() -> None:
    result = correct_lookalikes(inject(GENUINE, 1, 15, "O"), reference=REFERENCE)
    assert result is not None
    assert result.fields["nationality"] == "D"
    assert result.corrected


def test_lines_that_form_no_layout_give_none() -> None:
    assert correct_lookalikes(["IDD<<ABC", "123"], reference=REFERENCE) is None
    assert parse_mrz([], reference=REFERENCE) is None
