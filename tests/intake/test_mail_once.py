"""An e-mail whose delivery outcome is unknown (the sender died) is not sent again."""

import json
from pathlib import Path

from sqlmodel import select

from intake import completion
from intake import service as intake_service
from intake.models import Application, Notification
from servicepoint import db, mail
from tests.conftest import SHARED_CORPUS


def _application() -> str:
    case = SHARED_CORPUS / "anmeldung-dev" / "case-002"
    data = json.loads((case / "application.json").read_text(encoding="utf-8"))
    files = [
        intake_service.IncomingFile(Path(d["file"]).name, (case / d["file"]).read_bytes())
        for d in data["documents"]
    ]
    with db.session_scope() as session:
        return intake_service.submit(session, data, files).application.id


def test_an_attempt_without_outcome_is_not_repeated(migrated_db: str) -> None:
    application_id = _application()
    sent: list[str] = []

    def compose() -> mail.Mail:
        sent.append("composed")
        raise AssertionError("must not compose a second e-mail")

    with db.session_scope() as session:
        application = session.get(Application, application_id)
        assert application is not None
        application.citizen_email = "once@example.org"
        session.add(application)
        session.commit()
        # what a killed sender leaves behind: the attempt on record, no outcome
        session.add(
            Notification(
                application_id=application_id,
                kind="outcome-test",
                recipient="once@example.org",
                subject="test",
                attempts=1,
            )
        )
        session.commit()
        assert completion.send_once(session, application, "outcome-test", "test", compose) is False
        assert completion.send_once(session, application, "outcome-test", "test", compose) is False
        row = session.exec(
            select(Notification).where(Notification.application_id == application_id)
        ).one()
    assert sent == []
    assert row.sent_at is None
    assert row.last_error == completion.UNKNOWN_OUTCOME
