"""The knowledge files: checked when loaded, and the index rebuilt when one changes,
without a restart; and the ``servicepoint ask`` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from intake.assistant.knowledge import DATA_DIR, KnowledgeError, load
from intake.assistant.search import FEATURES
from intake.assistant.service import Assistant

NEW_ENTRY = """
  - id: fundbuero
    sources: ["fact:kontakt"]
    questions:
      de: ["Wo ist das Fundbüro?", "Ich habe meinen Schlüssel verloren, Fundsachen"]
    answer:
      de: "Fundsachen gibt das Bürgeramt heraus. Erreichbar unter [[fact:kontakt.phone]]."
      en: "Lost property is handed out by the citizen office: [[fact:kontakt.phone]]."
      tr: "Kayıp eşya: [[fact:kontakt.phone]]."
      ar: "المفقودات: [[fact:kontakt.phone]]."
      uk: "Бюро знахідок: [[fact:kontakt.phone]]."
      de-easy: "Sie haben etwas verloren? Rufen Sie an: [[fact:kontakt.phone]]."
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "assistant"
    shutil.copytree(DATA_DIR, target)
    return target


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_a_changed_file_rebuilds_the_index_without_a_restart(data_dir: Path) -> None:
    assistant = Assistant(data_dir, check_every=0.2)
    before = assistant.ask("Wo ist das Fundbüro?", "de")
    assert before.answered is False
    assert assistant.builds == 1
    assistant.ask("Öffnungszeiten", "de")
    assert assistant.builds == 1  # nothing changed: no rebuild
    faq = data_dir / "faq.yaml"
    faq.write_text(faq.read_text(encoding="utf-8") + NEW_ENTRY, encoding="utf-8")
    _touch_later(faq)
    time.sleep(0.25)  # the files are looked at every check_every seconds, not more often
    after = assistant.ask("Wo ist das Fundbüro?", "de")
    assert assistant.builds == 2
    assert after.answered is True
    assert "Behördennummer 115" in after.answer
    assert after.entry == "faq:fundbuero"


def test_a_broken_file_keeps_the_last_good_index(data_dir: Path) -> None:
    assistant = Assistant(data_dir, check_every=0)
    assert assistant.ask("Was kostet ein Reisepass?", "de").answered
    facts = data_dir / "facts.yaml"
    facts.write_text("facts: [ {", encoding="utf-8")
    _touch_later(facts)
    answer = assistant.ask("Was kostet ein Reisepass?", "de")
    assert answer.answered
    assert "70,00 €" in answer.answer


def test_the_confidence_model_is_data_and_reloaded_when_it_changes(data_dir: Path) -> None:
    assistant = Assistant(data_dir, check_every=0)
    index = assistant.index()
    assert index.calibration is not None
    assert index.calibration.weights
    assert set(index.calibration.weights) <= set(FEATURES)
    assert 0 < index.threshold < 1
    answer = assistant.ask("Was kostet ein Reisepass?", "de")
    assert answer.answered
    assert index.threshold <= answer.confidence <= 1
    model = data_dir / "confidence.yaml"
    text = model.read_text(encoding="utf-8")
    model.write_text(text.replace(f"threshold: {index.threshold}", "threshold: 0.9999"))
    _touch_later(model)
    assert assistant.index().threshold == 0.9999
    assert not assistant.ask("Was kostet ein Reisepass?", "de").answered
    model.unlink()  # without a model the coverage alone is the confidence
    assert assistant.index().calibration is None


def test_an_answer_may_not_write_a_number_itself(data_dir: Path) -> None:
    faq = data_dir / "faq.yaml"
    text = faq.read_text(encoding="utf-8").replace(
        'de: "Die Anmeldung kostet: [[service:anmeldung.fee]]."',
        'de: "Die Anmeldung kostet 10 Euro."',
    )
    faq.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError, match="anmeldung-kosten .de. writes a number"):
        load(data_dir)


def test_an_answer_may_only_name_known_values(data_dir: Path) -> None:
    faq = data_dir / "faq.yaml"
    text = faq.read_text(encoding="utf-8").replace(
        '[[service:anmeldung.fee]]."\n      en:', '[[service:anmeldung.price]]."\n      en:', 1
    )
    faq.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError, match="no such field"):
        load(data_dir)


def test_every_answer_exists_in_every_language(data_dir: Path) -> None:
    faq = data_dir / "faq.yaml"
    faq.write_text(
        faq.read_text(encoding="utf-8")
        + NEW_ENTRY.replace('      uk: "Бюро знахідок: [[fact:kontakt.phone]]."\n', ""),
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError, match="fundbuero has no answer in uk"):
        load(data_dir)


def test_servicepoint_ask_prints_answer_sources_and_score() -> None:
    command = [sys.executable, "-m", "servicepoint.cli", "ask", "Was kostet der Perso?"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "46,00 €" in done.stdout
    assert "source: Personalausweis beantragen </#service-personalausweis>" in done.stdout
    assert "score: " in done.stdout
    assert "faq:personalausweis-kosten" in done.stdout
    unknown = subprocess.run(
        [*command[:-1], "Wie beantrage ich einen Angelschein?", "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "not answered (hand-off)" in unknown.stdout
    assert "hand-off: video </video/termin>" in unknown.stdout
    empty = subprocess.run([*command[:-1], "   "], capture_output=True, text=True, check=False)
    assert empty.returncode == 2
    assert "Enter a question" in empty.stderr
