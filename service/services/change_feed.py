"""The change feed: every new effective set of a tenant's users, in one order, for
apps that keep the sets in their own memory (clients/python) and for webhooks.

Contract (README, "The change feed"):
- A set is recorded when it is newer than the newest set seen for the user and
  differs from it (permissions, kind or names); the same set recomputed is not a
  change, and a set computed before the newest one seen is never news.
- Recording commits before the set is written to Redis (service.services.
  permission_recompute.record_and_store), so a crash between them loses no event.
- Cursors are the tenant's sequence numbers, gap-free and visible in order
  (service.persistence.feed_models); a reader that asks for what follows its cursor
  misses nothing.
- Changes are kept for Settings.feed_retention_days; a cursor behind that (or one the
  feed never issued) is answered 410, and the reader starts from a snapshot: every
  head, paged by user id, with the feed cursor fixed by its first page. Applying the
  snapshot, then the feed from that cursor, each set only when newer than the one
  held, gives exactly the current sets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from service.domain.errors import BadRequest, DomainError
from service.persistence.base import utcnow
from service.persistence.feed_models import (
    FeedChange,
    FeedHead,
    FeedSequence,
    NewSet,
    advance_heads,
    append,
    positions,
)
from service.persistence.unit_of_work import UnitOfWork

CHANGED = "changed"
DEPROVISIONED = "deprovisioned"
DELETED = "deleted"
SCOPES = "scopes"

MAX_LIMIT = 1000
DEFAULT_LIMIT = 500


class CursorExpired(DomainError):
    """The cursor is behind the retained window, or was never issued by this feed."""

    status: ClassVar[int] = 410

    def __init__(self, message: str, field: str = "after") -> None:
        super().__init__("cursor_expired", message, field)


@dataclass(frozen=True)
class Recorded:
    """What one recording appended: the users whose sets changed, and the feed's new end."""

    user_ids: list[str]
    cursor: int


@dataclass(frozen=True)
class Page:
    """Changes after a cursor, each as the JSON text it is served as."""

    changes: list[str]
    cursors: list[int]  # of each change, in order
    cursor: int
    more: bool

    def to_json(self) -> str:
        return (
            f'{{"changes":[{",".join(self.changes)}],'
            f'"cursor":"{self.cursor}","more":{"true" if self.more else "false"}}}'
        )


@dataclass(frozen=True)
class SnapshotPage:
    sets: list[str]
    feed_cursor: int
    next_page: str | None

    def to_json(self) -> str:
        following = json.dumps(self.next_page)
        return (
            f'{{"sets":[{",".join(self.sets)}],'
            f'"feed_cursor":"{self.feed_cursor}","next":{following}}}'
        )


def kind_of(exists: bool, active: bool) -> str:
    if not exists:
        return DELETED
    return CHANGED if active else DEPROVISIONED


# -- recording ------------------------------------------------------------------------


def record_sets(session: Session, tenant_id: str, sets: Sequence[NewSet]) -> Recorded | None:
    """Record the sets that are changes (see the module docstring), in the caller's
    transaction; None when none is."""
    moved = set(advance_heads(session, tenant_id, sets))
    if not moved:
        return None
    newest = {s.user_id: s for s in sorted(sets, key=lambda s: s.version)}
    changes = [
        {
            "kind": s.kind,
            "user_id": s.user_id,
            "user_name": s.user_name,
            "external_id": s.external_id,
            "version": s.version,
            "body": s.body,
        }
        for s in sorted(newest.values(), key=lambda s: s.user_id)
        if s.user_id in moved
    ]
    return Recorded(sorted(moved), append(session, tenant_id, changes))


def record_scopes(session: Session, tenant_id: str, model_version: int) -> int:
    """Record that the tenant's scope tree changed (a scope moved or was deleted):
    readers drop the ancestor chains they hold. Returns the feed's new end."""
    return append(session, tenant_id, [{"kind": SCOPES, "version": model_version}])


# -- reading --------------------------------------------------------------------------


def parse_cursor(raw: str | None, field: str = "after") -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise BadRequest("invalid_cursor", f"{field} must be a cursor the feed gave", field)
    return int(raw)


def _change_json(row: Sequence[Any]) -> str:
    seq, kind, user_id, user_name, external_id, version, body = row
    head: dict[str, object] = {"cursor": str(seq), "kind": kind, "version": version}
    if kind != SCOPES:
        head.update(user_id=user_id, user_name=user_name, external_id=external_id)
    text = json.dumps(head, separators=(",", ":"))
    # The stored body is the set's JSON as the cache holds it: spliced in, not re-encoded.
    return f'{text[:-1]},"permissions":{body}}}' if body is not None else text


