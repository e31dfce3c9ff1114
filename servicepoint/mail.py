"""Outgoing e-mail: SMTP when configured, otherwise a local mail folder (``DATA_DIR/mail``).

Callers make sending idempotent (a notification row per case and kind); this module only
delivers one message.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from servicepoint.settings import Settings, get_settings


@dataclass(slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(slots=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    message_id_key: str | None = None  # stable Message-ID, e.g. the notification key


class MailError(RuntimeError):
    """The message could not be delivered (a transient failure: callers retry)."""


def build_message(mail: Mail, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=True)
    domain = settings.mail_from.rpartition("@")[2] or "servicepoint.local"
    if mail.message_id_key:
        message["Message-ID"] = f"<{mail.message_id_key}@{domain}>"
    else:
        message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def send(mail: Mail, settings: Settings | None = None) -> str:
    """Deliver ``mail``; returns where it went (SMTP host or the file written)."""
    settings = settings or get_settings()
    message = build_message(mail, settings)
    if not settings.smtp_host:
        return str(_write_to_folder(message, settings.mail_dir))
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"mail to {mail.to} not delivered: {exc}") from exc
    return f"smtp://{settings.smtp_host}:{settings.smtp_port}"


def _write_to_folder(message: EmailMessage, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = str(message["Message-ID"]).strip("<>").replace("/", "_")
    target = folder / f"{name}.eml"
    temporary = target.with_suffix(".eml.tmp")
    temporary.write_bytes(bytes(message))
    temporary.replace(target)
    return target
