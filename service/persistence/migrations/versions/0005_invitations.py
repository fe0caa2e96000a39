"""invitations, their delivery history, tenant invitation settings, jobs

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('pending', 'sending', 'sent')")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "invitation_settings",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("ttl_hours", sa.Integer(), nullable=True),
        sa.Column("invite_scim_users", sa.Boolean(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("template_subject", sa.Text(), nullable=True),
        sa.Column("template_text", sa.Text(), nullable=True),
        sa.Column("template_html", sa.Text(), nullable=True),
        _time("updated_at"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_invitation_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_invitation_settings")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("invalid_rows", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("finished_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_jobs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_tenant_created", "jobs", ["tenant_id", "created_at"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_lower", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_nonce", sa.String(length=64), nullable=True),
        sa.Column("send_round", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("transient_failures", sa.Integer(), nullable=False),
        _time("expires_at"),
        sa.Column("inviter", sa.String(length=80), nullable=False),
        sa.Column("inviter_name", sa.String(length=200), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("sending_by", sa.String(length=200), nullable=True),
        _time("lease_until", nullable=True),
        _time("sent_at", nullable=True),
        _time("accepted_at", nullable=True),
        _time("revoked_at", nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'accepted', 'expired', 'revoked', 'failed')",
            name=op.f("ck_invitations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_invitations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["scim_users.id"],
            name=op.f("fk_invitations_user_id_scim_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    op.create_index("ix_invitations_tenant_email", "invitations", ["tenant_id", "email_lower"])
    op.create_index(
        "ix_invitations_tenant_status", "invitations", ["tenant_id", "status", "created_at"]
    )
    op.create_index("ix_invitations_user", "invitations", ["user_id"])
    op.create_index(
        "uq_invitations_live_user",
        "invitations",
        ["tenant_id", "user_id"],
        unique=True,
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_index("uq_invitations_token_hash", "invitations", ["token_hash"], unique=True)
    op.create_table(
        "job_rows",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=True),
        sa.Column("scope", sa.String(length=200), nullable=True),
        sa.Column("account", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("invitation_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "status IN ('invalid', 'queued', 'processing', 'sent', 'failed', 'skipped')",
            name=op.f("ck_job_rows_status"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_rows_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "line", name=op.f("pk_job_rows")),
    )
    op.create_index("ix_job_rows_invitation", "job_rows", ["invitation_id"])
    op.create_index("ix_job_rows_job_batch", "job_rows", ["job_id", "batch"])
    op.create_index("ix_job_rows_job_status", "job_rows", ["job_id", "status"])
    op.create_table(
        "invitation_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("invitation_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("send_round", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("smtp_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitations.id"],
            name=op.f("fk_invitation_deliveries_invitation_id_invitations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_deliveries")),
    )
    op.create_index(
        "ix_invitation_deliveries_invitation_id", "invitation_deliveries", ["invitation_id"]
    )


def downgrade() -> None:
    op.drop_table("invitation_deliveries")
    op.drop_table("job_rows")
    op.drop_table("invitations")
    op.drop_table("jobs")
    op.drop_table("invitation_settings")