def end_of(session: Session, tenant_id: str) -> int:
    return positions(session, tenant_id)[0]


def changes_after(session: Session, tenant_id: str, after: int, limit: int) -> Page:
    """The changes recorded after `after`, oldest first, at most `limit`."""
    last, pruned = positions(session, tenant_id)
    if after < pruned:
        raise CursorExpired(
            f"changes up to {pruned} are no longer kept; start again from GET /api/v1/snapshot"
        )
    if after > last:
        raise CursorExpired(
            "this feed never issued that cursor; start again from GET /api/v1/snapshot"
        )
    rows = session.execute(
        select(
            FeedChange.seq,
            FeedChange.kind,
            FeedChange.user_id,
            FeedChange.user_name,
            FeedChange.external_id,
            FeedChange.version,
            FeedChange.body,
        )
        .where(FeedChange.tenant_id == tenant_id, FeedChange.seq > after)
        .order_by(FeedChange.seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1][0] if rows else after
    return Page([_change_json(r) for r in rows], [r[0] for r in rows], cursor, more)


def wait_for_changes(
    read: Callable[[], Page],
    wait: Callable[[int, float], None],
    after: int,
    seconds: float,
) -> Page:
    """`read()` until it finds something or `seconds` pass; between looks, `wait(after,
    remaining)` (the feed signal, which returns early when the feed moves)."""
    deadline = time.monotonic() + seconds
    while True:
        page = read()
        remaining = deadline - time.monotonic()
        if page.changes or remaining <= 0:
            return page
        wait(after, remaining)


def snapshot_page(session: Session, tenant_id: str, cursor: str | None, limit: int) -> SnapshotPage:
    """One page of every current set (deleted users left out), by user id. The first
    page fixes the feed cursor every later page repeats (it travels in the page cursor)."""
    if cursor is None:
        # Taken before the heads are read: a change after it is in the feed after it.
        feed_cursor, after_user = end_of(session, tenant_id), ""
    else:
        feed_cursor, after_user = _read_page_cursor(cursor)
    rows = session.execute(
        select(
            FeedHead.user_id,
            FeedHead.user_name,
            FeedHead.external_id,
            FeedHead.version,
            FeedHead.kind,
            FeedHead.body,
        )
        .where(
            FeedHead.tenant_id == tenant_id,
            FeedHead.user_id > after_user,
            FeedHead.kind != DELETED,
        )
        .order_by(FeedHead.user_id)
        .limit(limit + 1)
    ).all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = f"{feed_cursor}.{rows[-1][0]}"
    sets = []
    for user_id, user_name, external_id, version, kind, body in rows:
        head = json.dumps(
            {
                "user_id": user_id,
                "user_name": user_name,
                "external_id": external_id,
                "version": version,
                "kind": kind,
            },
            separators=(",", ":"),
        )
        sets.append(f'{head[:-1]},"permissions":{body}}}')
    return SnapshotPage(sets, feed_cursor, following)


def _read_page_cursor(cursor: str) -> tuple[int, str]:
    raw_cursor, dot, user_id = cursor.partition(".")
    if not dot or not user_id or len(user_id) > 36:
        raise BadRequest("invalid_cursor", "cursor must be a `next` the snapshot gave", "cursor")
    return parse_cursor(raw_cursor, "cursor"), user_id


# -- retention ------------------------------------------------------------------------


def prune_all(uow: UnitOfWork, older_than: timedelta) -> int:
    """`prune` in a transaction of its own."""
    with uow:
        return prune(uow.session, older_than)


def prune(session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Forget changes recorded longer ago than `older_than`, for every tenant; returns
    how many. Each tenant's counter remembers the last pruned number (for the 410)."""
    cutoff = (now or utcnow()) - older_than
    ends = session.execute(
        select(FeedChange.tenant_id, func.max(FeedChange.seq))
        .where(FeedChange.recorded_at < cutoff)
        .group_by(FeedChange.tenant_id)
    ).all()
    removed = 0
    for tenant_id, through in ends:
        result = session.execute(
            delete(FeedChange).where(FeedChange.tenant_id == tenant_id, FeedChange.seq <= through)
        )
        removed += result.rowcount or 0
        session.execute(
            update(FeedSequence)
            .where(FeedSequence.tenant_id == tenant_id, FeedSequence.pruned_through < through)
            .values(pruned_through=through)
        )
    return removed
