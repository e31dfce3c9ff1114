"""back office: document requests, work-queue indexes

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_document_requests_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_requests")),
    )
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_requests_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_document_requests_requested_at"), ["requested_at"], unique=False
        )
    # The work queue: cases of one status in due-date order, filtered by claim, age,
    # service and reason, counted per filter. The first index holds every column a filter
    # looks at, so counts and filtered pages are read from the index alone.
    op.create_index(
        "ix_applications_queue",
        "applications",
        ["status", "due_date", "id", "claimed_by", "received_at", "service", "reasons_json"],
    )
    op.create_index(
        "ix_applications_status_claimed_by",
        "applications",
        ["status", "claimed_by", "due_date", "id"],
    )
    op.create_index(
        "ix_applications_status_received_at", "applications", ["status", "received_at", "id"]
    )
    op.create_index(
        "ix_applications_status_reference", "applications", ["status", "reference"]
    )


def downgrade() -> None:
    for name in (
        "ix_applications_status_reference",
        "ix_applications_status_received_at",
        "ix_applications_status_claimed_by",
        "ix_applications_queue",
    ):
        op.drop_index(name, table_name="applications")
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_requests_requested_at"))
        batch_op.drop_index(batch_op.f("ix_document_requests_application_id"))
    op.drop_table("document_requests")
