"""The Anmeldung journey's pages: which questions each step asks, parsing what the citizen
typed, and the errors shown in the error summary and beside each field.

Labels, hints and choices come from the service definition
(``get_service("anmeldung").form_fields``); the checks here are the ones a citizen can fix
on the page (a required answer, a date that is a real date, a postal code in the city).
The rules engine (:func:`intake.services.decision.validate_application`) stays the server-side truth
for the data shape and runs again when the application is submitted.

Error messages are English message ids translated through the message catalogue
(``intake/locale/de.po``); messages that come from elsewhere (an upload refused by
:func:`intake.applications.uploads.validate_upload`) carry their own German and English text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from intake.reading.normalize import normalize_postal_code, parse_date, postal_codes, same_city
from intake.services import FieldType, FormField, ServiceDefinition, get_service
from servicepoint import i18n

SERVICE_ID = "anmeldung"
OLDEST_DATE = date(1900, 1, 1)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem: ``target`` is the id of the input the summary link moves focus to."""

    target: str
    msgid: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    text_de: str = ""
    text_en: str = ""
    url: str = ""  # another page, when the problem is fixed there (check answers)

    def text(self, lang: str) -> str:
        if self.text_de or self.text_en:
            return self.text_en if lang == "en" else self.text_de
        message = i18n.translations(lang).gettext(self.msgid)
        return message % dict(self.params) if self.params else message


@dataclass(frozen=True, slots=True)
class ShownError:
    """An error as a page shows it: the link target and the text in the page's language."""

    target: str
    text: str
    href: str


def shown(errors: Sequence[FieldError], lang: str) -> list[ShownError]:
    return [ShownError(e.target, e.text(lang), e.url or f"#{e.target}") for e in errors]


def errors_by_target(errors: Sequence[ShownError]) -> dict[str, str]:
    """The messages per input, for the message beside the field (several refused files
    in one file input each keep their own message)."""
    result: dict[str, str] = {}
    for error in errors:
        result[error.target] = (
            f"{result[error.target]} {error.text}" if error.target in result else error.text
        )
    return result


# --- the service definition -----------------------------------------------------------


def service() -> ServiceDefinition:
    return get_service(SERVICE_ID)


def form_field(name: str) -> FormField:
    for candidate in service().form_fields:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def person_fields() -> tuple[FormField, ...]:
    return form_field("persons").fields


def address_fields() -> tuple[FormField, ...]:
    return form_field("new_address").fields


def previous_address_fields() -> tuple[FormField, ...]:
    return form_field("previous_address").fields


def options(member: FormField, lang: str) -> list[tuple[str, str, str]]:
    """(value, label, hint) of a choice field in the page's language."""
    return [(value, en if lang == "en" else de, "") for value, de, en in member.choices]


def max_persons() -> int:
    return form_field("persons").max_items or 10


# --- messages ------------------------------------------------------------------------
# (page, field, problem) -> English message id. Problems: required, too_long, format,
# date, past, future, choice, city.

