"""The domain error hierarchy, mapped to responses by one handler in ``servicepoint.app``.

HTML pages get a German (or English) error page, the API gets JSON. Services raise these;
views never build error responses by hand.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    message_de = "Die Anfrage konnte nicht bearbeitet werden."
    message_en = "The request could not be processed."

    def __init__(
        self,
        message_de: str | None = None,
        message_en: str | None = None,
        *,
        details: Any = None,
        code: str | None = None,
    ) -> None:
        self.message_de = message_de or self.message_de
        self.message_en = message_en or message_de or self.message_en
        self.details = details
        if code:
            self.code = code
        super().__init__(self.message_en)

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_de


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    message_de = "Die Seite oder der Vorgang wurde nicht gefunden."
    message_en = "The page or case was not found."


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"
    message_de = "Bitte melden Sie sich an."
    message_en = "Please sign in."


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    message_de = "Dafür fehlt Ihnen die Berechtigung."
    message_en = "You are not allowed to do this."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    message_de = "Der Vorgang wurde inzwischen geändert."
    message_en = "The case was changed in the meantime."


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"
    message_de = "Die Angaben sind nicht vollständig oder nicht gültig."
    message_en = "The input is incomplete or invalid."


class TooLarge(DomainError):
    status_code = 413
    code = "too_large"
    message_de = "Die Datei ist zu groß."
    message_en = "The file is too large."


class UnsupportedType(DomainError):
    status_code = 415
    code = "unsupported_type"
    message_de = "Dieser Dateityp wird nicht angenommen."
    message_en = "This file type is not accepted."


class Unavailable(DomainError):
    status_code = 503
    code = "unavailable"
    message_de = "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es später."
    message_en = "The service is unavailable right now. Please try again later."
