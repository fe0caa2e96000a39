"""The change feed's tables: every recorded change of a tenant's effective sets in
sequence order, the newest set of each user (what a snapshot pages through), and each
tenant's sequence counter.

Why a counter row and not a database sequence: a reader that asks for "everything
after 41" must never see 43 before 42 is visible, or it moves its cursor past 42 and
never sees it. A PostgreSQL sequence hands numbers out at once but transactions
commit in any order; the counter row is locked by the transaction that takes numbers
from it until that transaction commits, so numbers become visible in their order.
Taking numbers is the last thing an appending transaction does, so the lock is held
for the few inserts after it. (SQLite serialises every writer anyway.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    case,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.persistence.base import Base, UtcDateTime, utcnow

_BIG = BigInteger().with_variant(Integer, "sqlite")


class FeedChange(Base):
    """One recorded change: a user's new set (kind changed, deprovisioned or deleted),
    or the tenant's scope tree (kind scopes, no user)."""

    __tablename__ = "feed_changes"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(_BIG, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(36))
    user_name: Mapped[str | None] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(_BIG, nullable=False)
    # The set exactly as the cache holds it and apps read it (JSON text, never parsed
    # on the way out: a feed page is these strings joined).
    body: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    __table_args__ = (Index("ix_feed_changes_recorded_at", "recorded_at"),)


class FeedHead(Base):
    """The newest set of each user: what a snapshot pages through, and what a new set is
    compared with to know whether it is a change at all. Its version follows every newer
    set, changed or not, so a set computed earlier that arrives later (and differs) is
    never taken for news."""

    __tablename__ = "feed_heads"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(_BIG, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    user_name: Mapped[str | None] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # The version of the last set recorded as a change (<= version).
    changed_version: Mapped[int] = mapped_column(_BIG, nullable=False)


class FeedSequence(Base):
    """A tenant's counter: the last sequence number handed out, and the last one pruned
    (a cursor at or below it is behind the retained window)."""

    __tablename__ = "feed_sequences"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(_BIG, nullable=False, default=0)
    pruned_through: Mapped[int] = mapped_column(_BIG, nullable=False, default=0)


@dataclass(frozen=True)
class NewSet:
    """A freshly computed set, offered to the feed."""

    user_id: str
    version: int
    digest: str
    kind: str
    body: str
    user_name: str | None
    external_id: str | None


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


_HEAD_COLUMNS = ("version", "digest", "kind", "user_name", "external_id", "body")


def advance_heads(session: Session, tenant_id: str, sets: Sequence[NewSet]) -> list[str]:
    """Make each set its user's head when it is newer than the head; returns the users
    whose new head differs from the old one (permissions, kind or names): the changes.
    One statement; rows are taken in user-id order, so two batches lock shared users in
    one order."""
    if not sets:
        return []
    table = FeedHead.__table__
    rows = [
        {
            "tenant_id": tenant_id,
            "user_id": s.user_id,
            "version": s.version,
            "digest": s.digest,
            "kind": s.kind,
            "user_name": s.user_name,
            "external_id": s.external_id,
            "body": s.body,
            "changed_version": s.version,
        }
        for s in sorted(_newest_of_each(sets), key=lambda s: s.user_id)
    ]
    # Executed with the rows as parameters, not as a VALUES list in the statement: the
    # statement is then compiled once and cached (rendering 500 rows' VALUES was half
    # the time of recording), and SQLAlchemy batches the rows into few round trips.
    statement = _insert(session)(table)
    new = statement.excluded
    differs = (
        (table.c.digest != new.digest)
        | (table.c.kind != new.kind)
        | table.c.user_name.is_distinct_from(new.user_name)
        | table.c.external_id.is_distinct_from(new.external_id)
    )
    # RETURNING sees the row as written, not as it was: whether it changed travels in
    # changed_version (set from the old row's values in SET, which sees them).
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.user_id],
        set_={
            **{c: getattr(new, c) for c in _HEAD_COLUMNS},
            "changed_version": case((differs, new.version), else_=table.c.changed_version),
        },
        where=table.c.version < new.version,
    ).returning(table.c.user_id, table.c.changed_version == table.c.version)
    return [user_id for user_id, changed in session.execute(statement, rows) if changed]


def _newest_of_each(sets: Sequence[NewSet]) -> list[NewSet]:
    """One set per user, the newest (one statement may not upsert a row twice)."""
    newest: dict[str, NewSet] = {}
    for new_set in sets:
        held = newest.get(new_set.user_id)
        if held is None or new_set.version > held.version:
            newest[new_set.user_id] = new_set
    return list(newest.values())


def take_numbers(session: Session, tenant_id: str, count: int) -> int:
    """Reserve `count` sequence numbers; returns the last. Locks the tenant's counter
    until the transaction ends (see the module docstring): call it last."""
    table = FeedSequence.__table__
    statement = _insert(session)(table).values(
        tenant_id=tenant_id, last_seq=count, pruned_through=0
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.tenant_id], set_={"last_seq": table.c.last_seq + count}
    ).returning(table.c.last_seq)
    return int(session.scalar(statement))


def append(session: Session, tenant_id: str, changes: Sequence[dict[str, Any]]) -> int:
    """Append `changes` (FeedChange columns without tenant, seq and time) in order;
    returns the cursor of the last. Numbers are taken last, as the module says."""
    last = take_numbers(session, tenant_id, len(changes))
    first = last - len(changes) + 1
    now = utcnow()
    rows = [
        {"tenant_id": tenant_id, "seq": first + i, "recorded_at": now, **change}
        for i, change in enumerate(changes)
    ]
    session.execute(insert(FeedChange.__table__), rows)
    return last


def positions(session: Session, tenant_id: str) -> tuple[int, int]:
    """(last sequence number handed out, last pruned) for the tenant; (0, 0) before any."""
    row = session.execute(
        select(FeedSequence.last_seq, FeedSequence.pruned_through).where(
            FeedSequence.tenant_id == tenant_id
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)
