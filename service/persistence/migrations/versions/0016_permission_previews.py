"""permission previews and the brake on mass revocation: stored previews of
permission-moving changes, and the tenant's revocation_brake setting

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "permission_previews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_permission_previews_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_previews")),
    )
    op.create_index(
        "ix_permission_previews_tenant_id",
        "permission_previews",
        ["tenant_id", "created_at"],
        unique=False,
    )
    with op.batch_alter_table("permission_settings") as batch_op:
        batch_op.add_column(sa.Column("revocation_brake", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("permission_settings") as batch_op:
        batch_op.drop_column("revocation_brake")
    op.drop_index("ix_permission_previews_tenant_id", table_name="permission_previews")
    op.drop_table("permission_previews")
