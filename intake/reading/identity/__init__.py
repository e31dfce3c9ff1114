"""Identity cards and passports: the machine-readable zone and the visual zone.

:func:`read_identity` is called by :mod:`intake.reading.reader` for documents classified
as ``id_card`` or ``passport``. It returns the six identity fields of CONTRACTS
§1 and the MRZ it read.

Reading the MRZ. Stock tesseract models read the OCR-B zone poorly, mostly
because of its wide letter spacing and the long runs of ``<`` fillers. The zone
is therefore located from the page OCR (lines of ``[A-Z0-9<]`` with fillers),
cut out, straightened and cut into its character cells by projection profiles
(the font is monospaced); the fillers are recognised by their shape, and only
the remaining glyphs are OCRed, packed tightly into short lines as ordinary
text is. The known cell layout aligns every OCR answer to its column; a first
reading that verifies completely is taken, else several readings vote per cell,
glyphs in doubt are compared with the zone's own glyphs of known identity
(digits under a passing check digit, letters of the name), and :mod:`intake.reading.mrz`
repairs look-alikes with field semantics and check digits. A page read upside
down (fillers read as ``>``) is turned and read again.

Reading the visual zone. Labels (``Name / Surname``, ``Geburtstag / Date of
birth`` ...) anchor the values printed below them in the page OCR; values that
the MRZ confirms get high confidence, values that contradict it are reported in
a ``mrz_viz_mismatch`` field so that the case goes to a clerk.

The package's parts, in the order they depend on each other: ``find`` (the zone), ``read``
(OCR of its cells), ``visual`` (the printed zone), ``vote`` (deciding the MRZ), ``score``
(fields and confidences), ``document`` (:func:`read_identity`). Others import from the
package, not from its parts.
"""

from intake.applications.documents import IDENTITY_FIELDS
from intake.reading.identity.document import read_identity
from intake.reading.identity.find import (
    MRZ_WHITELIST,
    Cell,
    Glyph,
    _crop_box,
    _glyph_distance,
    _mrz_rows,
    segment_mrz,
    visual_rows,
)
from intake.reading.identity.read import _MRZ_STAGES, _CellVotes, read_mrz_cells
from intake.reading.identity.score import (
    CONF_AGREE_UNVERIFIED,
    CONF_CHECKED,
    CONF_CHOSEN_BY_CHECK,
    CONF_CONFIRMED,
    CONF_CONFLICT,
    CONF_MRZ_NAME,
    CONF_MRZ_NATIONALITY,
    CONF_PRINTED_NUMBER,
    CONF_READINGS_DIFFER,
    CONF_UNLABELLED,
    CONF_UNVERIFIED,
    CONF_VIZ_CREDIBLE,
    CONF_VIZ_MAX,
    MISMATCH_FIELD,
    align_name_to_mrz,
)
from intake.reading.identity.visual import (
    SERIAL_ALPHABET,
    parse_printed_date,
    read_visual_zone,
    reread_serial,
)
from intake.reading.identity.vote import MrzReading, _decide_mrz, _verified, read_page_mrz

__all__ = [
    "_CellVotes",
    "_crop_box",
    "_decide_mrz",
    "_glyph_distance",
    "_mrz_rows",
    "_MRZ_STAGES",
    "_verified",
    "align_name_to_mrz",
    "Cell",
    "CONF_AGREE_UNVERIFIED",
    "CONF_CHECKED",
    "CONF_CHOSEN_BY_CHECK",
    "CONF_CONFIRMED",
    "CONF_CONFLICT",
    "CONF_MRZ_NAME",
    "CONF_MRZ_NATIONALITY",
    "CONF_PRINTED_NUMBER",
    "CONF_READINGS_DIFFER",
    "CONF_UNLABELLED",
    "CONF_UNVERIFIED",
    "CONF_VIZ_CREDIBLE",
    "CONF_VIZ_MAX",
    "Glyph",
    "IDENTITY_FIELDS",
    "MISMATCH_FIELD",
    "MRZ_WHITELIST",
    "MrzReading",
    "parse_printed_date",
    "read_identity",
    "read_mrz_cells",
    "read_page_mrz",
    "read_visual_zone",
    "reread_serial",
    "segment_mrz",
    "SERIAL_ALPHABET",
    "visual_rows",
]
