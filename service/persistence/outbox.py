"""The transactional outbox: a change and the record of the work it implies commit
together, so a broker outage delays that work but never loses it.

Rows coalesce per (tenant, task, object) while undispatched: a burst of changes to
one object leaves one pending row. The relay (service.services.relay) sends rows
after their transaction commits; a periodic sweep sends whatever was left.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.observability import current_request_id
from service.persistence.base import Base, UtcDateTime, created_at

SESSION_KEY = "rolecall_outbox_keys"


class OutboxRecord(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(36), nullable=False)
    task: Mapped[str] = mapped_column(String(80), nullable=False)
    object_id: Mapped[str] = mapped_column(String(200), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # One pending row per (tenant, task, object): the coalescing key.
        Index(
            "uq_outbox_pending",
            "tenant_id",
            "task",
            "object_id",
            unique=True,
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
        Index(
            "ix_outbox_undispatched",
            "id",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
    )


def emit(
    session: Session,
    tenant_id: str,
    task: str,
    object_id: str,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record that `task` must run for `object_id` once this transaction commits.

    A pending row for the same key absorbs this one (the task reads current state
    when it runs, so one run covers every change before it)."""
    values = {
        "tenant_id": tenant_id,
        "task": task,
        "object_id": object_id,
        "payload": payload or {},
        "request_id": current_request_id(),
        "attempts": 0,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxRecord)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["tenant_id", "task", "object_id"],
            index_where=text("dispatched_at IS NULL"),
        )
    )
    session.execute(statement)
    session.info.setdefault(SESSION_KEY, set()).add((tenant_id, task, object_id))


def pending_keys(session: Session) -> set[tuple[str, str, str]]:
    """The keys this session emitted; the relay sends them after commit."""
    return session.info.pop(SESSION_KEY, set())


def claim_pending(
    session: Session, keys: set[tuple[str, str, str]] | None = None, limit: int = 500
) -> list[OutboxRecord]:
    """Lock undispatched rows for sending: the given keys, or the oldest `limit`.

    SKIP LOCKED lets several relays (web processes, the sweep) run at once
    without sending a row twice."""
    query = select(OutboxRecord).where(OutboxRecord.dispatched_at.is_(None))
    if keys is not None:
        if not keys:
            return []
        tenant_ids = {k[0] for k in keys}
        tasks = {k[1] for k in keys}
        object_ids = {k[2] for k in keys}
        query = query.where(
            OutboxRecord.tenant_id.in_(tenant_ids),
            OutboxRecord.task.in_(tasks),
            OutboxRecord.object_id.in_(object_ids),
        )
    query = query.order_by(OutboxRecord.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    if keys is not None:
        rows = [row for row in rows if (row.tenant_id, row.task, row.object_id) in keys]
    return rows
