"""The Anmeldung (residence registration, §§ 17, 19 BMG) as a service definition and rules.

Decisions documented here, because the clerk's queue depends on them:

* Identity slot: an ID card and a passport are interchangeable. A passport uploaded
  where the form said "id_card" is not WRONG_DOCUMENT_TYPE; the document number is
  still compared, so a form that names another document ends in review anyway.
* Every upload is used for what it *is* (its classified type), not for the slot it was
  put in: a landlord slot holding something else is WRONG_DOCUMENT_TYPE, and then the
  landlord confirmation is MISSING_DOCUMENT unless another upload is one.
* Persons are matched to identity documents by document number, birth date and name,
  never by upload order; a person may have several (front and back of an ID card).
  Only when content gives no clue is a left-over document paired with a left-over
  person, and the comparisons then tell the clerk what differs.
* Birth date, document number and expiry are protected by the MRZ check digits; an
  identity document without a readable MRZ, or with failing check digits, never passes.
* Anything read without enough confidence (see :meth:`RuleContext.judge`) ends in
  UNREADABLE_DOCUMENT; when the uncertain value also differs from the form, the
  specific mismatch is reported beside it, marked ``"uncertain": true``.

The package's parts: ``fields`` (the form and the documents asked for), ``matching``
(documents to persons), ``findings`` (findings and comparisons), the rules by what they
judge (``required``, ``identity``, ``landlord``, ``registration``) and ``definition``
(the registered service). Others import from the package, not from its parts.
"""

from intake.applications.documents import IDENTITY_FIELDS, LANDLORD_FIELDS
from intake.services.anmeldung.definition import ANMELDUNG
from intake.services.anmeldung.fields import DOCUMENTS, FIELD_LABELS, FORM_FIELDS, IDENTITY_TYPES
from intake.services.anmeldung.identity import check_identity
from intake.services.anmeldung.landlord import (
    check_landlord_confirmation,
    check_residents,
    plausible_name,
)
from intake.services.anmeldung.matching import IdentityMatch, identity_match
from intake.services.anmeldung.registration import check_city, check_deadline
from intake.services.anmeldung.required import check_document_types, check_required_documents

__all__ = [
    "ANMELDUNG",
    "check_city",
    "check_deadline",
    "check_document_types",
    "check_identity",
    "check_landlord_confirmation",
    "check_required_documents",
    "check_residents",
    "DOCUMENTS",
    "FIELD_LABELS",
    "FORM_FIELDS",
    "IDENTITY_FIELDS",
    "identity_match",
    "IDENTITY_TYPES",
    "IdentityMatch",
    "LANDLORD_FIELDS",
    "plausible_name",
]
