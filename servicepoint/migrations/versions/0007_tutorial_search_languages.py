"""tutorials: language-aware full-text search on PostgreSQL

Revision ID: 0007
Revises: 0006

Migration 0006 indexed every tutorial with the 'simple' configuration: no stemming, so
"Anmeldungen" did not find "Anmeldung". The generated ``search_vector`` now uses the text
search configuration of the tutorial's own language ('german' for de, 'english' for en,
'simple' otherwise); ``tutorials.search`` builds its queries with the same mapping.
SQLite keeps its FTS5 table (no change).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONFIG = (
    "CASE language WHEN 'de' THEN 'german'::regconfig "
    "WHEN 'en' THEN 'english'::regconfig ELSE 'simple'::regconfig END"
)


def _vector(config: str) -> str:
    return (
        f"setweight(to_tsvector({config}, coalesce(title, '')), 'A') || "
        f"setweight(to_tsvector({config}, coalesce(summary, '')), 'B') || "
        f"setweight(to_tsvector({config}, coalesce(transcript, '')), 'C')"
    )


def _replace_vector(expression: str) -> None:
    # Dropping the column drops its GIN index too; the generated values are recomputed
    # for every existing row when the column is added again.
    op.execute("ALTER TABLE tutorials DROP COLUMN IF EXISTS search_vector")
    op.execute(
        "ALTER TABLE tutorials ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.execute("CREATE INDEX ix_tutorials_search_vector ON tutorials USING gin (search_vector)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_vector(_vector(_CONFIG))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_vector(_vector("'simple'::regconfig"))
