"""The Anmeldung's form: its fields (persons, new and previous address), the fields read
from each kind of document, and the documents asked for.
"""

from __future__ import annotations

from typing import Any

from intake.applications.documents import DocType
from intake.services.base import (
    DocumentRequirement,
    DocumentScope,
    FieldType,
    FormField,
)

IDENTITY_TYPES = (DocType.ID_CARD, DocType.PASSPORT)

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "surname": ("Familienname", "surname"),
    "given_names": ("Vornamen", "given names"),
    "birth_date": ("Geburtsdatum", "date of birth"),
    "document_number": ("Ausweisnummer", "document number"),
    "expiry_date": ("Gültig bis", "date of expiry"),
    "nationality": ("Staatsangehörigkeit", "nationality"),
    "landlord_name": ("Name des Wohnungsgebers", "landlord's name"),
    "move_in_date": ("Einzugsdatum", "move-in date"),
    "street": ("Straße", "street"),
    "house_number": ("Hausnummer", "house number"),
    "postal_code": ("Postleitzahl", "postal code"),
    "city": ("Ort", "city"),
    "residents": ("einziehende Personen", "persons moving in"),
}


# --- the definition -------------------------------------------------------------------


def _text(name: str, de: str, en: str, **extra: Any) -> FormField:
    return FormField(name=name, type=FieldType.TEXT, label_de=de, label_en=en, **extra)


def _date(name: str, de: str, en: str, **extra: Any) -> FormField:
    return FormField(
        name=name,
        type=FieldType.DATE,
        label_de=de,
        label_en=en,
        pattern=r"\d{4}-\d{2}-\d{2}",
        **extra,
    )


_PERSON_FIELDS = (
    _text("surname", "Familienname", "Surname", max_length=80,
          hint_de="So wie im Ausweis oder Pass geschrieben.",
          hint_en="As written in your ID card or passport."),
    _text("given_names", "Vornamen", "Given names", max_length=120,
          hint_de="Alle Vornamen, wie im Ausweis oder Pass.",
          hint_en="All given names, as in your ID card or passport."),
    _date("birth_date", "Geburtsdatum", "Date of birth",
          hint_de="Zum Beispiel 16.07.1990.", hint_en="For example 16 July 1990."),
    _text("birth_place", "Geburtsort", "Place of birth", max_length=80),
    _text("nationality", "Staatsangehörigkeit", "Nationality", max_length=40,
          hint_de="Bei mehreren Staatsangehörigkeiten: alle angeben.",
          hint_en="If you have more than one nationality, give all of them."),
    FormField(
        name="id_document_type", type=FieldType.CHOICE,
        label_de="Ausweisdokument", label_en="Identity document",
        choices=(("id_card", "Personalausweis", "Identity card"),
                 ("passport", "Reisepass", "Passport")),
    ),
    _text("id_document_number", "Ausweisnummer", "Document number", max_length=20,
          pattern=r"[A-Za-z0-9 ]{5,20}",
          hint_de="Steht oben rechts auf dem Ausweis bzw. auf der Datenseite des Passes.",
          hint_en="Top right on the ID card, or on the passport's data page."),
)  # fmt: skip

_ADDRESS_FIELDS = (
    _text("street", "Straße", "Street", max_length=120),
    _text("house_number", "Hausnummer", "House number", max_length=12,
          hint_de="Mit Zusatz, zum Beispiel 12a.", hint_en="Including a suffix, e.g. 12a."),
    _text("address_suffix", "Adresszusatz", "Address addition", required=False,
          max_length=80, hint_de="Zum Beispiel Stockwerk oder Hinterhaus.",
          hint_en="For example floor or rear building."),
    _text("postal_code", "Postleitzahl", "Postal code", pattern=r"\d{5}"),
    _text("city", "Ort", "City", max_length=80),
)  # fmt: skip

_PREVIOUS_ADDRESS_FIELDS = (
    _text("street", "Straße und Hausnummer", "Street and house number", max_length=120),
    _text("postal_code", "Postleitzahl", "Postal code", required=False, max_length=12),
    _text("city", "Ort (und Staat, falls im Ausland)", "City (and country, if abroad)",
          max_length=80),
)  # fmt: skip

FORM_FIELDS = (
    FormField(
        name="persons", type=FieldType.LIST, label_de="Personen, die sich anmelden",
        label_en="People registering", fields=_PERSON_FIELDS, min_items=1, max_items=10,
        hint_de="Alle Personen, die gemeinsam in die Wohnung einziehen.",
        hint_en="Everyone moving into the flat together.",
    ),
    _date("move_in_date", "Einzugsdatum", "Move-in date",
          hint_de="Der Tag, an dem Sie eingezogen sind. Die Anmeldung muss innerhalb von "
                  "zwei Wochen danach erfolgen.",
          hint_en="The day you moved in. You must register within two weeks of it."),
    FormField(
        name="new_address", type=FieldType.GROUP, label_de="Neue Wohnung",
        label_en="New home", fields=_ADDRESS_FIELDS,
        hint_de="Die Adresse in Hannover, in die Sie eingezogen sind.",
        hint_en="The address in Hannover you moved into.",
    ),
    FormField(
        name="previous_address", type=FieldType.GROUP, label_de="Bisherige Wohnung",
        label_en="Previous home", fields=_PREVIOUS_ADDRESS_FIELDS, required=False,
        hint_de="Leer lassen, wenn Sie bisher keine Wohnung hatten (zum Beispiel bei Geburt).",
        hint_en="Leave empty if you had no home before (for example at birth).",
    ),
    FormField(
        name="residence_type", type=FieldType.CHOICE, label_de="Art der Wohnung",
        label_en="Type of residence",
        choices=(("main", "Hauptwohnung", "Main residence"),
                 ("secondary", "Nebenwohnung", "Secondary residence")),
    ),
)  # fmt: skip

DOCUMENTS = (
    DocumentRequirement(
        slot="identity", scope=DocumentScope.PERSON, accepted_types=IDENTITY_TYPES,
        label_de="Personalausweis oder Reisepass", label_en="Identity card or passport",
        hint_de="Beim Personalausweis Vorder- und Rückseite. Gut lesbar, nicht abgelaufen.",
        hint_en="For an identity card both sides. Clearly legible, not expired.",
    ),
    DocumentRequirement(
        slot="landlord_confirmation", scope=DocumentScope.HOUSEHOLD,
        accepted_types=(DocType.LANDLORD_CONFIRMATION,),
        label_de="Wohnungsgeberbestätigung", label_en="Landlord confirmation",
        hint_de="Die Bestätigung Ihres Vermieters oder Wohnungsgebers nach § 19 BMG.",
        hint_en="Your landlord's confirmation under § 19 BMG (Federal Registration Act).",
    ),
)  # fmt: skip
