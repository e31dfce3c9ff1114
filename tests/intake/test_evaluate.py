"""``servicepoint evaluate`` on a small corpus built from dev cases, scoring, time limits."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from intake.applications.documents import DocType
from intake.applications.evaluate import DocumentTask, iter_readings, score
from servicepoint.cli import main

DEV = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "anmeldung-dev").resolve()
# Born-digital, missing landlord confirmation (one photo), and a scanned clean case.
SUBSET = ["case-001", "case-021", "case-003"]


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for case in SUBSET:
        (corpus / case).symlink_to(DEV / case, target_is_directory=True)
    manifest = {"service": "anmeldung", "city": "Hannover", "cases": SUBSET}
    (corpus / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return corpus


@pytest.mark.slow
def test_evaluate_command_writes_contract_lines_and_summary(
    small_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.jsonl"
    status = main(["evaluate", str(small_corpus), "--out", str(out), "--workers", "2", "--quiet"])
    assert status == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["case"] for line in lines] == SUBSET
    for line in lines:
        assert line["decision"] in ("auto", "review")
        assert isinstance(line["reasons"], list)
        assert isinstance(line["seconds"], float)
        assert line["seconds"] > 0
        application = json.loads((DEV / line["case"] / "application.json").read_text("utf-8"))
        assert set(line["documents"]) == {d["file"] for d in application["documents"]}
        for document in line["documents"].values():
            assert document["type"] in {str(t) for t in DocType}
            assert isinstance(document["fields"], dict)
    missing_landlord = lines[1]
    assert missing_landlord["decision"] == "review"
    assert "MISSING_DOCUMENT" in missing_landlord["reasons"]

    summary = _parse_summary(capsys.readouterr().out)
    assert summary["cases"] == "3"
    assert summary["unsafe_auto"] == "0"
    for figure in (
        "automation_rate",
        "field_accuracy",
        "reason_recall",
        "doc_type_accuracy",
        "decision_accuracy",
        "median_seconds_per_case",
    ):
        assert 0 <= float(summary[figure]) <= (1 if figure != "median_seconds_per_case" else 600)


def _parse_summary(text: str) -> dict[str, str]:
    pairs = (line.split(": ", 1) for line in text.splitlines() if ": " in line)
    return {key: value for key, value in pairs}


def _perfect_result(case: str) -> dict[str, Any]:
    truth = json.loads((DEV / case / "expected.json").read_text("utf-8"))
    reasons = [r[0] if isinstance(r, list) else r for r in truth["reasons"]]
    return {
        "case": case,
        "decision": truth["decision"],
        "reasons": reasons,
        "documents": truth["documents"],
        "seconds": 1.0,
    }


def test_score_of_perfect_and_unsafe_results(small_corpus: Path) -> None:
    perfect = [_perfect_result(case) for case in SUBSET]
    figures = score(perfect, small_corpus)
    assert figures["unsafe_auto"] == 0
    for name in ("automation_rate", "field_accuracy", "reason_recall", "doc_type_accuracy"):
        assert figures[name] == 1.0

    # A transliterated name and an abbreviated street are still correct ...
    equivalent = json.loads(json.dumps(perfect))
    documents = equivalent[2]["documents"]
    landlord = documents["documents/wohnungsgeberbestaetigung.jpg"]["fields"]
    assert landlord["street"] == "Helmstedter Straße"
    landlord["street"] = "Helmstedter Str."
    identity = documents["documents/personalausweis_1.jpg"]["fields"]
    identity["surname"] = "BOEHM"
    assert score(equivalent, small_corpus)["field_accuracy"] == 1.0

    # ... but an automatic decision with one wrong field is unsafe.
    identity["birth_date"] = "2000-05-30"
    figures = score(equivalent, small_corpus)
    assert figures["unsafe_auto"] == 1
    assert figures["unsafe_cases"] == ["case-003"]

    # And so is "auto" for a case whose truth is review.
    wrong = json.loads(json.dumps(perfect))
    wrong[1]["decision"], wrong[1]["reasons"] = "auto", []
    figures = score(wrong, small_corpus)
    assert figures["unsafe_auto"] == 1
    assert figures["reason_recall"] == 0.0


def test_a_hanging_document_ends_as_timeout_not_a_hung_run(tmp_path: Path) -> None:
    # Opening a FIFO without a writer blocks forever: a real hang, not a simulated one.
    hang = tmp_path / "scan.jpg"
    os.mkfifo(hang)
    task = DocumentTask("hang", "documents/scan.jpg", hang, DocType.ID_CARD)
    started = time.monotonic()
    results = list(iter_readings([task], workers=1, time_limit=0.5, kill_grace=0.5))
    assert time.monotonic() - started < 15
    [(_, reading)] = results
    assert reading.problems == ["timeout"]
    assert reading.file == "documents/scan.jpg"
