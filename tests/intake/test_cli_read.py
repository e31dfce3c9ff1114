"""``servicepoint read`` on corpus identity documents (CONTRACTS §5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servicepoint.cli import main

DEV = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "anmeldung-dev").resolve()
ID_CARD = DEV / "case-003" / "documents" / "personalausweis_1.jpg"  # German ID card, TD1
PASSPORT = DEV / "case-020" / "documents" / "reisepass_1.jpg"  # Italian passport, TD3


@pytest.mark.slow
def test_read_json_has_the_contract_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["read", str(ID_CARD), str(PASSPORT), "--json"]) == 0
    documents = json.loads(capsys.readouterr().out)
    assert [d["file"] for d in documents] == [str(ID_CARD), str(PASSPORT)]
    for document, mrz_format, line_length in ((documents[0], "TD1", 30), (documents[1], "TD3", 44)):
        assert set(document) == {"file", "type", "fields", "confidence", "mrz"}
        assert document["type"] in ("id_card", "passport")
        assert set(document["confidence"]) == set(document["fields"])
        assert all(0 <= c <= 1 for c in document["confidence"].values())
        mrz = document["mrz"]
        assert mrz["format"] == mrz_format
        assert all(len(line) == line_length for line in mrz["lines"])
        assert mrz["checks"]
        assert all(isinstance(ok, bool) for ok in mrz["checks"].values())
        assert mrz["valid"] == all(mrz["checks"].values())
    assert documents[0]["type"] == "id_card"
    assert documents[1]["type"] == "passport"
    assert documents[1]["fields"]["nationality"] == "ITA"


@pytest.mark.slow
def test_read_text_shows_check_digits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["read", str(PASSPORT)]) == 0
    text = capsys.readouterr().out
    assert "type: passport" in text
    assert "MRZ TD3" in text
    assert "check document_number: ok" in text


def test_read_refuses_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["read", str(tmp_path / "nope.pdf")]) == 2
    assert "no such file" in capsys.readouterr().err
