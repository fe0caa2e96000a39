"""the change feed: each tenant's recorded changes of effective sets, the newest set of
each user, and the tenant's sequence counter; announced_sets (which the heads replace)
is dropped

The heads start empty: each user's next computed set is recorded as a change (one
webhook delivery each, as before the upgrade a first change would be). Run a full
recompute (`rolecall recompute --tenant T`) to fill them at once.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "feed_changes",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("seq", BIG, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("user_name", sa.String(length=300), nullable=True),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("version", BIG, nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("feed_changes"),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_feed_changes")),
    )
    op.create_index("ix_feed_changes_recorded_at", "feed_changes", ["recorded_at"])
    op.create_table(
        "feed_heads",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("version", BIG, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_name", sa.String(length=300), nullable=True),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("changed_version", BIG, nullable=False),
        _tenant_fk("feed_heads"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_feed_heads")),
    )
    op.create_table(
        "feed_sequences",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("last_seq", BIG, nullable=False),
        sa.Column("pruned_through", BIG, nullable=False),
        _tenant_fk("feed_sequences"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_feed_sequences")),
    )
    op.drop_table("announced_sets")


def downgrade() -> None:
    op.create_table(
        "announced_sets",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("version", BIG, nullable=False),
        _tenant_fk("announced_sets"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_announced_sets")),
    )
    op.execute(
        "INSERT INTO announced_sets (tenant_id, user_id, digest, version) "
        "SELECT tenant_id, user_id, digest, version FROM feed_heads"
    )
    op.drop_table("feed_sequences")
    op.drop_table("feed_heads")
    op.drop_index("ix_feed_changes_recorded_at", table_name="feed_changes")
    op.drop_table("feed_changes")