MESSAGES: dict[tuple[str, str, str], str] = {
    ("person", "surname", "required"): "Enter the surname",
    ("person", "surname", "too_long"): "The surname must be %(max)s characters or fewer",
    ("person", "given_names", "required"): "Enter the given names",
    ("person", "given_names", "too_long"): "The given names must be %(max)s characters or fewer",
    ("person", "birth_date", "required"): "Enter the date of birth",
    ("person", "birth_date", "date"): "The date of birth must be a real date, for example "
    "16.07.1990",
    ("person", "birth_date", "past"): "The date of birth must be in the past",
    ("person", "birth_place", "required"): "Enter the place of birth",
    ("person", "birth_place", "too_long"): "The place of birth must be %(max)s characters or fewer",
    ("person", "nationality", "required"): "Enter the nationality",
    ("person", "nationality", "too_long"): "The nationality must be %(max)s characters or fewer",
    ("person", "id_document_type", "required"): "Select the identity document",
    ("person", "id_document_type", "choice"): "Select the identity document",
    ("person", "id_document_number", "required"): "Enter the document number",
    ("person", "id_document_number", "format"): "The document number has 5 to 20 letters "
    "and digits",
    ("person", "id_document_number", "too_long"): "The document number has 5 to 20 letters "
    "and digits",
    ("address", "street", "required"): "Enter the street",
    ("address", "street", "too_long"): "The street must be %(max)s characters or fewer",
    ("address", "house_number", "required"): "Enter the house number",
    ("address", "house_number", "too_long"): "The house number must be %(max)s characters or fewer",
    ("address", "address_suffix", "too_long"): "The address addition must be %(max)s "
    "characters or fewer",
    ("address", "postal_code", "required"): "Enter the postal code",
    ("address", "postal_code", "format"): "The postal code has 5 digits, for example 30159",
    ("address", "postal_code", "city"): "The postal code %(code)s is not in Hannover. You "
    "can only register a home in Hannover here",
    ("address", "city", "required"): "Enter the city",
    ("address", "city", "too_long"): "The city must be %(max)s characters or fewer",
    ("address", "city", "city"): "Enter Hannover as the city. You can only register a home in "
    "Hannover here",
    ("move_in", "move_in_date", "required"): "Enter the move-in date",
    ("move_in", "move_in_date", "date"): "The move-in date must be a real date, for example "
    "01.10.2026",
    ("move_in", "move_in_date", "future"): "The move-in date cannot be in the future. You can "
    "register once you have moved in",
    ("move_in", "move_in_date", "past"): "The move-in date must be after 1900",
    ("residence", "residence_type", "required"): "Select whether the flat is your main or "
    "secondary residence",
    ("residence", "residence_type", "choice"): "Select whether the flat is your main or "
    "secondary residence",
    ("previous", "street", "required"): "Enter the street and house number of your previous "
    "home, or leave all fields empty",
    ("previous", "street", "too_long"): "The street must be %(max)s characters or fewer",
    ("previous", "postal_code", "too_long"): "The postal code must be %(max)s characters or fewer",
    ("previous", "city", "required"): "Enter the city of your previous home, or leave all "
    "fields empty",
    ("previous", "city", "too_long"): "The city must be %(max)s characters or fewer",
    ("persons", "more_persons", "required"): "Select yes if someone else moves in with you",
    ("contact", "email", "format"): "Enter an e-mail address in the right format, for example "
    "name@example.org",
    ("contact", "email", "too_long"): "The e-mail address must be 254 characters or fewer",
    ("check", "declaration", "required"): "Confirm that your information is correct and complete",
}


def _error(page: str, name: str, problem: str, **params: Any) -> FieldError:
    msgid = MESSAGES.get((page, name, problem)) or MESSAGES[(page, name, "required")]
    return FieldError(name, msgid, params)


# --- parsing -------------------------------------------------------------------------


def clean(value: Any) -> str:
    """One line of text: surrounding and repeated whitespace removed, no control chars."""
    text = "".join(ch for ch in str(value or "") if ch.isprintable() or ch == " ")
    return " ".join(text.split())


def german_date(value: str | None) -> str:
    """An ISO date as the form shows it (TT.MM.JJJJ); other text unchanged."""
    parsed = parse_date(value) if value else None
    return f"{parsed:%d.%m.%Y}" if parsed else (value or "")


Extra = Callable[[str, str], str | None]  # (name, cleaned value) -> problem or None


def parse_fields(
    page: str,
    fields: Sequence[FormField],
    form: Mapping[str, Any],
    *,
    required: bool = True,
    extra: Extra | None = None,
) -> tuple[dict[str, str], list[FieldError]]:
    """Read ``fields`` from ``form``: values (dates as ISO) and errors in page order."""
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    for member in fields:
        raw = clean(form.get(member.name))
        values[member.name] = raw
        problem, params = _problem(member, raw, required)
        if problem is None and raw and extra is not None:
            problem = extra(member.name, raw)
        if problem is not None:
            if problem == "city":
                params = {"code": raw}
            errors.append(_error(page, member.name, problem, **params))
            continue
        if member.type is FieldType.DATE and raw:
            parsed = parse_date(raw)
            values[member.name] = parsed.isoformat() if parsed else raw
    return values, errors


