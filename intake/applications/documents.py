"""Shared value types of document understanding.

Every stage of the reading pipeline (text layer, OCR, MRZ, field extraction,
classification) speaks in these types, so that the evaluation command, the
Prefect flows and the clerk's case view all see the same thing.
Coordinates are pixels of the page image as rendered for the clerk (see
``PageText.width``/``height``); for text-layer PDFs they are PDF points scaled to
the same 300 dpi raster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class DocType(StrEnum):
    ID_CARD = "id_card"
    PASSPORT = "passport"
    LANDLORD_CONFIRMATION = "landlord_confirmation"
    OTHER = "other"


class TextSource(StrEnum):
    PDF_TEXT = "pdf_text"  # the text layer of a born-digital PDF
    ACROFORM = "acroform"  # values of a fillable PDF's form fields
    OCR = "ocr"  # tesseract on a page image


# The fields read from each kind of document (CONTRACTS §1), in the order they are shown.
IDENTITY_FIELDS = (
    "surname",
    "given_names",
    "birth_date",
    "document_number",
    "expiry_date",
    "nationality",
)
LANDLORD_FIELDS = (
    "landlord_name",
    "move_in_date",
    "street",
    "house_number",
    "postal_code",
    "city",
    "residents",
)

# FieldValue.source of a document number read from an ID card's printed front (OCR):
# without a check digit of its own, the decision trusts it only when the form agrees.
PRINTED_NUMBER = "printed_number"

Box = tuple[int, int, int, int]  # x0, y0, x1, y1


@dataclass(slots=True)
class Word:
    text: str
    confidence: float  # 0..1
    box: Box
    line: int = 0  # running line number on the page, for reading order


@dataclass(slots=True)
class PageText:
    index: int
    width: int
    height: int
    source: TextSource
    text: str
    words: list[Word] = field(default_factory=list)
    rotation: int = 0  # degrees the page was turned (clockwise) before reading
    skew: float = 0.0  # degrees of deskew applied
    crop: Box | None = None  # part of the upload's (upright-by-EXIF, grey) image that was read

    @property
    def mean_confidence(self) -> float:
        if not self.words:
            return 1.0 if self.source is not TextSource.OCR and self.text.strip() else 0.0
        return sum(w.confidence for w in self.words) / len(self.words)


@dataclass(slots=True)
class FieldValue:
    value: str | list[str]
    confidence: float  # 0..1; below the decision threshold the case goes to review
    source: TextSource | str = TextSource.OCR
    page: int | None = None
    box: Box | None = None


@dataclass(slots=True)
class MRZResult:
    format: str  # "TD1" or "TD3"
    lines: list[str]
    checks: dict[str, bool]
    fields: dict[str, str]
    corrected: bool = False  # look-alike characters were swapped to satisfy a check digit

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "lines": list(self.lines),
            "checks": dict(self.checks),
            "valid": self.valid,
        }


@dataclass(slots=True)
class DocumentReading:
    """What the system saw in one uploaded file."""

    file: str
    media_type: str
    type: DocType
    type_confidence: float
    fields: dict[str, FieldValue] = field(default_factory=dict)
    pages: list[PageText] = field(default_factory=list)
    mrz: MRZResult | None = None
    problems: list[str] = field(default_factory=list)  # e.g. "encrypted", "unreadable"
    ocr_used: bool = False
    seconds: float = 0.0

    def field_values(self) -> dict[str, str | list[str]]:
        return {name: f.value for name, f in self.fields.items()}

    def confidences(self) -> dict[str, float]:
        return {name: round(f.confidence, 3) for name, f in self.fields.items()}

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = str(self.type)
        data["mrz"] = self.mrz.as_json() if self.mrz else None
        return data
