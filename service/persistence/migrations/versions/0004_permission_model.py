"""permission model: scope types, scopes, areas, roles, mappings, direct assignments,
per-tenant permission settings (default role, account rules, model version)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "permission_areas",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=300), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_permission_areas_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_areas")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_permission_areas_tenant_id")),
    )
    op.create_table(
        "permission_roles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("allowed_scope_types", sa.JSON(), nullable=True),
        sa.Column("allowed_account_types", sa.JSON(), nullable=True),
        sa.Column("reaches_descendants", sa.Boolean(), nullable=False),
        sa.Column("root_only", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_permission_roles_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_roles")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_permission_roles_tenant_id")),
    )
    op.create_table(
        "permission_scope_types",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_permission_scope_types_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_scope_types")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_permission_scope_types_tenant_id")),
    )
    op.create_table(
        "permission_scopes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("account_type", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["permission_scopes.id"],
            name=op.f("fk_permission_scopes_parent_id_permission_scopes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_permission_scopes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_scopes")),
    )
    with op.batch_alter_table("permission_scopes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_permission_scopes_tenant_parent", ["tenant_id", "parent_id"], unique=False
        )
        batch_op.create_index(
            "ix_permission_scopes_tenant_type", ["tenant_id", "type"], unique=False
        )

    op.create_table(
        "permission_assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.Column("scope_id", sa.String(length=36), nullable=False),
        sa.Column("assign_account", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["permission_roles.id"],
            name=op.f("fk_permission_assignments_role_id_permission_roles"),
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["permission_scopes.id"],
            name=op.f("fk_permission_assignments_scope_id_permission_scopes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_permission_assignments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_assignments")),
        sa.UniqueConstraint(
            "tenant_id",
            "user_id",
            "role_id",
            "scope_id",
            name=op.f("uq_permission_assignments_tenant_id"),
        ),
    )
    with op.batch_alter_table("permission_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_permission_assignments_tenant_role", ["tenant_id", "role_id"], unique=False
        )
        batch_op.create_index(
            "ix_permission_assignments_tenant_scope", ["tenant_id", "scope_id"], unique=False
        )
        batch_op.create_index(
            "ix_permission_assignments_tenant_user", ["tenant_id", "user_id"], unique=False
        )

    op.create_table(
        "permission_mappings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("group_kind", sa.String(length=16), nullable=False),
        sa.Column("group_value", sa.String(length=300), nullable=False),
        sa.Column("group_value_lower", sa.String(length=300), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.Column("scope_id", sa.String(length=36), nullable=False),
        sa.Column("assign_account", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["permission_roles.id"],
            name=op.f("fk_permission_mappings_role_id_permission_roles"),
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["permission_scopes.id"],
            name=op.f("fk_permission_mappings_scope_id_permission_scopes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_permission_mappings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_mappings")),
    )
    with op.batch_alter_table("permission_mappings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_permission_mappings_tenant_group",
            ["tenant_id", "group_kind", "group_value_lower"],
            unique=False,
        )
        batch_op.create_index(
            "ix_permission_mappings_tenant_role", ["tenant_id", "role_id"], unique=False
        )
        batch_op.create_index(
            "ix_permission_mappings_tenant_scope", ["tenant_id", "scope_id"], unique=False
        )

    op.create_table(
        "permission_settings",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("default_role_id", sa.String(length=36), nullable=True),
        sa.Column("account_rules", sa.JSON(), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["default_role_id"],
            ["permission_roles.id"],
            name=op.f("fk_permission_settings_default_role_id_permission_roles"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_permission_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_permission_settings")),
    )


def downgrade() -> None:
    op.drop_table("permission_settings")
    with op.batch_alter_table("permission_mappings", schema=None) as batch_op:
        batch_op.drop_index("ix_permission_mappings_tenant_scope")
        batch_op.drop_index("ix_permission_mappings_tenant_role")
        batch_op.drop_index("ix_permission_mappings_tenant_group")

    op.drop_table("permission_mappings")
    with op.batch_alter_table("permission_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_permission_assignments_tenant_user")
        batch_op.drop_index("ix_permission_assignments_tenant_scope")
        batch_op.drop_index("ix_permission_assignments_tenant_role")

    op.drop_table("permission_assignments")
    with op.batch_alter_table("permission_scopes", schema=None) as batch_op:
        batch_op.drop_index("ix_permission_scopes_tenant_type")
        batch_op.drop_index("ix_permission_scopes_tenant_parent")

    op.drop_table("permission_scopes")
    op.drop_table("permission_scope_types")
    op.drop_table("permission_roles")
    op.drop_table("permission_areas")
