"""What clerks and administrators do: claim and release cases, correct values, ask the
citizen for a document, decide, and manage accounts.

Every change to a case is guarded twice: the clerk must hold the case (``claimed_by``)
and must have seen its current ``version`` (a conditional UPDATE in the repository).
A refused change raises :class:`~servicepoint.errors.Conflict` with an explanation of
what happened in the meantime; the views re-render the clerk's input beside it.
Services never commit: the view owns the transaction.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from backoffice import repository
from backoffice.formatting import datetime_text
from backoffice.models import DocumentRequest
from intake.applications import completion, processing
from intake.applications import service as intake_service
from intake.applications.models import Application, Document, Status
from intake.reading.normalize import iso_date
from intake.services import FieldType, FormField, get_service
from servicepoint import auth, mail
from servicepoint.errors import Conflict, Forbidden, InvalidInput, NotFound
from servicepoint.settings import Settings, get_settings

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MAX_TEXT = 2000
OTHER_SLOT = "other"


def now() -> datetime:
    return datetime.now(UTC)


# --- reading a case -------------------------------------------------------------------


def get_case(session: Session, application_id: str) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound()
    return application


def _display_name(session: Session, username: str) -> str:
    return repository.user_names(session, [username]).get(username, username)


def explain_refusal(
    session: Session, application_id: str, username: str, seen_version: int | None
) -> Conflict:
    """Why a change to the case was refused, judged from its state right now."""
    current = repository.reload(session, application_id)
    if current is None:
        return Conflict("Den Vorgang gibt es nicht mehr.", "The case no longer exists.")
    details = {"current_version": current.version, "claimed_by": current.claimed_by}
    if current.status != Status.REVIEW:
        return Conflict(
            "Der Vorgang ist nicht mehr in Prüfung: er wurde inzwischen entschieden "
            f"({_status_de(current.status)}).",
            f"The case is no longer in review: it was decided in the meantime ({current.status}).",
            details=details,
        )
    if current.claimed_by and current.claimed_by != username:
        name = _display_name(session, current.claimed_by)
        since_de = datetime_text(current.claimed_at, "de")
        since_en = datetime_text(current.claimed_at, "en")
        return Conflict(
            f"Der Vorgang wird bereits von {name} bearbeitet (übernommen am {since_de}). "
            "Zwei Personen können einen Vorgang nicht gleichzeitig bearbeiten.",
            f"The case is already being worked on by {name} (claimed {since_en}). "
            "Two people cannot work on one case at the same time.",
            details=details,
        )
    if current.claimed_by is None and seen_version is not None:
        return Conflict(
            "Bitte übernehmen Sie den Vorgang zuerst; erst dann können Sie ihn bearbeiten.",
            "Please claim the case first; then you can work on it.",
            details=details,
        )
    return Conflict(
        "Der Vorgang wurde inzwischen geändert. Bitte prüfen Sie die aktuellen Angaben; "
        "Ihre Eingaben stehen unten noch im Formular.",
        "The case was changed in the meantime. Please check the current data; your input "
        "is still in the form below.",
        details=details,
    )


def _status_de(status: str) -> str:
    names = {"approved": "genehmigt", "rejected": "abgelehnt", "submitted": "eingegangen"}
    return names.get(status, status)


# --- claim and release --------------------------------------------------------------------


def claim(session: Session, application_id: str, version: int, user: auth.User) -> Application:
    """Take a case in review for oneself; a second clerk is refused with the reason."""
    application = get_case(session, application_id)
    if application.claimed_by == user.username and application.status == Status.REVIEW:
        return application  # claiming twice (a double click) is harmless
    if not repository.claim(session, application_id, version, user.username, now()):
        raise explain_refusal(session, application_id, user.username, None)
    application = _reloaded(session, application_id)
    intake_service.record(session, application, "claimed", user.username)
    return application


def release(session: Session, application_id: str, user: auth.User) -> Application:
    """Give a case back to the queue; administrators may release anyone's claim."""
    application = get_case(session, application_id)
    holder = application.claimed_by
    if holder is None:
        return application
    if holder != user.username and user.role != auth.Role.ADMIN:
        raise Forbidden(
            "Nur wer den Vorgang bearbeitet (oder eine Administratorin) kann ihn freigeben.",
            "Only the person working on the case (or an administrator) can release it.",
        )
    if not repository.release(session, application_id, holder):
        raise explain_refusal(session, application_id, user.username, None)
    application = _reloaded(session, application_id)
    details = {"holder": holder} if holder != user.username else {}
    intake_service.record(session, application, "released", user.username, details=details)
    return application


