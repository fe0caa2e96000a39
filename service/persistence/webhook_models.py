"""Webhooks a tenant registers to be told when a user's permission set changes, their
breaker state, and the deliveries held while an endpoint is paused."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.persistence.base import Base, UtcDateTime, created_at, utcnow, uuid_pk


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The breaker: failures since the last success; when the endpoint was paused (its
    # deliveries are held until an admin resumes it); the last failure; and when the
    # failed delivery is tried again (the backoff grows with consecutive_failures).
    consecutive_failures: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_webhooks_tenant_id", "tenant_id"),)


class HeldDelivery(Base):
    """A delivery to a paused endpoint, kept until it is resumed. One row per
    (webhook, user): a delivery sends the user's set as it is when it runs, so
    however many changes arrive while paused, the receiver is sent the newest once."""

    __tablename__ = "webhook_held_deliveries"

    webhook_id: Mapped[str] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    held_at: Mapped[datetime] = created_at()


def hold(session: Session, tenant_id: str, webhook_id: str, user_ids: Sequence[str]) -> None:
    """Hold deliveries of `user_ids` to a paused webhook (one statement; a user already
    held stays held once)."""
    if not user_ids:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = HeldDelivery.__table__
    now = utcnow()
    rows = [
        {"webhook_id": webhook_id, "user_id": u, "tenant_id": tenant_id, "held_at": now}
        for u in dict.fromkeys(user_ids)
    ]
    session.execute(insert(table).values(rows).on_conflict_do_nothing())


def release(session: Session, webhook_id: str) -> list[str]:
    """Take every delivery held for `webhook_id`; returns the users they were for."""
    table = HeldDelivery.__table__
    statement = delete(table).where(table.c.webhook_id == webhook_id).returning(table.c.user_id)
    return list(session.scalars(statement))
