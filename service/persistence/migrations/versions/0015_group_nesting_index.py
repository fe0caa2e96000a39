"""group nesting index: the nesting edges of scim_group_members, indexed on their own

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_NESTED = sa.text("member_type = 'Group'")


def upgrade() -> None:
    op.create_index(
        "ix_scim_group_members_nesting",
        "scim_group_members",
        ["member_id", "group_id"],
        postgresql_where=_NESTED,
        sqlite_where=_NESTED,
    )


def downgrade() -> None:
    op.drop_index("ix_scim_group_members_nesting", table_name="scim_group_members")