def _reloaded(session: Session, application_id: str) -> Application:
    application = repository.reload(session, application_id)
    assert application is not None
    return application


def _guard(session: Session, application_id: str, version: int, user: auth.User) -> Application:
    """Reserve the case's next version for this clerk's change, or explain why not."""
    if not repository.take_version(session, application_id, version, user.username):
        raise explain_refusal(session, application_id, user.username, version)
    return _reloaded(session, application_id)


# --- corrections ------------------------------------------------------------------------


@dataclass(slots=True)
class Correction:
    target: str  # "document" | "form"
    field: str  # a reading's field name, or a form path such as "persons.0.surname"
    value: str
    note: str = ""
    document_id: int | None = None


def correct(
    session: Session, application_id: str, version: int, user: auth.User, change: Correction
) -> Application:
    """Correct what was read from a document or what the citizen typed; audited."""
    application = get_case(session, application_id)
    if change.target == "document":
        document = _document_of(session, application, change.document_id)
        before, after = _prepare_document_change(document, change)
    elif change.target == "form":
        before, after, data = _prepare_form_change(application, change)
    else:
        raise InvalidInput(details=[{"field": "target", "code": "invalid"}])
    if _same(before, after):
        raise InvalidInput(
            "Der neue Wert ist derselbe wie der bisherige.",
            "The new value is the same as the current one.",
            details=[{"field": "value", "code": "unchanged"}],
        )
    application = _guard(session, application_id, version, user)
    details: dict[str, Any] = {
        "target": change.target,
        "field": change.field,
        "before": before,
        "after": after,
    }
    if change.target == "document":
        _write_document_field(document, change.field, after)
        session.add(document)
        details["document"] = document.file
    else:
        application.data_json = json.dumps(data, ensure_ascii=False)
        session.add(application)
    intake_service.record(
        session,
        application,
        "value_corrected",
        user.username,
        reason=change.note.strip()[:MAX_TEXT] or None,
        details=details,
    )
    return application


def _same(before: Any, after: Any) -> bool:
    return bool(before == after)


def _document_of(session: Session, application: Application, document_id: int | None) -> Document:
    document = session.get(Document, document_id) if document_id is not None else None
    if document is None or document.application_id != application.id:
        raise InvalidInput(
            "Dieses Dokument gehört nicht zum Vorgang.",
            "This document does not belong to the case.",
            details=[{"field": "document_id", "code": "invalid"}],
        )
    if document.reading_json is None:
        raise InvalidInput(
            "Das Dokument wurde nicht gelesen oder ist bereits gelöscht.",
            "The document was not read or has been deleted.",
            details=[{"field": "document_id", "code": "unread"}],
        )
    return document


LIST_FIELDS = {"residents"}
DATE_FIELDS = {"birth_date", "expiry_date", "move_in_date", "move_out_date"}


def _normalised_value(name: str, raw: str) -> str | list[str]:
    value = raw.strip()
    if len(value) > 500:
        raise InvalidInput(
            "Der Wert ist zu lang (höchstens 500 Zeichen).",
            "The value is too long (at most 500 characters).",
            details=[{"field": "value", "code": "too_long"}],
        )
    leaf = name.rsplit(".", 1)[-1]
    if leaf in LIST_FIELDS:
        return [part.strip() for part in re.split(r"[;\n]", value) if part.strip()]
    if leaf in DATE_FIELDS and value:
        iso = iso_date(value)
        if iso is None:
            raise InvalidInput(
                "Bitte geben Sie ein gültiges Datum ein, zum Beispiel 22.10.2026.",
                "Please enter a valid date, for example 2026-10-22.",
                details=[{"field": "value", "code": "invalid_date"}],
            )
        return iso
    return value


def _prepare_document_change(document: Document, change: Correction) -> tuple[Any, Any]:
    reading = json.loads(document.reading_json or "{}")
    if not re.fullmatch(r"[a-z_]{1,40}", change.field):
        raise InvalidInput(details=[{"field": "field", "code": "invalid"}])
    current = reading.get("fields", {}).get(change.field)
    before = current["value"] if current else None
    return before, _normalised_value(change.field, change.value)


