"""The outbox relay: turns committed outbox rows into Celery tasks.

Called right after a unit of work commits (for the rows it wrote) and by the
periodic sweep (for rows a crash or a broker outage left behind). A row is marked
dispatched only once the broker accepted its task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.observability import log_event
from service.persistence.base import utcnow
from service.persistence.db import transaction
from service.persistence.outbox import Emitted, OutboxRecord, claim_pending, emitted
from service.runtime import Runtime
from service.services.propagation import COALESCED

log = logging.getLogger("rolecall.relay")


QUEUED_TTL_SECONDS = 120


def _queued_key(runtime: Runtime, task: str, tenant_id: str, object_id: str) -> str:
    return f"{runtime.settings.redis_key_prefix}queued:{task}:{tenant_id}:{object_id}"


def already_queued(runtime: Runtime, row: OutboxRecord | Emitted) -> bool:
    """True when a run of the same coalescing task for the same object waits in the
    queue: it will read the state this row's change left, so no second run is needed.

    The flag is cleared by the task as it starts (`started`), so a change that
    lands while it runs still gets a run of its own. If Redis cannot say, send."""
    if row.task not in COALESCED:
        return False
    key = _queued_key(runtime, row.task, row.tenant_id, row.object_id)
    try:
        return not runtime.redis.set(key, 1, nx=True, ex=QUEUED_TTL_SECONDS)
    except Exception:
        return False


def started(runtime: Runtime, task: str, tenant_id: str, object_id: str) -> None:
    """Called by a coalescing task before it reads anything."""
    try:
        runtime.redis.delete(_queued_key(runtime, task, tenant_id, object_id))
    except Exception:
        log.warning("could not clear the queued flag of %s", task)


def _send(runtime: Runtime, row: OutboxRecord | Emitted) -> None:
    """Hand one row's task to the broker (unless a queued run already covers it)."""
    if already_queued(runtime, row):
        return
    try:
        runtime.send(
            row.task,
            kwargs={"tenant_id": row.tenant_id, "object_id": row.object_id, **row.payload},
            request_id=row.request_id,
        )
    except Exception:
        if row.task in COALESCED:
            started(runtime, row.task, row.tenant_id, row.object_id)
        raise


def _failed(runtime: Runtime, row: OutboxRecord | Emitted, error: Exception) -> bool:
    """Log a failed send; True when the remaining rows should still be tried."""
    log_event(log, "outbox dispatch failed", task=row.task, error=type(error).__name__)
    # In-process, the task itself failed and the others may still run; otherwise the
    # broker is down and the rest would fail the same way.
    return runtime.settings.tasks_eager


def relay(runtime: Runtime) -> int:
    """The sweep: send the oldest undispatched rows; returns how many were sent."""
    sent = 0
    with transaction(runtime.sessions) as session:
        for row in claim_pending(session):
            row.attempts += 1
            try:
                _send(runtime, row)
            except Exception as error:
                row.last_error = f"{type(error).__name__}: {error}"[:1000]
                if _failed(runtime, row, error):
                    continue
                break
            row.dispatched_at = utcnow()
            row.last_error = None
            sent += 1
    return sent


def send_emitted(runtime: Runtime, rows: list[Emitted]) -> int:
    """After a commit: send the rows that transaction inserted, then mark them sent in
    one statement. This runs on every write request, so it takes no lock and reads
    nothing back; a sweep running in the same instant may send a row as well, which
    costs one extra run of an idempotent task."""
    sent: list[int] = []
    failure: tuple[Emitted, Exception] | None = None
    for row in rows:
        try:
            _send(runtime, row)
        except Exception as error:
            failure = (row, error)
            if _failed(runtime, row, error):
                continue
            break
        sent.append(row.id)
    with runtime.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if sent:
            connection.execute(
                update(OutboxRecord)
                .where(OutboxRecord.id.in_(sent), OutboxRecord.dispatched_at.is_(None))
                .values(dispatched_at=utcnow(), attempts=OutboxRecord.attempts + 1)
            )
        if failure is not None:
            row, error = failure
            connection.execute(
                update(OutboxRecord)
                .where(OutboxRecord.id == row.id)
                .values(
                    attempts=OutboxRecord.attempts + 1,
                    last_error=f"{type(error).__name__}: {error}"[:1000],
                )
            )
    return len(sent)


def outbox_lag_seconds(session: Session) -> float:
    """Age of the oldest undispatched row: how far behind the relay is."""
    oldest = session.scalar(
        select(func.min(OutboxRecord.created_at)).where(OutboxRecord.dispatched_at.is_(None))
    )
    if oldest is None:
        return 0.0
    return max(0.0, (utcnow() - oldest).total_seconds())


AFTER_COMMIT = "rolecall_after_commit"


def after_commit(session: Session, action: Callable[[Runtime], object]) -> None:
    """Run `action` once this unit of work has committed, before the request returns
    (for effects that must not wait for a worker, such as clearing a deprovisioned
    user's cached permissions)."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


@contextmanager
def unit_of_work(runtime: Runtime) -> Iterator[Session]:
    """One transaction; after it commits, its after-commit actions run and the work it
    recorded in the outbox is sent."""
    with transaction(runtime.sessions) as session:
        yield session
        rows = emitted(session)
        actions = session.info.pop(AFTER_COMMIT, [])
    for action in actions:
        action(runtime)
    if rows:
        send_emitted(runtime, rows)
