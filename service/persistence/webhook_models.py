"""Webhooks a tenant registers to be told when a user's permission set changes: where
each has got to in the tenant's change feed, and its breaker state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.persistence.base import Base, UtcDateTime, created_at, uuid_pk


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
    # The breaker: failures since the last success; when the endpoint was paused (it is
    # sent nothing until an admin resumes it); the last failure; and when the failed
    # change is tried again (the backoff grows with consecutive_failures).
    consecutive_failures: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The last change of the tenant's feed the endpoint took (or passed over: a scope
    # tree change is not sent); everything after it is still to send.
    feed_cursor: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), nullable=False, server_default="0"
    )
    # While the endpoint catches up from a snapshot (its cursor fell behind the feed's
    # window): the snapshot's `next` page to send; None otherwise.
    snapshot_page: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (Index("ix_webhooks_tenant_id", "tenant_id"),)


def advance(session: Session, webhook_id: str, cursor: int, delivered: bool = True) -> None:
    """Record that the endpoint is done with everything up to `cursor`: it took the
    change there (`delivered`, which ends its run of failures) or it was passed over.
    Only forward: a run that overlapped another never moves the cursor back."""
    values: dict[str, object] = {"feed_cursor": cursor}
    if delivered:
        values.update(consecutive_failures=0, next_attempt_at=None)
    session.execute(
        update(Webhook)
        .where(Webhook.id == webhook_id, Webhook.feed_cursor < cursor)
        .values(**values)
    )


def snapshot_sent(
    session: Session, webhook_id: str, next_page: str | None, feed_cursor: int
) -> None:
    """Record that a snapshot page was taken: the next page to send, or, after the last
    page, the feed cursor the snapshot continues from. That one may be lower than the
    endpoint's: a cursor the feed never issued (the database restored from a backup)
    is answered with a snapshot too."""
    values: dict[str, object] = {
        "snapshot_page": next_page,
        "consecutive_failures": 0,
        "next_attempt_at": None,
    }
    if next_page is None:
        values["feed_cursor"] = feed_cursor
    session.execute(update(Webhook).where(Webhook.id == webhook_id).values(**values))