def _write_document_field(document: Document, name: str, value: Any) -> None:
    reading = json.loads(document.reading_json or "{}")
    fields = reading.setdefault("fields", {})
    previous = fields.get(name) or {}
    fields[name] = {
        "value": value,
        "confidence": 1.0,  # a clerk looked at the document and entered it
        "source": "clerk",
        "page": previous.get("page"),
        "box": previous.get("box"),
    }
    document.reading_json = json.dumps(reading, ensure_ascii=False, default=str)


def form_leaf(fields: tuple[FormField, ...], path: str) -> FormField | None:
    """The form field a path like ``persons.0.surname`` or ``move_in_date`` names."""
    parts = path.split(".")
    current: FormField | None = None
    options = fields
    index = 0
    while index < len(parts):
        name = parts[index]
        current = next((f for f in options if f.name == name), None)
        if current is None:
            return None
        if current.type is FieldType.LIST:
            index += 1
            if index >= len(parts) or not parts[index].isdigit():
                return None
        options = current.fields
        index += 1
    if current is None or current.type in (FieldType.LIST, FieldType.GROUP):
        return None
    return current


def _prepare_form_change(
    application: Application, change: Correction
) -> tuple[Any, Any, dict[str, Any]]:
    service = get_service(application.service)
    leaf = form_leaf(service.form_fields, change.field)
    if leaf is None:
        raise InvalidInput(details=[{"field": "field", "code": "invalid"}])
    data = application.data
    before = get_path(data, change.field)
    after = _normalised_value(change.field, change.value)
    if leaf.type is FieldType.CHOICE and after not in {c[0] for c in leaf.choices}:
        raise InvalidInput(details=[{"field": "value", "code": "invalid_choice"}])
    if not set_path(data, change.field, after):
        raise InvalidInput(details=[{"field": "field", "code": "invalid"}])
    problems = [p for p in intake_service.check_form(data) if p.field.startswith(change.field)]
    if problems:
        raise InvalidInput(
            problems[0].message_de,
            problems[0].message_en,
            details=[{"field": "value", "code": problems[0].code}],
        )
    return before, after, data


def get_path(data: Mapping[str, Any], path: str) -> Any:
    current: Any = data
    for part in path.split("."):
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, Mapping):
            current = current.get(part)
        else:
            return None
    return current


def set_path(data: dict[str, Any], path: str, value: Any) -> bool:
    parts = path.split(".")
    current: Any = data
    for part in parts[:-1]:
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict):
            current = current.setdefault(part, {})
        else:
            return False
    if not isinstance(current, dict):
        return False
    current[parts[-1]] = value
    return True


# --- asking the citizen for a document ------------------------------------------------------


def request_document(
    session: Session,
    application_id: str,
    version: int,
    user: auth.User,
    slot: str,
    message: str,
    person: int | None = None,
) -> DocumentRequest:
    """Ask the citizen for another document: recorded, and the case waits for it.

    ``person`` (an index into the application's persons) says whose identity document
    is meant when several people register together.
    """
    application = get_case(session, application_id)
    slots = {req.slot for req in get_service(application.service).documents} | {OTHER_SLOT}
    problems = []
    if slot not in slots:
        problems.append({"field": "slot", "code": "invalid"})
    if person is not None and not 0 <= person < len(application.data.get("persons") or []):
        problems.append({"field": "person", "code": "invalid"})
    if not message.strip():
        problems.append({"field": "message", "code": "required"})
    if len(message) > MAX_TEXT:
        problems.append({"field": "message", "code": "too_long"})
    if problems:
        raise InvalidInput(
            "Bitte wählen Sie das Dokument und schreiben Sie der Antragstellerin oder dem "
            f"Antragsteller, was fehlt (höchstens {MAX_TEXT} Zeichen).",
            "Please choose the document and tell the applicant what is missing "
            f"(at most {MAX_TEXT} characters).",
            details=problems,
        )
    application = _guard(session, application_id, version, user)
    request = DocumentRequest(
        application_id=application.id,
        slot=slot,
        message=message.strip(),
        requested_by=user.username,
        requested_at=now(),
    )
    session.add(request)
    details: dict[str, Any] = {"message": request.message, "slot": slot}
    if person is not None:
        details["person"] = person
    intake_service.record(
        session, application, "document_requested", user.username, details=details
    )
    session.flush()
    return request


