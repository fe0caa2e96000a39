"""The outbox relay: turns committed outbox rows into Celery tasks.

Who sends is a setting (ROLECALL_OUTBOX_RELAY). In `inline` mode, the embedded
default, a unit of work sends the rows it wrote right after it commits
(service.services.effects.after_commit). In
`process` mode, the production default, `rolecall relay` polls the outbox and
sends in batches, so a write request pays for writing its outbox row and nothing
more. Either way the periodic sweep (beat) picks up what a crash or a broker
outage left behind. A row is deleted only once the broker accepted its task.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update
from sqlalchemy.orm import Session

from service.cache.queued_flags import QueuedFlags
from service.observability import log_event
from service.persistence.base import utcnow
from service.persistence.outbox import Emitted, OutboxRecord, claim_pending
from service.persistence.unit_of_work import UnitOfWork
from service.runtime import Runtime
from service.services.propagation import BATCHED, COALESCED

log = logging.getLogger("rolecall.relay")


# Rows claimed and sent per look at the outbox.
RELAY_BATCH = 500


@dataclass
class _Batch:
    """Claimed rows that go to the broker as one task."""

    task: str
    tenant_id: str
    object_id: str
    payload: dict[str, Any]
    request_id: str | None
    rows: list[Row[Any]] = field(default_factory=list)
    # For a batch of per-user rows: the task each row named (its coalescing flags).
    source_task: str | None = None


def _batches(rows: list[Row[Any]]) -> list[_Batch]:
    """One task per row, except rows of a per-user task (BATCHED), which go as one task
    per tenant and payload naming all their users: a directory sync that creates
    thousands of users costs the broker and the workers dozens of tasks, not thousands."""
    batches: list[_Batch] = []
    grouped: dict[tuple[str, str, str], _Batch] = {}
    for row in rows:
        batch_task = BATCHED.get(row.task)
        if batch_task is None:
            batches.append(
                _Batch(row.task, row.tenant_id, row.object_id, row.payload, row.request_id, [row])
            )
            continue
        key = (batch_task, row.tenant_id, json.dumps(row.payload, sort_keys=True))
        batch = grouped.get(key)
        if batch is None:
            batch = grouped[key] = _Batch(
                batch_task,
                row.tenant_id,
                uuid.uuid4().hex,
                dict(row.payload),
                row.request_id,
                source_task=row.task,
            )
            batch.payload["user_ids"] = []
            batches.append(batch)
        batch.rows.append(row)
        batch.payload["user_ids"].append(row.object_id)
    return batches


def _flags(runtime: Runtime) -> QueuedFlags:
    return QueuedFlags(runtime.redis, runtime.settings.redis_key_prefix)


def already_queued(runtime: Runtime, row: Emitted | _Batch) -> bool:
    """True when a run of the same coalescing task for the same object waits in the
    queue: it will read the state this row's change left, so no second run is needed.

    The flag is cleared by the task as it starts (`started`), so a change that
    lands while it runs still gets a run of its own. If Redis cannot say, send."""
    if row.task not in COALESCED:
        return False
    try:
        return not _flags(runtime).flag(row.task, row.tenant_id, row.object_id)
    except Exception:
        return False


def started(runtime: Runtime, task: str, tenant_id: str, *object_ids: str) -> None:
    """Called by a coalescing task before it reads anything."""
    try:
        _flags(runtime).clear(task, tenant_id, *object_ids)
    except Exception:
        log.warning("could not clear the queued flag of %s", task)


def _not_queued(runtime: Runtime, batch: _Batch) -> list[str]:
    """The users of a batch of coalescing per-user rows with no run waiting in the queue
    (flagging them queued now); the others' waiting runs cover their changes."""
    ids: list[str] = batch.payload["user_ids"]
    task = batch.source_task
    if task not in COALESCED:
        return ids
    try:
        fresh = _flags(runtime).flag_many(task, batch.tenant_id, ids)
    except Exception:
        return ids
    return [user_id for user_id, was_set in zip(ids, fresh, strict=True) if was_set]


def _send(runtime: Runtime, row: Emitted | _Batch) -> None:
    """Hand one row's task to the broker (unless a queued run already covers it)."""
    if isinstance(row, _Batch) and row.source_task is not None:
        _send_batch(runtime, row)
        return
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


def _send_batch(runtime: Runtime, batch: _Batch) -> None:
    ids = _not_queued(runtime, batch)
    if not ids:
        return
    try:
        runtime.send(
            batch.task,
            kwargs={
                "tenant_id": batch.tenant_id,
                "object_id": batch.object_id,
                **batch.payload,
                "user_ids": ids,
            },
            request_id=batch.request_id,
        )
    except Exception:
        if batch.source_task in COALESCED:
            started(runtime, batch.source_task, batch.tenant_id, *ids)
        raise


