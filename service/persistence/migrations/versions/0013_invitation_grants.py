"""invitation grants: where an invitation invites to (a role at a scope) and what
accepting it did with that

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("role_key", sa.String(length=257), nullable=True))
        batch.add_column(sa.Column("scope_id", sa.String(length=36), nullable=True))
        batch.add_column(
            sa.Column("assign_account", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("grant_outcome", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("grant_reason", sa.Text(), nullable=True))
        batch.create_check_constraint(
            "grant_outcome", "grant_outcome IN ('granted', 'held_already', 'refused')"
        )
    # The default was for the rows that existed; the model sets the value itself.
    with op.batch_alter_table("invitations") as batch:
        batch.alter_column("assign_account", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.drop_constraint(op.f("ck_invitations_grant_outcome"), type_="check")
        batch.drop_column("grant_reason")
        batch.drop_column("grant_outcome")
        batch.drop_column("assign_account")
        batch.drop_column("scope_id")
        batch.drop_column("role_key")
