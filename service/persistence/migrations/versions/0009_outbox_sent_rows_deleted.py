"""outbox: sent rows are deleted; remove those earlier versions only marked

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 17:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The relay now deletes a row once the broker has its task; rows sent before
    # were kept with dispatched_at set, and nothing reads them.
    op.execute("DELETE FROM outbox WHERE dispatched_at IS NOT NULL")


def downgrade() -> None:
    # Deleted rows were already sent; there is nothing to restore.
    pass
