"""recompute jobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 11:02:50.879807
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recompute_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("user_ref", sa.String(length=300), nullable=True),
        sa.Column("total_users", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_recompute_jobs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recompute_jobs")),
    )
    with op.batch_alter_table("recompute_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recompute_jobs_tenant_created", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "recompute_batches",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["recompute_jobs.id"],
            name=op.f("fk_recompute_batches_job_id_recompute_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "batch", name=op.f("pk_recompute_batches")),
    )


def downgrade() -> None:
    op.drop_table("recompute_batches")
    with op.batch_alter_table("recompute_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_recompute_jobs_tenant_created")

    op.drop_table("recompute_jobs")
