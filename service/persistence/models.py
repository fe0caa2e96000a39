"""Tables of the walking skeleton: tenants, their API tokens, the audit log, and
worker heartbeats. Other tables live in modules of their own beside this one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from service.persistence.base import Base, UtcDateTime, created_at, uuid_pk


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at()
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)

    __table_args__ = (Index("uq_tenants_name_lower", func.lower(name), unique=True),)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    # SHA-256 of the whole token: tokens carry 256 random bits, so a slow hash adds nothing.
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    prefix: Mapped[str] = mapped_column(String(24), nullable=False)
    description: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rotated_to_id: Mapped[str | None] = mapped_column(String(36))


class AuditEvent(Base):
    """Append-only: rows are inserted, never updated or deleted by the service."""

    __tablename__ = "audit_events"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    occurred_at: Mapped[datetime] = created_at()
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    action: Mapped[str] = mapped_column(String(80), nullable=False)
    target_type: Mapped[str] = mapped_column(String(40), nullable=False)
    target_id: Mapped[str] = mapped_column(String(200), nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    # The provisioning log: set on the one row that tells what a SCIM operation did
    # (service.services.provisioning_log), left empty on every other event.
    outcome: Mapped[str | None] = mapped_column(String(16))
    scim_operation: Mapped[str | None] = mapped_column(String(16))
    resource_type: Mapped[str | None] = mapped_column(String(16))
    resource_name: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(String(1000))
    idp: Mapped[str | None] = mapped_column(String(40))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_audit_events_tenant_time", "tenant_id", "occurred_at"),
        # The tenant's SCIM rows newest first, with or without filters on them ...
        Index(
            "ix_audit_events_provisioning",
            "tenant_id",
            "occurred_at",
            postgresql_where=outcome.is_not(None),
            sqlite_where=outcome.is_not(None),
        ),
        # ... and those of one outcome (rejected ones are rare among many applied).
        Index(
            "ix_audit_events_outcome",
            "tenant_id",
            "outcome",
            "occurred_at",
            postgresql_where=outcome.is_not(None),
            sqlite_where=outcome.is_not(None),
        ),
    )


class Heartbeat(Base):
    """A worker round trip: the web process asks, a worker task answers."""

    __tablename__ = "heartbeats"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    requested_at: Mapped[datetime] = created_at()
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    worker: Mapped[str | None] = mapped_column(Text)
