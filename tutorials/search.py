"""Full-text search over titles, summaries and transcripts.

SQLite: the FTS5 table ``tutorials_fts`` (bm25 ranking, prefix matches, diacritics
folded; migration 0006). PostgreSQL: the generated ``search_vector`` column with its GIN
index, built with the text search configuration of each tutorial's language (migration
0007), so inflected forms find each other ("Anmeldungen" finds "Anmeldung").

On PostgreSQL every word of the query is normalised by the same configuration as the
tutorial it is matched against and kept as a prefix (``to_tsquery('german',
'anmeldungen:*')`` is ``'anmeld':*``): stemming as ``plainto_tsquery`` does, plus the
prefix matches SQLite offers. Stop words ("der", "the") are dropped. The words are
reduced to letters and digits first and always passed as bound parameters: the user's
input never reaches the SQL text and cannot make the query syntax fail.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlmodel import Session

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 8

# Tutorial language -> PostgreSQL text search configuration (as in migration 0007).
SEARCH_CONFIGS = {"de": "german", "en": "english"}
FALLBACK_CONFIG = "simple"


def terms(query: str) -> list[str]:
    return _WORD.findall(query.lower())[:MAX_TERMS]


def _postgres_statement() -> str:
    """Match each tutorial with the query in its own language's configuration.

    One ``language = ... AND search_vector @@ ...`` branch per configuration (rather than
    a per-row CASE inside ``@@``) so PostgreSQL can use the GIN index for each branch.
    Only constants from :data:`SEARCH_CONFIGS` are written into the SQL text.
    """
    languages = ", ".join(f"'{code}'" for code in SEARCH_CONFIGS)
    branches = [
        f"(language = '{code}' AND search_vector @@ to_tsquery('{config}', :q))"
        for code, config in SEARCH_CONFIGS.items()
    ]
    branches.append(
        f"(language NOT IN ({languages}) AND search_vector @@ to_tsquery('{FALLBACK_CONFIG}', :q))"
    )
    cases = " ".join(
        f"WHEN '{code}' THEN to_tsquery('{config}', :q)" for code, config in SEARCH_CONFIGS.items()
    )
    rank = f"ts_rank(search_vector, CASE language {cases} ELSE to_tsquery('simple', :q) END)"
    return (
        "SELECT id FROM tutorials WHERE "
        + " OR ".join(branches)
        + f" ORDER BY {rank} DESC, id LIMIT :n"
    )


_POSTGRES_SEARCH = _postgres_statement()


def search_ids(session: Session, query: str, limit: int = 50) -> list[int]:
    """Ids of matching tutorials, best first; every word must occur (as a prefix; on
    PostgreSQL as a prefix of its stem, stop words left out)."""
    words = terms(query)
    if not words:
        return []
    if session.get_bind().dialect.name == "postgresql":
        tsquery = " & ".join(f"{word}:*" for word in words)
        rows = session.execute(text(_POSTGRES_SEARCH), {"q": tsquery, "n": limit})
    else:
        statement = text(
            "SELECT rowid FROM tutorials_fts WHERE tutorials_fts MATCH :q "
            "ORDER BY bm25(tutorials_fts, 10.0, 4.0, 1.0) LIMIT :n"
        )
        match = " AND ".join(f'"{word}"*' for word in words)
        rows = session.execute(statement, {"q": match, "n": limit})
    return [int(row[0]) for row in rows]
