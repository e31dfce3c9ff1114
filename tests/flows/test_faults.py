"""Fault tolerance with real processes: Prefect down during submissions, the flow runner
killed mid-batch, tesseract failing on one document."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from flows.runner import load_declarations
from intake.applications.completion import UNKNOWN_OUTCOME
from intake.applications.models import Application, AuditEntry, Notification
from servicepoint import db
from servicepoint.app import create_app
from servicepoint.events import OutboxEvent
from tests.flows.conftest import Mailbox, PrefectServer, runner_for, wait_for_deployments
from tests.flows.test_applications import CASES, expected, submit

pytestmark = pytest.mark.slow(seconds=180)
DONE = {"approved", "review", "rejected"}
ALL_DEPLOYMENTS = {spec["name"] for spec in load_declarations()}


@pytest.fixture(scope="module")
def client(migrated_db: str) -> TestClient:
    return TestClient(create_app())


def cases_now(ids: list[str]) -> dict[str, tuple[str, Any, int]]:
    """Each case's status, completion time and version, as the database has them now."""
    with db.session_scope() as session:
        rows = session.exec(select(Application).where(col(Application.id).in_(ids))).all()
        return {row.id: (row.status, row.completed_at, row.version) for row in rows}


def timed_out(ids: list[str]) -> set[str]:
    """Cases whose only findings are documents that could not be read in time."""
    with db.session_scope() as session:
        rows = session.exec(select(Application).where(col(Application.id).in_(ids))).all()
    found = set()
    for row in rows:
        findings = json.loads(row.findings_json or "[]")
        if findings and all(
            f["code"] == "UNREADABLE_DOCUMENT" and f["details"]["problems"] == ["timeout"]
            for f in findings
        ):
            found.add(row.id)
    return found


def in_delivery(ids: list[str]) -> set[str]:
    """Cases whose e-mail delivery has started and not been recorded as done."""
    with db.session_scope() as session:
        rows = session.exec(
            select(Notification).where(
                col(Notification.application_id).in_(ids),
                Notification.attempts > 0,
                col(Notification.sent_at).is_(None),
            )
        ).all()
        return {row.application_id for row in rows}


def wait_all(ids: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        statuses = {key: value[0] for key, value in cases_now(ids).items()}
        if len(statuses) == len(ids) and set(statuses.values()) <= DONE:
            return statuses
        time.sleep(1)
    pending = {k: v for k, v in statuses.items() if v not in DONE}
    raise AssertionError(f"{len(pending)} of {len(ids)} cases not decided: {pending}")


def decided_counts(ids: list[str]) -> Counter[str]:
    with db.session_scope() as session:
        rows = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.application_id).in_(ids),
                col(AuditEntry.action).in_(["decided", "queued_for_review"]),
            )
        ).all()
        return Counter(row.application_id for row in rows)


