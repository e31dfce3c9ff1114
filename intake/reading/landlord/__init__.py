"""Fields of a landlord confirmation (Wohnungsgeberbestätigung, § 19 BMG).

The extraction reads text, not pixels: it anchors on the wording that every such
confirmation must contain (who the landlord is, when who moved into which flat)
and validates what it finds with patterns for dates, postal codes, streets with
house numbers and personal names. The same code reads boxed forms, free-text
letters, born-digital PDFs and fillable PDFs (whose values are placed into the
page text where their widgets sit, so printed labels name them whatever the
fields are called; meaningful field names are used as well).

Every value carries a confidence that multiplies how sure the anchor is (an exact
label, a fuzzy one, a phrase in a letter, a bare pattern) with the OCR confidence
of the weakest word read and with penalties for anything implausible. Values that
were repaired (``IIse`` → ``Ilse``) or that two places on the page contradict are
returned with a confidence below the level at which a decision may rely on them.

The package's parts, in the order they depend on each other: ``text`` (lines, folding,
labels), ``values`` (patterns, repair, candidates), ``move`` (in or out), ``form`` (boxed
forms, fillable PDFs), ``letter`` (free text), ``choose`` (:func:`extract_landlord`).
Others import from the package, not from its parts.
"""

from intake.reading.landlord.choose import cap_move_in, choose, extract_landlord, landlord_elsewhere
from intake.reading.landlord.form import (
    LabelHit,
    acroform_candidates,
    form_address,
    form_landlord,
    form_move_in,
    form_residents,
)
from intake.reading.landlord.letter import (
    letter_address,
    letter_landlord,
    letter_move_in,
    letter_residents,
)
from intake.reading.landlord.move import MOVE_OUT_CEILING, move_direction_in_text, ticked_move
from intake.reading.landlord.text import (
    CITY_LABELS,
    CONTRADICTED,
    EXACT_LABEL,
    FIELDS,
    FLAT_LABELS,
    FUZZY_LABEL,
    LANDLORD_LABELS,
    LETTER_PHRASE,
    MOVE_IN_LABELS,
    OTHER_LABELS,
    POSTAL_CITY_LABELS,
    REPAIRED,
    RESIDENT_LABELS,
    STREET_LABELS,
    WEAK_ANCHOR,
    Document,
    Folded,
    Label,
    Line,
    Snippet,
    first_label,
    is_label_line,
    match_label,
    section_of,
)
from intake.reading.landlord.values import (
    Address,
    Candidate,
    is_company,
    name_penalty,
    ocr_factor,
    parse_address,
    parse_date,
    repair_name,
)

__all__ = [
    "acroform_candidates",
    "Address",
    "Candidate",
    "cap_move_in",
    "choose",
    "CITY_LABELS",
    "CONTRADICTED",
    "Document",
    "EXACT_LABEL",
    "extract_landlord",
    "FIELDS",
    "first_label",
    "FLAT_LABELS",
    "Folded",
    "form_address",
    "form_landlord",
    "form_move_in",
    "form_residents",
    "FUZZY_LABEL",
    "is_company",
    "is_label_line",
    "Label",
    "LabelHit",
    "landlord_elsewhere",
    "LANDLORD_LABELS",
    "letter_address",
    "letter_landlord",
    "letter_move_in",
    "LETTER_PHRASE",
    "letter_residents",
    "Line",
    "match_label",
    "move_direction_in_text",
    "MOVE_IN_LABELS",
    "MOVE_OUT_CEILING",
    "name_penalty",
    "ocr_factor",
    "OTHER_LABELS",
    "parse_address",
    "parse_date",
    "POSTAL_CITY_LABELS",
    "repair_name",
    "REPAIRED",
    "RESIDENT_LABELS",
    "section_of",
    "Snippet",
    "STREET_LABELS",
    "ticked_move",
    "WEAK_ANCHOR",
]
