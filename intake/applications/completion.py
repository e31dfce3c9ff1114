"""Completing a case: the letter (HTML and PDF from one Jinja2 template), the export
record and the citizen's e-mail. Each artefact is written once per case; re-running
finds it and does nothing twice."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from intake.applications.models import Application, Notification, Status
from servicepoint import mail
from servicepoint.auth import utcnow
from servicepoint.settings import Settings, get_settings

if TYPE_CHECKING:
    from fpdf import FPDF

log = logging.getLogger(__name__)

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)

TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "approved": {
        "de": {
            "title": "Meldebestätigung",
            "reference": "Aktenzeichen",
            "date": "Datum",
            "intro": "Hiermit bestätigen wir die Anmeldung der folgenden Person(en) unter der "
            "neuen Anschrift (§ 24 Abs. 2 Bundesmeldegesetz).",
            "persons": "Angemeldete Personen",
            "name": "Name",
            "birth_date": "Geburtsdatum",
            "birth_place": "Geburtsort",
            "address": "Neue Anschrift",
            "move_in": "Einzugsdatum",
            "residence": "Art der Wohnung",
            "main": "Hauptwohnung",
            "secondary": "Nebenwohnung",
            "previous": "Bisherige Anschrift",
            "closing": "Bitte bewahren Sie diese Bestätigung gut auf. Die Anschrift auf Ihrem "
            "Personalausweis wird beim nächsten Besuch im Bürgeramt aktualisiert.",
            "signature": "Mit freundlichen Grüßen",
            "automatic": "Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift "
            "gültig.",
            "subject": "Ihre Anmeldung ist abgeschlossen",
            "mail": "Guten Tag,\n\nIhre Anmeldung ({reference}) ist abgeschlossen. Die "
            "Meldebestätigung finden Sie im Anhang und auf Ihrer Statusseite:\n{status_url}\n\n"
            "Mit freundlichen Grüßen\n{office}",
        },
        "en": {
            "subject": "Your registration is complete",
            "mail": "Hello,\n\nyour registration ({reference}) is complete. The confirmation "
            "is attached and on your status page:\n{status_url}\n\nKind regards\n{office}",
        },
    },
    "rejected": {
        "de": {
            "title": "Bescheid über Ihre Anmeldung",
            "reference": "Aktenzeichen",
            "date": "Datum",
            "intro": "Ihre Anmeldung konnten wir leider nicht abschließen.",
            "reason_heading": "Begründung",
            "next_steps": "Sie können die Anmeldung mit den richtigen Unterlagen jederzeit neu "
            "stellen oder eine Videosprechstunde buchen; wir helfen Ihnen gern.",
            "remedy_heading": "Rechtsbehelfsbelehrung",
            "remedy": "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Klage "
            "beim Verwaltungsgericht Hannover, Leonhardtstraße 15, 30175 Hannover, erhoben "
            "werden.",
            "signature": "Mit freundlichen Grüßen",
            "subject": "Ihre Anmeldung: Bescheid",
            "mail": "Guten Tag,\n\nIhre Anmeldung ({reference}) konnten wir leider nicht "
            "abschließen. Den Bescheid mit der Begründung finden Sie im Anhang und auf Ihrer "
            "Statusseite:\n{status_url}\n\nMit freundlichen Grüßen\n{office}",
        },
        "en": {
            "subject": "Your registration: decision",
            "mail": "Hello,\n\nunfortunately we could not complete your registration "
            "({reference}). The decision with its reasons is attached and on your status "
            "page:\n{status_url}\n\nKind regards\n{office}",
        },
    },
}


@dataclass(slots=True)
class Letter:
    kind: str
    html_path: Path
    pdf_path: Path


def german_date(value: str | date | None) -> str:
    if not value:
        return "–"
    parsed = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{parsed:%d.%m.%Y}"


def case_dir(application: Application, settings: Settings) -> Path:
    path = settings.shared_data_dir / "cases" / application.id
    path.mkdir(parents=True, exist_ok=True)
    return path


def render_letter_html(application: Application, kind: str, settings: Settings) -> str:
    from servicepoint.web import templates  # the web layer is imported when a letter is due

    templates.filters.setdefault("german_date", german_date)
    template = templates.get_template(f"letters/{kind}.html")
    return template.render(
        t=TEXTS[kind]["de"],
        application=application,
        data=application.data,
        reason=application.outcome_reason or "",
        today=german_date(datetime.now(UTC).date()),
        office=f"Landeshauptstadt {settings.city_name} – {settings.office_name}",
    )


def html_to_pdf(html: str, title: str) -> bytes:
    from fpdf import FPDF  # ~0.3 s to import: only flow runs that write letters pay it

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author("Landeshauptstadt Hannover")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    family = _unicode_font(pdf)
    pdf.set_font(family, size=11)
    pdf.write_html(html, font_family=family)
    return bytes(pdf.output())


def _unicode_font(pdf: FPDF) -> str:
    for folder in _FONT_DIRS:
        regular = folder / "DejaVuSans.ttf"
        if regular.is_file():
            pdf.add_font("DejaVu", "", str(regular))
            for style, name in (
                ("B", "DejaVuSans-Bold.ttf"),
                ("I", "DejaVuSans-Oblique.ttf"),
                ("BI", "DejaVuSans-BoldOblique.ttf"),
            ):
                if (folder / name).is_file():
                    pdf.add_font("DejaVu", style, str(folder / name))
            return "DejaVu"
    return "helvetica"  # latin-1 only; the bootstrap installs DejaVu


def ensure_letter(application: Application, settings: Settings | None = None) -> Letter:
    """Write the case's letter (HTML and PDF) once; later calls return the same files."""
    settings = settings or get_settings()
    kind = "approved" if application.status == Status.APPROVED else "rejected"
    folder = case_dir(application, settings)
    html_path, pdf_path = folder / f"{kind}.html", folder / f"{kind}.pdf"
    if not pdf_path.exists():
        html = render_letter_html(application, kind, settings)
        _atomic_write(html_path, html.encode("utf-8"))
        _atomic_write(pdf_path, html_to_pdf(html, TEXTS[kind]["de"]["title"]))
    return Letter(kind, html_path, pdf_path)


