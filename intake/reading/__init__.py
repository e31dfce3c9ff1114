"""Reading documents: pages, OCR, the text layer, classification, identity documents and
their MRZ, the landlord confirmation's fields.

Public face: the modules in ``__all__``. Others (``intake.applications``, ``flows``,
``backoffice``, ``bench``) read a file through :mod:`intake.reading.reader`
(``read_document``), a page through :mod:`intake.reading.ocr`, a PDF's text layer through
:mod:`intake.reading.pdftext`, and compare names, streets and dates with
:mod:`intake.reading.names` and :mod:`intake.reading.normalize`. ``layout`` and
``tesseract_engine`` are internal to the reading. The package imports nothing itself, so
importing one reader module costs what it did before.
"""

__all__ = [
    "classify",
    "identity",
    "landlord",
    "mrz",
    "names",
    "normalize",
    "ocr",
    "pdftext",
    "reader",
]
