"""Answer time of the citizen assistant with the full knowledge loaded.

Asks every question of both question sets (tests/intake/assistant/*.yaml) ``--rounds``
times through ``Assistant.ask`` (language detection, the knowledge files' mtime check,
search, composing the answer) and prints p50/p95/p99/max in milliseconds, separately
for answered and handed-off questions; also the time to build the index (first load)
and to rebuild it after a knowledge file changed.

    nice -n 10 python bench/assistant_latency.py --rounds 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.assistant import quality  # noqa: E402
from intake.assistant.knowledge import DATA_DIR  # noqa: E402
from intake.assistant.service import Assistant, clean_question  # noqa: E402

SETS = ROOT / "tests" / "intake" / "assistant"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:12} n={len(ms):5}  p50 {percentile(ms, 0.5):6.2f} ms  p95 "
        f"{percentile(ms, 0.95):6.2f} ms  p99 {percentile(ms, 0.99):6.2f} ms  "
        f"max {max(ms):6.2f} ms  mean {statistics.fmean(ms):6.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    questions = quality.load_questions(SETS / "questions_tuning.yaml")
    questions += quality.load_questions(SETS / "questions_heldout.yaml")

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "assistant"
        shutil.copytree(DATA_DIR, data_dir)
        assistant = Assistant(data_dir)  # as in the app: files looked at once a second
        started = time.perf_counter()
        assistant.index()
        first_build = time.perf_counter() - started

        answered: list[float] = []
        handed_off: list[float] = []
        for _ in range(args.rounds):
            for question in questions:
                text = clean_question(question.text)
                started = time.perf_counter()
                answer = assistant.ask(text, question.asked_lang)
                elapsed = time.perf_counter() - started
                (answered if answer.answered else handed_off).append(elapsed)

        faq = data_dir / "faq.yaml"
        stat = faq.stat()
        os.utime(faq, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
        time.sleep(assistant.check_every)
        started = time.perf_counter()
        assistant.ask("Öffnungszeiten", "de")
        rebuild = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(1000):
            assistant._current_signature()
        check = (time.perf_counter() - started) / 1000
        documents = len(assistant.knowledge.documents)

    print(f"knowledge: {documents} documents, {len(questions)} questions x {args.rounds} rounds")
    print(line("all", answered + handed_off))
    print(line("answered", answered))
    print(line("handed off", handed_off))
    print(f"first build of the index: {first_build * 1000:.0f} ms")
    print(f"question after a knowledge file changed (rebuild + answer): {rebuild * 1000:.0f} ms")
    print(f"mtime check of the knowledge files: {check * 1e6:.0f} µs per question")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
