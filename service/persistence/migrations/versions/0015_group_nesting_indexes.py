"""group nesting indexes: the nesting edges of scim_group_members, indexed on their own
(upwards, by member, and downwards, by group)

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
    op.create_index(
        "ix_scim_group_members_nested",
        "scim_group_members",
        ["group_id", "member_id"],
        postgresql_where=_NESTED,
        sqlite_where=_NESTED,
    )


def downgrade() -> None:
    op.drop_index("ix_scim_group_members_nested", table_name="scim_group_members")
    op.drop_index("ix_scim_group_members_nesting", table_name="scim_group_members")
