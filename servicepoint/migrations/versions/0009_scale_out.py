"""scale-out: shared rate limits, the web processes holding calls

Revision ID: 0009
Revises: 0008

``rate_limits`` keeps the portal's sliding windows in the database, so that a limit holds
whichever web process answers. ``video_nodes`` and ``video_placements`` say which web
process holds which consultation's call, so that any process can send a participant's
request to the one holding it (docs/operations.md, "Scaling out").
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", _STR(length=128), nullable=False),
        sa.Column("events_json", sa.Text(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )
    op.create_index(op.f("ix_rate_limits_updated_at"), "rate_limits", ["updated_at"])
    op.create_table(
        "video_nodes",
        sa.Column("name", _STR(length=64), nullable=False),
        sa.Column("url", _STR(length=255), nullable=False),
        sa.Column("active_calls", sa.Integer(), nullable=False),
        sa.Column("max_calls", sa.Integer(), nullable=False),
        sa.Column("seen_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_video_nodes")),
    )
    op.create_index(op.f("ix_video_nodes_seen_at"), "video_nodes", ["seen_at"])
    op.create_table(
        "video_placements",
        sa.Column("consultation_id", _STR(length=32), nullable=False),
        sa.Column("node", _STR(length=64), nullable=False),
        sa.Column("placed_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("consultation_id", name=op.f("pk_video_placements")),
    )
    op.create_index(op.f("ix_video_placements_node"), "video_placements", ["node"])


def downgrade() -> None:
    op.drop_index(op.f("ix_video_placements_node"), table_name="video_placements")
    op.drop_table("video_placements")
    op.drop_index(op.f("ix_video_nodes_seen_at"), table_name="video_nodes")
    op.drop_table("video_nodes")
    op.drop_index(op.f("ix_rate_limits_updated_at"), table_name="rate_limits")
    op.drop_table("rate_limits")
