"""outbox: a sent row is deleted, so every row is pending and dispatched_at goes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 17:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PENDING = sa.text("dispatched_at IS NULL")


def upgrade() -> None:
    # Rows earlier versions kept after sending them; nothing reads them.
    op.execute("DELETE FROM outbox WHERE dispatched_at IS NOT NULL")
    op.drop_index("ix_outbox_undispatched", table_name="outbox")
    op.drop_index("uq_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox") as table:
        table.drop_column("dispatched_at")
    op.create_index("uq_outbox_pending", "outbox", ["tenant_id", "task", "object_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "uq_outbox_pending",
        "outbox",
        ["tenant_id", "task", "object_id"],
        unique=True,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_outbox_undispatched", "outbox", ["id"], postgresql_where=PENDING, sqlite_where=PENDING
    )
