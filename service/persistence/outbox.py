"""The transactional outbox: a change and the record of the work it implies commit
together, so a broker outage delays that work but never loses it.

Rows coalesce per (tenant, task, object) while pending: a burst of changes to
one object leaves one pending row. The relay (service.services.relay) sends rows
after their transaction commits; a periodic sweep sends whatever was left.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, Row, String, Text, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.observability import current_request_id
from service.persistence.base import Base, created_at, utcnow

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
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)

    # Every row is pending: the relay deletes a row once its task is sent. One row per
    # (tenant, task, object): the coalescing key.
    __table_args__ = (Index("uq_outbox_pending", "tenant_id", "task", "object_id", unique=True),)


@dataclass(frozen=True)
class Emitted:
    """A row this transaction inserted, to be sent once it has committed."""

    id: int
    tenant_id: str
    task: str
    object_id: str
    payload: dict[str, Any]
    request_id: str | None


@functools.cache
def insert_statement(dialect: str) -> Any:
    """INSERT of one row, absorbed by a pending row with the same key; returns the id
    of a row it inserted. Built once per dialect: constructing it is a noticeable
    part of a SCIM write."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = OutboxRecord.__table__  # a Core insert: no ORM bookkeeping for a queue row
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["tenant_id", "task", "object_id"])
        .returning(table.c.id)
    )


_outbox = OutboxRecord.__table__.c
# The pending row that absorbed a change, held until the change commits. KEY SHARE
# locks do not conflict with each other, only with the relay's FOR UPDATE.
_HOLD = (
    select(_outbox.id)
    .where(
        _outbox.tenant_id == bindparam("tenant_id"),
        _outbox.task == bindparam("task"),
        _outbox.object_id == bindparam("object_id"),
    )
    .with_for_update(read=True, key_share=True)  # FOR KEY SHARE
)


def row_values(
    tenant_id: str, task: str, object_id: str, payload: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The columns of a new outbox row."""
    return {
        "tenant_id": tenant_id,
        "task": task,
        "object_id": object_id,
        "payload": payload or {},
        "request_id": current_request_id(),
        "attempts": 0,
        "created_at": utcnow(),
    }


def emitted_row(row_id: int | None, values: dict[str, Any]) -> Emitted | None:
    """What the relay needs of a row an insert returned (None: a pending row absorbed it)."""
    if row_id is None:
        return None
    return Emitted(
        row_id,
        values["tenant_id"],
        values["task"],
        values["object_id"],
        values["payload"],
        values["request_id"],
    )


def remember(session: Session, row: Emitted | None) -> None:
    """Note a row this session's transaction inserted, for the relay after the commit."""
    if row is not None:
        session.info.setdefault(SESSION_KEY, []).append(row)


def emit(
    session: Session,
    tenant_id: str,
    task: str,
    object_id: str,
    payload: dict[str, Any] | None = None,
) -> Emitted | None:
    """Record that `task` must run for `object_id` once this transaction commits.

    A pending row for the same key absorbs this one (the task reads current state
    when it runs, so one run covers every change before it); only a row this
    transaction inserted is sent by it after the commit, and only that one is
    returned (None: a pending row stands for this change)."""
    values = row_values(tenant_id, task, object_id, payload)
    dialect = session.get_bind().dialect.name
    statement = insert_statement(dialect)
    row_id = session.execute(statement, values).scalar()
    if row_id is None and dialect == "postgresql":
        row_id = _held_or_inserted(session, statement, values)
    row = emitted_row(row_id, values)
    remember(session, row)
    return row


def _held_or_inserted(session: Session, statement: Any, values: dict[str, Any]) -> int | None:
    """A pending row absorbed this change: hold it until this transaction ends, so the
    relay (which skips locked rows) cannot send its task before the change it now
    stands for is committed. If the relay is sending that row, this waits for it:
    once the relay has deleted the row, the change gets a row of its own; if the
    send failed, the row waits again and is held. (SQLite has a single writer.)"""
    for _ in range(3):
        if session.execute(_HOLD, values).first() is not None:
            return None
        row_id = session.execute(statement, values).scalar()
        if row_id is not None:
            return row_id
        # Another change inserted a row in between: hold that one.
    return None


def emitted(session: Session) -> list[Emitted]:
    """The rows this session inserted; the relay sends them after commit."""
    return session.info.pop(SESSION_KEY, [])


def _claim_statement(skip_locked: bool) -> Any:
    outbox = OutboxRecord.__table__.c
    query = (
        select(
            outbox.id, outbox.tenant_id, outbox.task, outbox.object_id, outbox.payload,
            outbox.request_id,
        )
        .order_by(outbox.id)
        .limit(bindparam("limit"))
    )  # fmt: skip
    return query.with_for_update(skip_locked=True) if skip_locked else query


# Built once: the relay claims several times a second.
_CLAIM = {skip_locked: _claim_statement(skip_locked) for skip_locked in (False, True)}


def claim_pending(session: Session, limit: int = 500) -> list[Row[Any]]:
    """Lock the oldest rows for sending (the relay and the sweep): their
    id, tenant_id, task, object_id, payload and request_id.

    SKIP LOCKED lets several relays run at once without sending a row twice."""
    query = _CLAIM[session.get_bind().dialect.name == "postgresql"]
    return list(session.execute(query, {"limit": limit}).all())
