"""Generator of evaluation corpora in the format of ``anmeldung-dev`` (CONTRACTS §1).

``python -m tests.corpusgen OUT_DIR --seed N --cases 120 [--kinds ...]`` writes invented
applications with their uploads and the truth: landlord confirmations in layouts of
its own (one, two and three columns, tables, letters of housing companies, forms filled
in by hand), as text PDFs, scans and phone photos, and identity documents rendered by
:mod:`tests.corpusgen.identity`. The same seed gives the same corpus.
"""
