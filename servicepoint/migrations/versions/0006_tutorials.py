"""tutorials: catalogue, daily counters, full-text search

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DT = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString

# SQLite: an FTS5 index over the table (external content), kept in step by triggers.
_SQLITE_FTS = [
    """CREATE VIRTUAL TABLE tutorials_fts USING fts5(
        title, summary, transcript, content='tutorials', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER tutorials_fts_insert AFTER INSERT ON tutorials BEGIN
        INSERT INTO tutorials_fts(rowid, title, summary, transcript)
        VALUES (new.id, new.title, new.summary, new.transcript);
    END""",
    """CREATE TRIGGER tutorials_fts_delete AFTER DELETE ON tutorials BEGIN
        INSERT INTO tutorials_fts(tutorials_fts, rowid, title, summary, transcript)
        VALUES ('delete', old.id, old.title, old.summary, old.transcript);
    END""",
    """CREATE TRIGGER tutorials_fts_update AFTER UPDATE ON tutorials BEGIN
        INSERT INTO tutorials_fts(tutorials_fts, rowid, title, summary, transcript)
        VALUES ('delete', old.id, old.title, old.summary, old.transcript);
        INSERT INTO tutorials_fts(rowid, title, summary, transcript)
        VALUES (new.id, new.title, new.summary, new.transcript);
    END""",
]

# PostgreSQL: a generated tsvector ('simple': German and English side by side) + GIN.
_POSTGRES_FTS = [
    """ALTER TABLE tutorials ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(summary, '')), 'B') ||
        setweight(to_tsvector('simple', coalesce(transcript, '')), 'C')) STORED""",
    "CREATE INDEX ix_tutorials_search_vector ON tutorials USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "tutorials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", _STR(length=100), nullable=False),
        sa.Column("script", _STR(length=100), nullable=True),
        sa.Column("source", _STR(length=16), nullable=False),
        sa.Column("language", _STR(length=2), nullable=False),
        sa.Column("easy_language", sa.Boolean(), nullable=False),
        sa.Column("service", _STR(length=64), nullable=False),
        sa.Column("title", _STR(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=False),
        sa.Column("chapters_json", sa.Text(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("content_hash", _STR(length=64), nullable=False),
        sa.Column("rendered_hash", _STR(length=64), nullable=True),
        sa.Column("media_dir", _STR(length=500), nullable=True),
        sa.Column("error", _STR(length=500), nullable=True),
        sa.Column("updated_at", _DT(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tutorials")),
        sa.UniqueConstraint("slug", name=op.f("uq_tutorials_slug")),
    )
    with op.batch_alter_table("tutorials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tutorials_script"), ["script"], unique=False)
        batch_op.create_index(batch_op.f("ix_tutorials_language"), ["language"], unique=False)
        batch_op.create_index(batch_op.f("ix_tutorials_service"), ["service"], unique=False)
    op.create_table(
        "tutorial_daily_counts",
        sa.Column("tutorial_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tutorial_id"],
            ["tutorials.id"],
            name=op.f("fk_tutorial_daily_counts_tutorial_id_tutorials"),
        ),
        sa.PrimaryKeyConstraint("tutorial_id", "day", name=op.f("pk_tutorial_daily_counts")),
    )
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_FTS if dialect == "sqlite" else _POSTGRES_FTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS tutorials_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS tutorials_fts")
    op.drop_table("tutorial_daily_counts")
    op.drop_table("tutorials")
