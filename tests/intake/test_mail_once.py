"""An e-mail whose delivery outcome is unknown (the sender died) is not sent again."""

from sqlmodel import select

from intake.applications import completion
from intake.applications.models import Application, Notification
from servicepoint import db, mail
from tests.conftest import submit_corpus_case


def test_an_attempt_without_outcome_is_not_repeated(migrated_db: str) -> None:
    application_id = submit_corpus_case("case-002")
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
