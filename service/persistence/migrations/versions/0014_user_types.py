"""user types and self-registration: the tenant's userType table, the unmapped-value
warnings already recorded, and the self-registration settings

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "user_type_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("user_type", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("user_type_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_type_entries")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_user_type_entries_tenant_id")),
    )
    op.create_table(
        "user_type_warnings",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("user_type_warnings"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "key", name=op.f("pk_user_type_warnings")),
    )
    op.create_table(
        "self_registration_settings",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("parent_scope_id", sa.String(length=36), nullable=True),
        sa.Column("default_role", sa.String(length=128), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("self_registration_settings"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_self_registration_settings")),
    )


def downgrade() -> None:
    op.drop_table("self_registration_settings")
    op.drop_table("user_type_warnings")
    op.drop_table("user_type_entries")