def test_submissions_while_prefect_is_down_are_processed_after_it_returns(
    client: TestClient,
    own_prefect: PrefectServer,
    smtp_server: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    runner = runner_for(own_prefect, smtp_server[1], tmp_path / "runner.log")
    runner.start()
    try:
        # Everything the runner registers must exist before Prefect goes away.
        wait_for_deployments(own_prefect.api_url, ALL_DEPLOYMENTS)
        own_prefect.stop()
        ids = [submit(client, "case-024")["id"] for _ in range(20)]
        time.sleep(3)  # the relay tries and fails meanwhile; nothing may be lost
        with db.session_scope() as session:
            waiting = session.exec(
                select(OutboxEvent).where(
                    col(OutboxEvent.resource_id).in_(
                        [f"servicepoint.application.{i}" for i in ids]
                    ),
                    col(OutboxEvent.sent_at).is_(None),
                )
            ).all()
            assert len(waiting) == 20
        own_prefect.start()
        if runner.process is not None and runner.process.poll() is not None:
            pytest.fail("the flow runner died while Prefect was down")
        statuses = wait_all(ids, timeout=900)
        assert set(statuses.values()) <= DONE
        assert all(count == 1 for count in decided_counts(ids).values())
        assert len(decided_counts(ids)) == 20
    finally:
        runner.stop()


def test_runner_killed_mid_batch_decides_every_case_exactly_once(
    client: TestClient,
    own_prefect: PrefectServer,
    smtp_server: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    mailbox, smtp_port = smtp_server
    runner = runner_for(own_prefect, smtp_port, tmp_path / "runner.log")
    runner.start()
    wait_for_deployments(own_prefect.api_url, ALL_DEPLOYMENTS)
    cases = ["case-003", "case-014", "case-018", "case-024", "case-038", "case-009"]
    assert {expected(case)["decision"] for case in cases} == {"auto"}
    submitted = [submit(client, case, email=f"kill-{case}@example.org") for case in cases]
    ids = [s["id"] for s in submitted]
    # Wait until the batch is under way (some cases decided, others not), then kill the
    # runner and all its flow runs.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        decided = [c for c, (status, _, _) in cases_now(ids).items() if status in DONE]
        if 0 < len(decided) < len(ids):
            break
        time.sleep(0.1)
    runner.kill()
    at_kill = cases_now(ids)
    delivering = in_delivery(ids)  # an e-mail whose delivery the kill may have cut short
    time.sleep(3)
    assert cases_now(ids) == at_kill, "cases changed after the kill: something survived it"
    decided_at_kill = [c for c, (status, _, _) in at_kill.items() if status in DONE]
    assert 0 < len(decided_at_kill) < len(ids), f"the kill interrupted nothing: {at_kill}"
    runner.start()
    try:
        wait_for_deployments(own_prefect.api_url, {"sweep-stuck"})
        # The scheduled sweeper re-announces what the crash left behind; run it now
        # instead of waiting for its five-minute schedule.
        time.sleep(13)  # past the processing lease (0.2 minutes in tests)
        asyncio.run(_run_deployment(own_prefect, "sweep-stuck/sweep-stuck"))
        statuses = wait_all(ids, timeout=900)
        # As if nothing had happened: every case approved, as its truth says. The one
        # other outcome the product may rightly give is review because a reading ran out
        # of time (an overloaded machine), and that says so in the case's findings.
        slow = timed_out(ids)
        assert {c: s for c, s in statuses.items() if c not in slow} == dict.fromkeys(
            [c for c in ids if c not in slow], "approved"
        ), (statuses, slow)
        assert {statuses[c] for c in slow} <= {"review"}
        counts = decided_counts(ids)
        assert sorted(counts.values()) == [1] * len(ids)
        # Every decided case is finished (letter and e-mail), the ones whose finishing
        # run the kill cut short by the sweeper; then nobody may get a second e-mail.
        approved = [c for c in ids if c not in slow]
        assert approved, "every reading timed out: the machine is too loaded to tell"
        deadline = time.monotonic() + 300
        while any(done is None for _, done, _ in cases_now(approved).values()):
            assert time.monotonic() < deadline, f"not all finished: {cases_now(ids)}"
            time.sleep(15)
            asyncio.run(_run_deployment(own_prefect, "sweep-stuck/sweep-stuck"))
        time.sleep(15)
        asyncio.run(_run_deployment(own_prefect, "sweep-stuck/sweep-stuck"))
        time.sleep(15)
        # Exactly one e-mail per case; only one whose delivery was under way at the kill
        # may have none (its outcome is unknown, so it is never sent again: at most once).
        mails = {
            s["id"]: len(mailbox.to(f"kill-{case}@example.org"))
            for case, s in zip(cases, submitted, strict=True)
        }
        with db.session_scope() as session:
            notes = session.exec(
                select(Notification).where(col(Notification.application_id).in_(ids))
            ).all()
        assert sorted(n.application_id for n in notes) == sorted(approved)  # one each
        for note in notes:
            if note.application_id in delivering:
                assert mails[note.application_id] <= 1
                assert note.sent_at is not None or note.last_error == UNKNOWN_OUTCOME
            else:
                assert mails[note.application_id] == 1, (note.application_id, mails)
                assert note.sent_at is not None
                assert note.attempts == 1
        assert len(delivering) <= 1, delivering
        assert all(mails[c] == 0 for c in slow)  # no decision, no e-mail
    finally:
        runner.stop()


async def _run_deployment(server: PrefectServer, name: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        async with get_client() as prefect:
            deployment = await prefect.read_deployment_by_name(name)
            run = await prefect.create_flow_run_from_deployment(deployment.id)
            for _ in range(120):
                state = (await prefect.read_flow_run(run.id)).state
                if state is not None and state.is_final():
                    return state
                await asyncio.sleep(0.5)
    raise AssertionError(f"{name} did not finish")


FAILING_TESSERACT = '''#!{python}
"""tesseract, except that it fails on any page showing a large solid black square."""
import os
import sys

from PIL import Image, ImageFilter

args = sys.argv[1:]
if args and os.path.isfile(args[0]):
    page = Image.open(args[0]).convert("L")
    small = page.resize((max(1, page.width // 8), max(1, page.height // 8)))
    solid = small.point(lambda v: 255 if v < 16 else 0).filter(ImageFilter.MinFilter(41))
    if solid.getbbox() is not None:
        sys.stderr.write("Error: simulated tesseract failure\\n")
        sys.exit(1)
os.execvp("tesseract", ["tesseract", *args])
'''


def _with_black_square(source: Path, target: Path) -> Path:
    from PIL import Image, ImageDraw

    page = Image.open(source).convert("RGB")
    draw = ImageDraw.Draw(page)
    right, bottom = page.width - 200, page.height - 200
    draw.rectangle((right - 700, bottom - 700, right, bottom), fill=(0, 0, 0))
    page.save(target, "JPEG", quality=90)
    return target


def test_tesseract_failing_on_one_document_sends_only_that_case_to_review(
    client: TestClient,
    own_prefect: PrefectServer,
    smtp_server: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    import sys

    wrapper = tmp_path / "tesseract"
    wrapper.write_text(FAILING_TESSERACT.format(python=sys.executable))
    wrapper.chmod(0o755)
    case_dir = CASES / "case-024"
    broken = _with_black_square(
        case_dir / "documents" / "wohnungsgeberbestaetigung.jpg",
        tmp_path / "wohnungsgeberbestaetigung.jpg",
    )
    data = json.loads((case_dir / "application.json").read_text(encoding="utf-8"))
    files = [
        (
            "files",
            (
                "personalausweis_1.jpg",
                (case_dir / "documents" / "personalausweis_1.jpg").read_bytes(),
            ),
        ),
        ("files", ("wohnungsgeberbestaetigung.jpg", broken.read_bytes())),
    ]
    response = client.post(
        "/api/v1/applications", data={"application": json.dumps(data)}, files=files
    )
    assert response.status_code == 202
    failing_id = response.json()["id"]
    healthy = {case: submit(client, case)["id"] for case in ("case-003", "case-038")}
    runner = runner_for(
        own_prefect,
        smtp_server[1],
        tmp_path / "runner.log",
        SERVICEPOINT_TESSERACT_CMD=str(wrapper),
        # The failing binary is the fault under test: read through the command, not the
        # engine kept loaded (which never runs the binary).
        SERVICEPOINT_TESSERACT_API="false",
    )
    runner.start()
    try:
        statuses = wait_all([failing_id, *healthy.values()], timeout=900)
    finally:
        runner.stop()
    assert statuses[failing_id] == "review"
    with db.session_scope() as session:
        failing = session.get(Application, failing_id)
        assert failing is not None
        assert "UNREADABLE_DOCUMENT" in failing.reasons
        for case, application_id in healthy.items():
            other = session.get(Application, application_id)
            assert other is not None
            assert "UNREADABLE_DOCUMENT" not in other.reasons, case
            assert other.status == "approved", (case, other.reasons)
