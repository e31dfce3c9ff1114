"""video consultations: slots and consultations (metadata only)

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DT = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "consultation_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", _DT(), nullable=False),
        sa.Column("ends_at", _DT(), nullable=False),
        sa.Column("consultation_id", _STR(length=32), nullable=True),
        sa.Column("created_at", _DT(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clerk_id"], ["users.id"], name=op.f("fk_consultation_slots_clerk_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_slots")),
    )
    with op.batch_alter_table("consultation_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultation_slots_clerk_id"), ["clerk_id"])
        batch_op.create_index(batch_op.f("ix_consultation_slots_starts_at"), ["starts_at"])
        batch_op.create_index(
            batch_op.f("ix_consultation_slots_consultation_id"), ["consultation_id"]
        )
    op.create_table(
        "consultations",
        sa.Column("id", _STR(length=32), nullable=False),
        sa.Column("reference", _STR(length=32), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=True),
        sa.Column("clerk_id", sa.Integer(), nullable=True),
        sa.Column("citizen_name", _STR(length=200), nullable=False),
        sa.Column("citizen_email", _STR(length=254), nullable=False),
        sa.Column("topic", _STR(length=500), nullable=False),
        sa.Column("application_id", _STR(length=32), nullable=True),
        sa.Column("language", _STR(length=2), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("starts_at", _DT(), nullable=False),
        sa.Column("ends_at", _DT(), nullable=False),
        sa.Column("created_at", _DT(), nullable=False),
        sa.Column("reminder_sent_at", _DT(), nullable=True),
        sa.Column("admitted_at", _DT(), nullable=True),
        sa.Column("started_at", _DT(), nullable=True),
        sa.Column("ended_at", _DT(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", _DT(), nullable=True),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["consultation_slots.id"],
            name=op.f("fk_consultations_slot_id_consultation_slots"),
        ),
        sa.ForeignKeyConstraint(
            ["clerk_id"], ["users.id"], name=op.f("fk_consultations_clerk_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultations_reference"), ["reference"], unique=True)
        batch_op.create_index(batch_op.f("ix_consultations_clerk_id"), ["clerk_id"])
        batch_op.create_index(batch_op.f("ix_consultations_application_id"), ["application_id"])
        batch_op.create_index(batch_op.f("ix_consultations_status"), ["status"])
        batch_op.create_index(batch_op.f("ix_consultations_starts_at"), ["starts_at"])


def downgrade() -> None:
    op.drop_table("consultations")
    op.drop_table("consultation_slots")
