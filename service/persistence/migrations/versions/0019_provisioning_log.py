"""the provisioning log: audit events gain what a SCIM operation did (outcome, reason,
operation, resource) and who sent it (the IdP named from the User-Agent, the raw
agent), empty on every other event; two partial indexes serve the tenant's SCIM rows
newest first, all of them or those of one outcome

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("outcome", 16),
    ("scim_operation", 16),
    ("resource_type", 16),
    ("resource_name", 300),
    ("reason", 1000),
    ("idp", 40),
    ("user_agent", 200),
)
_SCIM_ROW = sa.text("outcome IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        for name, length in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))
    op.create_index(
        "ix_audit_events_provisioning",
        "audit_events",
        ["tenant_id", "occurred_at"],
        postgresql_where=_SCIM_ROW,
        sqlite_where=_SCIM_ROW,
    )
    op.create_index(
        "ix_audit_events_outcome",
        "audit_events",
        ["tenant_id", "outcome", "occurred_at"],
        postgresql_where=_SCIM_ROW,
        sqlite_where=_SCIM_ROW,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_outcome", table_name="audit_events")
    op.drop_index("ix_audit_events_provisioning", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