REQUEST_MAIL = {
    "de": (
        "Bitte reichen Sie ein Dokument nach ({reference})",
        "Guten Tag,\n\nzu Ihrem Antrag {reference} benötigen wir noch ein Dokument:\n\n"
        "{message}\n\nBitte laden Sie es auf Ihrer Statusseite hoch:\n{status_url}\n\n"
        "Mit freundlichen Grüßen\n{office}",
    ),
    "en": (
        "Please send us another document ({reference})",
        "Hello,\n\nfor your application {reference} we need another document:\n\n"
        "{message}\n\nPlease upload it on your status page:\n{status_url}\n\n"
        "Kind regards\n{office}",
    ),
}


def notify_document_request(
    session: Session,
    application: Application,
    request: DocumentRequest,
    settings: Settings | None = None,
) -> bool:
    """E-mail the citizen about a request, once (keyed by the request); commits itself.

    Called after the request is committed: a mail server that is down leaves the request
    in place (the citizen also sees it on the status page) and the failure recorded.
    """
    settings = settings or get_settings()
    kind = f"document-request-{request.id}"
    lang = application.language if application.language in REQUEST_MAIL else "de"
    subject, text = REQUEST_MAIL[lang]
    subject = subject.format(reference=application.reference)

    def compose() -> mail.Mail:
        assert application.citizen_email is not None
        return mail.Mail(
            to=application.citizen_email,
            subject=subject[:255],
            text=text.format(
                reference=application.reference,
                message=request.message,
                status_url=completion.status_url(application, settings),
                office=settings.office_name,
            ),
            message_id_key=f"{application.id}.{kind}",
        )

    try:
        return completion.send_once(session, application, kind, subject, compose, settings)
    except mail.MailError as exc:
        log.warning("request mail for %s not sent: %s", application.reference, exc)
        return False


def close_request(
    session: Session, application_id: str, version: int, user: auth.User
) -> Application:
    """The clerk received what was asked for by other means (post, counter, phone)."""
    application = _guard(session, application_id, version, user)
    repository.close_requests(session, application_id, user.username, now())
    intake_service.record(session, application, "document_request_closed", user.username)
    return application


# --- the decision --------------------------------------------------------------------------


def decide(
    session: Session,
    application_id: str,
    version: int,
    user: auth.User,
    outcome: str,
    reason: str,
    open_findings: int,
) -> Application:
    """Approve or reject a case the clerk holds; the finishing flow follows the event.

    Approving while the rules still find something needs a reason: the note is what a
    later reader of the audit trail needs to understand the decision.
    """
    if outcome not in (Status.APPROVED, Status.REJECTED):
        raise InvalidInput(
            "Bitte wählen Sie: genehmigen oder ablehnen.",
            "Please choose: approve or reject.",
            details=[{"field": "outcome", "code": "required"}],
        )
    if len(reason) > MAX_TEXT:
        raise InvalidInput(
            f"Die Begründung ist zu lang (höchstens {MAX_TEXT} Zeichen).",
            f"The reason is too long (at most {MAX_TEXT} characters).",
            details=[{"field": "reason", "code": "too_long"}],
        )
    if not reason.strip() and (outcome == Status.REJECTED or open_findings):
        raise InvalidInput(
            "Bitte begründen Sie die Entscheidung"
            + (
                " – die Prüfregeln finden noch Abweichungen." if outcome == Status.APPROVED else "."
            ),
            "Please give a reason for the decision"
            + (" – the rules still find differences." if outcome == Status.APPROVED else "."),
            details=[{"field": "reason", "code": "required"}],
        )
    application = _guard(session, application_id, version, user)
    processing.decide_by_clerk(session, application, outcome, reason, user.username, None)
    application.claimed_at = None
    session.add(application)
    repository.close_requests(session, application_id, user.username, now())
    return application


