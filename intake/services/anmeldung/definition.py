"""The service definition, registered once its rules are."""

from __future__ import annotations

from intake.applications.documents import IDENTITY_FIELDS, LANDLORD_FIELDS, DocType
from intake.services.anmeldung import (  # noqa: F401  (their rules register on import)
    identity,
    landlord,
    registration,
    required,
)
from intake.services.anmeldung.fields import DOCUMENTS, FORM_FIELDS
from intake.services.base import (
    ServiceDefinition,
    register_service,
)

ANMELDUNG = register_service(
    ServiceDefinition(
        id="anmeldung",
        name_de="Anmeldung einer Wohnung",
        name_en="Registering your address",
        legal_basis="§§ 17, 19 Bundesmeldegesetz (BMG)",
        form_fields=FORM_FIELDS,
        documents=DOCUMENTS,
        rules=(
            "anmeldung.document_types",
            "anmeldung.required_documents",
            "anmeldung.identity",
            "anmeldung.landlord_confirmation",
            "anmeldung.residents",
            "anmeldung.deadline",
            "anmeldung.city",
        ),
        deadline_days=14,
        # Calibrated on anmeldung-dev (2 runs, 499 extracted values each): every value the
        # reader got wrong was either below 0.75 (OCR debris in a landlord's name at 0.07,
        # a nationality at 0.30, a street at 0.73) or was caught by the comparison with the
        # form (a resident's name misread at 0.97). 0.9 keeps every uncorroborated wrong
        # value out with a wide margin and costs no correct value of a truth-"auto" case
        # that the form does not corroborate; 0.5 is the floor for a value the form (or the
        # other zone of an ID) agrees with, below which values were mostly debris.
        min_field_confidence=0.9,
        min_corroborated_confidence=0.5,
        min_type_confidence=0.6,
        settings={
            "city": "Hannover",
            "city_aliases": ("Hanover",),
            "postal_codes": "hannover_postal_codes.csv",
            "document_fields": {
                str(DocType.ID_CARD): IDENTITY_FIELDS,
                str(DocType.PASSPORT): IDENTITY_FIELDS,
                str(DocType.LANDLORD_CONFIRMATION): LANDLORD_FIELDS,
            },
        },
    )
)