def _problem(member: FormField, raw: str, required: bool) -> tuple[str | None, dict[str, Any]]:
    if not raw:
        return ("required" if member.required and required else None), {}
    if member.max_length is not None and len(raw) > member.max_length:
        return "too_long", {"max": member.max_length}
    if member.type is FieldType.DATE:
        parsed = parse_date(raw)
        if parsed is None:
            return "date", {}
        if parsed < OLDEST_DATE:
            return "past", {}
        return None, {}
    if member.choices and raw not in {choice[0] for choice in member.choices}:
        return "choice", {}
    if member.pattern and not re.fullmatch(member.pattern, raw):
        return "format", {}
    return None, {}


def parse_person(form: Mapping[str, Any], today: date) -> tuple[dict[str, str], list[FieldError]]:
    def extra(name: str, value: str) -> str | None:
        if name == "birth_date":
            born = parse_date(value)
            if born is not None and born > today:
                return "past"
        return None

    values, errors = parse_fields("person", person_fields(), form, extra=extra)
    number = values.get("id_document_number", "")
    values["id_document_number"] = number.replace(" ", "").upper()
    return values, errors


def in_city(postal_code: str, city: str) -> tuple[bool, bool]:
    """(postal code is the city's, city name is the city) by the service's own settings."""
    settings = service().settings
    codes = postal_codes(str(settings["postal_codes"]))
    aliases = [str(settings["city"]), *settings.get("city_aliases", ())]
    code_ok = normalize_postal_code(postal_code) in codes
    city_ok = any(same_city(city, alias) for alias in aliases)
    return code_ok, city_ok


def parse_address(form: Mapping[str, Any]) -> tuple[dict[str, str], list[FieldError]]:
    def extra(name: str, value: str) -> str | None:
        if name == "postal_code" and not in_city(value, "")[0]:
            return "city"
        if name == "city" and not in_city("", value)[1]:
            return "city"
        return None

    return parse_fields("address", address_fields(), form, extra=extra)


def parse_move_in(form: Mapping[str, Any], today: date) -> tuple[dict[str, str], list[FieldError]]:
    def extra(name: str, value: str) -> str | None:
        moved = parse_date(value)
        return "future" if moved is not None and moved > today else None

    return parse_fields("move_in", (form_field("move_in_date"),), form, extra=extra)


def parse_residence(form: Mapping[str, Any]) -> tuple[dict[str, str], list[FieldError]]:
    return parse_fields("residence", (form_field("residence_type"),), form)


def parse_previous(form: Mapping[str, Any]) -> tuple[dict[str, str] | None, list[FieldError]]:
    """The previous address is optional: all fields empty means there was none."""
    fields = previous_address_fields()
    if not any(clean(form.get(member.name)) for member in fields):
        return None, []
    return parse_fields("previous", fields, form)


def parse_more_persons(form: Mapping[str, Any]) -> tuple[str | None, list[FieldError]]:
    answer = clean(form.get("more_persons"))
    if answer not in ("yes", "no"):
        return None, [_error("persons", "more_persons", "required")]
    return answer, []


def parse_contact(form: Mapping[str, Any]) -> tuple[str, list[FieldError]]:
    email = clean(form.get("email"))
    if not email:
        return "", []
    if len(email) > 254:
        return email, [_error("contact", "email", "too_long")]
    if not EMAIL.match(email):
        return email, [_error("contact", "email", "format")]
    return email, []


def parse_declaration(form: Mapping[str, Any]) -> list[FieldError]:
    if clean(form.get("declaration")) != "yes":
        return [_error("check", "declaration", "required")]
    return []