# --- accounts ------------------------------------------------------------------------------


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def create_account(
    session: Session,
    actor: auth.User,
    username: str,
    display_name: str,
    email: str,
    role: str,
) -> tuple[auth.User, str]:
    """A new clerk or administrator with a one-time password to change at first sign-in."""
    username = username.strip().lower()
    problems = []
    if not USERNAME_PATTERN.match(username):
        problems.append(
            {
                "field": "username",
                "code": "invalid",
                "message_de": "Der Benutzername besteht aus 2 bis 64 Kleinbuchstaben, "
                "Ziffern, Punkten, Binde- oder Unterstrichen.",
                "message_en": "The username has 2 to 64 lower-case letters, digits, dots, "
                "hyphens or underscores.",
            }
        )
    elif auth.get_user(session, username) is not None:
        problems.append(
            {
                "field": "username",
                "code": "taken",
                "message_de": "Diesen Benutzernamen gibt es schon.",
                "message_en": "This username is taken.",
            }
        )
    if role not in (auth.Role.CLERK, auth.Role.ADMIN):
        problems.append(
            {
                "field": "role",
                "code": "invalid",
                "message_de": "Bitte wählen Sie eine Rolle.",
                "message_en": "Please choose a role.",
            }
        )
    if email.strip() and ("@" not in email or len(email) > 254):
        problems.append(
            {
                "field": "email",
                "code": "invalid",
                "message_de": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
                "message_en": "Please enter a valid e-mail address.",
            }
        )
    if problems:
        raise InvalidInput(details=problems)
    password = one_time_password()
    user = auth.create_user(
        session,
        username,
        password,
        role=auth.Role(role),
        display_name=display_name.strip()[:128] or username,
        must_change_password=True,
    )
    user.email = email.strip() or None
    session.add(user)
    log.info("account %s (%s) created by %s", username, role, actor.username)
    return user, password


def _other_account(session: Session, actor: auth.User, user_id: int) -> auth.User:
    user = session.get(auth.User, user_id)
    if user is None:
        raise NotFound()
    if user.id == actor.id:
        raise Forbidden(
            "Das eigene Konto können Sie hier nicht ändern; das verhindert, dass sich die "
            "letzte Administratorin aussperrt.",
            "You cannot change your own account here; this keeps the last administrator "
            "from locking herself out.",
        )
    return user


def set_role(session: Session, actor: auth.User, user_id: int, role: str) -> auth.User:
    user = _other_account(session, actor, user_id)
    if role not in (auth.Role.CLERK, auth.Role.ADMIN):
        raise InvalidInput(details=[{"field": "role", "code": "invalid"}])
    user.role = role
    session.add(user)
    log.info("account %s: role %s, by %s", user.username, role, actor.username)
    return user


def set_active(session: Session, actor: auth.User, user_id: int, active: bool) -> auth.User:
    user = _other_account(session, actor, user_id)
    user.is_active = active
    session.add(user)
    if not active:
        _end_sessions(session, user)
    log.info("account %s: active=%s, by %s", user.username, active, actor.username)
    return user


def reset_password(session: Session, actor: auth.User, user_id: int) -> tuple[auth.User, str]:
    """A new one-time password; also lifts a lockout and ends the account's sessions."""
    user = _other_account(session, actor, user_id)
    password = one_time_password()
    user.password_hash = auth.hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    _end_sessions(session, user)
    log.info("account %s: password reset by %s", user.username, actor.username)
    return user, password


def _end_sessions(session: Session, user: auth.User) -> None:
    from servicepoint.sessions import WebSession

    for row in session.exec(select(WebSession).where(WebSession.user_id == user.id)):
        session.delete(row)


def change_password(
    session: Session, user: auth.User, current: str, new: str, repeated: str
) -> None:
    problems = []
    if not auth.verify_password(user.password_hash, current):
        problems.append(
            {
                "field": "current",
                "code": "wrong",
                "message_de": "Das bisherige Passwort stimmt nicht.",
                "message_en": "The current password is wrong.",
            }
        )
    if len(new) < MIN_PASSWORD_LENGTH:
        problems.append(
            {
                "field": "new",
                "code": "too_short",
                "message_de": f"Das neue Passwort muss mindestens {MIN_PASSWORD_LENGTH} "
                "Zeichen lang sein.",
                "message_en": f"The new password must have at least {MIN_PASSWORD_LENGTH} "
                "characters.",
            }
        )
    elif new == current:
        problems.append(
            {
                "field": "new",
                "code": "unchanged",
                "message_de": "Das neue Passwort muss sich vom bisherigen unterscheiden.",
                "message_en": "The new password must differ from the current one.",
            }
        )
    if new != repeated:
        problems.append(
            {
                "field": "repeated",
                "code": "mismatch",
                "message_de": "Die Wiederholung stimmt nicht mit dem neuen Passwort überein.",
                "message_en": "The repetition does not match the new password.",
            }
        )
    if problems:
        raise InvalidInput(details=problems)
    user.password_hash = auth.hash_password(new)
    user.must_change_password = False
    session.add(user)
