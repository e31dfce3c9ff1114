"""Applications: the tables (``models``), submitting and reading a case (``service``), the
steps the flows run (``processing``), letters and notifications (``completion``), the
shapes a reading has (``documents``), upload validation (``uploads``) and the evaluation
of a corpus (``evaluate``).

Public face: the modules in ``__all__``, imported by ``intake.portal``,
``intake.assistant``, ``flows``, ``backoffice``, ``video`` and the kernel's model registry.
The package imports nothing itself (``documents`` is imported by the reading workers,
which must not pull in the database layer).
"""

__all__ = [
    "completion",
    "documents",
    "evaluate",
    "models",
    "processing",
    "service",
    "uploads",
]