def _failed(runtime: Runtime, row: Emitted | _Batch, error: Exception) -> bool:
    """Log a failed send; True when the remaining rows should still be tried."""
    log_event(log, "outbox dispatch failed", task=row.task, error=type(error).__name__)
    # In-process, the task itself failed and the others may still run; otherwise the
    # broker is down and the rest would fail the same way.
    return runtime.settings.tasks_eager


def relay(runtime: Runtime, limit: int = RELAY_BATCH) -> int:
    """The sweep: send the oldest rows; returns how many rows were sent."""
    sent: list[int] = []
    failure: tuple[list[int], Exception] | None = None
    with runtime.unit_of_work() as uow:
        session = uow.session
        for batch in _batches(claim_pending(session, limit)):
            try:
                _send(runtime, batch)
            except Exception as error:
                failure = ([row.id for row in batch.rows], error)
                if _failed(runtime, batch, error):
                    continue
                break
            sent.extend(row.id for row in batch.rows)
        _mark(session, sent, failure)
    return len(sent)


def run_forever(runtime: Runtime, stop: threading.Event, interval: float | None = None) -> None:
    """`rolecall relay`: send committed outbox rows until `stop` is set. A full batch
    means more may wait, so the next look is at once; otherwise it waits `interval`
    (by default the relay interval: a row waits at most that long before it is sent)."""
    interval = interval or runtime.settings.relay_interval_seconds
    while not stop.is_set():
        try:
            sent = relay(runtime)
        except Exception as error:  # the database or broker is away: look again later
            log_event(log, "outbox relay failed", error=type(error).__name__)
            stop.wait(max(interval, 1.0))
            continue
        if sent < RELAY_BATCH:
            stop.wait(interval)


def send_emitted(runtime: Runtime, rows: list[Emitted]) -> int:
    """After a commit (in `inline` mode): send the rows that transaction inserted, then
    mark them sent in one statement. This runs after every write, so it takes no lock
    and reads nothing back; a sweep running in the same instant may send a row as well,
    which costs one extra run of an idempotent task."""
    sent: list[int] = []
    failure: tuple[list[int], Exception] | None = None
    for row in rows:
        try:
            _send(runtime, row)
        except Exception as error:
            failure = ([row.id], error)
            if _failed(runtime, row, error):
                continue
            break
        sent.append(row.id)
    settle(runtime, sent, failure)
    return len(sent)


def settle(
    runtime: Runtime, done: list[int], failure: tuple[list[int], Exception] | None = None
) -> None:
    """Record, outside any transaction, that rows' work is done (they are deleted) or
    failed: for rows sent after their commit, and for effects applied in the request
    that made them (service.services.effects), which need no worker."""
    if not done and failure is None:
        return
    with runtime.engine.connect() as connection:
        _mark(connection.execution_options(isolation_level="AUTOCOMMIT"), done, failure)


def _mark(
    executor: Session | Connection,
    sent: list[int],
    failure: tuple[list[int], Exception] | None,
) -> None:
    """Record the outcome of sending: rows the broker accepted are done and deleted
    (the outbox is a queue, not a log: what happened is in the audit log), rows it
    refused keep their last error and stay pending for the next sweep."""
    # Core statements on the table: an ORM statement would first evaluate its WHERE
    # against the session's objects, of which a relay has none.
    outbox = OutboxRecord.__table__.c
    if sent:
        executor.execute(delete(OutboxRecord.__table__).where(outbox.id.in_(sent)))
    if failure is not None:
        ids, error = failure
        executor.execute(
            update(OutboxRecord.__table__)
            .where(outbox.id.in_(ids))
            .values(
                attempts=outbox.attempts + 1,
                last_error=f"{type(error).__name__}: {error}"[:1000],
            )
        )


def outbox_lag_seconds(uow: UnitOfWork) -> float:
    """Age of the oldest row (every row is unsent): how far behind the relay is."""
    with uow.reading() as session:
        oldest = session.scalar(select(func.min(OutboxRecord.created_at)))
    if oldest is None:
        return 0.0
    return max(0.0, (utcnow() - oldest).total_seconds())


def committed(runtime: Runtime, rows: list[Emitted]) -> None:
    """Outbox rows have committed: send them now in `inline` mode; in `process` mode
    leave them to `rolecall relay`."""
    if rows and runtime.settings.sends_outbox_inline:
        send_emitted(runtime, rows)
