"""The outbox relay: turns committed outbox rows into Celery tasks.

Called right after a unit of work commits (for the rows it wrote) and by the
periodic sweep (for rows a crash or a broker outage left behind). A row is marked
dispatched only once the broker accepted its task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.observability import log_event
from service.persistence.base import utcnow
from service.persistence.db import transaction
from service.persistence.outbox import OutboxRecord, claim_pending, pending_keys
from service.runtime import Runtime

log = logging.getLogger("rolecall.relay")


def relay(runtime: Runtime, keys: set[tuple[str, str, str]] | None = None) -> int:
    """Send pending rows (those with `keys`, or the oldest batch); returns how many were sent."""
    sent = 0
    with transaction(runtime.sessions) as session:
        for row in claim_pending(session, keys):
            row.attempts += 1
            try:
                runtime.send(
                    row.task,
                    kwargs={"tenant_id": row.tenant_id, "object_id": row.object_id, **row.payload},
                    request_id=row.request_id,
                )
            except Exception as error:  # the broker is down: the sweep retries later
                row.last_error = f"{type(error).__name__}: {error}"[:1000]
                log_event(log, "outbox dispatch failed", task=row.task, error=type(error).__name__)
                break
            row.dispatched_at = utcnow()
            row.last_error = None
            sent += 1
    return sent


def outbox_lag_seconds(session: Session) -> float:
    """Age of the oldest undispatched row: how far behind the relay is."""
    oldest = session.scalar(
        select(func.min(OutboxRecord.created_at)).where(OutboxRecord.dispatched_at.is_(None))
    )
    if oldest is None:
        return 0.0
    return max(0.0, (utcnow() - oldest).total_seconds())


@contextmanager
def unit_of_work(runtime: Runtime) -> Iterator[Session]:
    """One transaction; after it commits, the work it recorded in the outbox is sent."""
    with transaction(runtime.sessions) as session:
        yield session
        keys = pending_keys(session)
    if keys:
        relay(runtime, keys)
