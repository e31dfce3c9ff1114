"""Full-text search over titles, summaries and transcripts.

SQLite: the FTS5 table ``tutorials_fts`` (bm25 ranking, prefix matches, diacritics
folded). PostgreSQL: the generated ``search_vector`` column with its GIN index.
Both are created by migration 0006; the user's words are never spliced into SQL.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlmodel import Session

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 8


def terms(query: str) -> list[str]:
    return _WORD.findall(query.lower())[:MAX_TERMS]


def search_ids(session: Session, query: str, limit: int = 50) -> list[int]:
    """Ids of matching tutorials, best first; every word must occur (as a prefix)."""
    words = terms(query)
    if not words:
        return []
    if session.get_bind().dialect.name == "postgresql":
        statement = text(
            "SELECT id FROM tutorials WHERE search_vector @@ to_tsquery('simple', :q) "
            "ORDER BY ts_rank(search_vector, to_tsquery('simple', :q)) DESC, id LIMIT :n"
        )
        tsquery = " & ".join(f"{word}:*" for word in words)
        rows = session.execute(statement, {"q": tsquery, "n": limit})
    else:
        statement = text(
            "SELECT rowid FROM tutorials_fts WHERE tutorials_fts MATCH :q "
            "ORDER BY bm25(tutorials_fts, 10.0, 4.0, 1.0) LIMIT :n"
        )
        match = " AND ".join(f'"{word}"*' for word in words)
        rows = session.execute(statement, {"q": match, "n": limit})
    return [int(row[0]) for row in rows]