def export_record(application: Application) -> dict[str, Any]:
    """The machine-readable record of a completed registration (mapping: docs/xmeld.md)."""
    data = application.data
    return {
        "schema": "servicepoint.anmeldung/1",
        "reference": application.reference,
        "municipality": {"name": "Hannover", "ags": "03241001"},
        "decided_at": application.decided_at.isoformat() if application.decided_at else None,
        "decided_by": application.decided_by,
        "move_in_date": data.get("move_in_date"),
        "residence_type": data.get("residence_type"),
        "new_address": data.get("new_address"),
        "previous_address": data.get("previous_address"),
        "persons": [
            {
                k: p.get(k)
                for k in (
                    "surname",
                    "given_names",
                    "birth_date",
                    "birth_place",
                    "nationality",
                    "id_document_type",
                    "id_document_number",
                )
            }
            for p in data.get("persons", [])
        ],
    }


def ensure_export(application: Application, settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    target = settings.shared_data_dir / "exports" / f"{application.reference}.json"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        content = json.dumps(export_record(application), ensure_ascii=False, indent=2)
        _atomic_write(target, content.encode("utf-8"))
    return target


UNKNOWN_OUTCOME = "delivery outcome unknown: the sender stopped during delivery; not resent"


def send_once(
    session: Session,
    application: Application,
    kind: str,
    subject: str,
    compose: Callable[[], mail.Mail],
    settings: Settings | None = None,
) -> bool:
    """Send the citizen one e-mail per case and ``kind``; True when it was sent now.

    The claim (a notification row) is committed before anything leaves the house, so a
    re-run never sends twice once delivery succeeded; a failed delivery is recorded and
    :class:`mail.MailError` raised for the caller to retry or report. Commits itself.
    """
    settings = settings or get_settings()
    if not application.citizen_email:
        return False
    row = session.exec(
        select(Notification).where(
            Notification.application_id == application.id, Notification.kind == kind
        )
    ).first()
    if row is not None and row.sent_at is not None:
        return False
    if row is not None and row.attempts > 0 and row.last_error in (None, UNKNOWN_OUTCOME):
        # An attempt started and never reported back: its sender died during delivery
        # (or is still delivering). The citizen may have the e-mail already; sending
        # again could make it two, so it is left for a person to check.
        if row.last_error is None:
            row.last_error = UNKNOWN_OUTCOME
            session.add(row)
            session.commit()
            log.warning(
                "e-mail %s for %s: delivery outcome unknown, not resent",
                kind,
                application.reference,
            )
        return False
    if row is None:
        row = Notification(
            application_id=application.id,
            kind=kind,
            recipient=application.citizen_email,
            subject=subject[:255],
        )
        session.add(row)
        session.commit()
    message = compose()
    # The attempt is on record before anything leaves the house (see above).
    row.attempts += 1
    row.last_error = None
    session.add(row)
    session.commit()
    try:
        mail.send(message, settings)
    except mail.MailError as exc:
        row.last_error = str(exc)[:500]
        session.add(row)
        session.commit()
        raise
    row.sent_at = utcnow()
    session.add(row)
    session.commit()
    return True


def status_url(application: Application, settings: Settings) -> str:
    return f"{settings.effective_public_url}/antrag/{application.id}"


def notify_once(
    session: Session, application: Application, letter: Letter, settings: Settings | None = None
) -> bool:
    """Send the citizen the outcome e-mail at most once per case; True when sent now."""
    settings = settings or get_settings()
    kind = f"outcome-{letter.kind}"
    lang = application.language if application.language in ("de", "en") else "de"
    texts = TEXTS[letter.kind][lang]

    def compose() -> mail.Mail:
        assert application.citizen_email is not None
        return mail.Mail(
            to=application.citizen_email,
            subject=f"{texts['subject']} ({application.reference})",
            text=texts["mail"].format(
                reference=application.reference,
                status_url=status_url(application, settings),
                office=settings.office_name,
            ),
            attachments=[
                mail.Attachment(
                    letter.pdf_path.name, letter.pdf_path.read_bytes(), "application/pdf"
                )
            ],
            message_id_key=f"{application.id}.{kind}",
        )

    return send_once(session, application, kind, texts["subject"], compose, settings)


def _atomic_write(target: Path, content: bytes) -> None:
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_bytes(content)
    temporary.replace(target)
