"""scim users, groups and group members

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:02:17.323136
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.persistence.base import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _resource_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("document", DOCUMENT, nullable=False),
        sa.Column("created", UtcDateTime(), nullable=False),
        sa.Column("last_modified", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "scim_users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=300), nullable=False),
        sa.Column("user_name_lower", sa.String(length=300), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("user_type", sa.String(length=100), nullable=True),
        sa.Column("given_name", sa.String(length=200), nullable=True),
        sa.Column("family_name", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=300), nullable=True),
        *_resource_columns(),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scim_users_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_users")),
    )
    op.create_index(
        "uq_scim_users_tenant_user_name",
        "scim_users",
        ["tenant_id", "user_name_lower"],
        unique=True,
    )
    op.create_index(
        "uq_scim_users_tenant_external_id", "scim_users", ["tenant_id", "external_id"], unique=True
    )
    op.create_index(
        "ix_scim_users_tenant_display_name",
        "scim_users",
        ["tenant_id", sa.text("lower(display_name)")],
    )
    op.create_index("ix_scim_users_tenant_id_id", "scim_users", ["tenant_id", "id"])
    op.create_index(
        "ix_scim_users_tenant_last_modified", "scim_users", ["tenant_id", "last_modified"]
    )

    op.create_table(
        "scim_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("display_name_lower", sa.String(length=300), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        *_resource_columns(),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scim_groups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_groups")),
    )
    op.create_index(
        "ix_scim_groups_tenant_display_name", "scim_groups", ["tenant_id", "display_name_lower"]
    )
    op.create_index(
        "uq_scim_groups_tenant_external_id",
        "scim_groups",
        ["tenant_id", "external_id"],
        unique=True,
    )
    op.create_index("ix_scim_groups_tenant_id_id", "scim_groups", ["tenant_id", "id"])
    op.create_index(
        "ix_scim_groups_tenant_last_modified", "scim_groups", ["tenant_id", "last_modified"]
    )

    op.create_table(
        "scim_group_members",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("member_type", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["scim_groups.id"],
            name=op.f("fk_scim_group_members_group_id_scim_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scim_group_members_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "member_id", name=op.f("pk_scim_group_members")),
    )
    op.create_index("ix_scim_group_members_member_id", "scim_group_members", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_scim_group_members_member_id", table_name="scim_group_members")
    op.drop_table("scim_group_members")
    for name in (
        "ix_scim_groups_tenant_last_modified",
        "ix_scim_groups_tenant_id_id",
        "uq_scim_groups_tenant_external_id",
        "ix_scim_groups_tenant_display_name",
    ):
        op.drop_index(name, table_name="scim_groups")
    op.drop_table("scim_groups")
    for name in (
        "ix_scim_users_tenant_last_modified",
        "ix_scim_users_tenant_id_id",
        "ix_scim_users_tenant_display_name",
        "uq_scim_users_tenant_external_id",
        "uq_scim_users_tenant_user_name",
    ):
        op.drop_index(name, table_name="scim_users")
    op.drop_table("scim_users")
