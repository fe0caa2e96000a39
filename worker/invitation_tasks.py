"""Invitation tasks, on the `invitations` queue (their names match `rolecall.invitations.*`).

Thin: each calls one use case with ids, a fresh unit of work, and its own Celery
task id as the holder of the invitations it claims (see
service.services.invitation_delivery for why a redelivered task may take over what
its dead earlier run held). When the use case asks to run again later (a lease, the
tenant's rate limit, a transient mail error), a worker retries with that countdown;
run in-process (the embedded default), the task waits and runs again itself, since
there is no broker to hold it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import Celery, Task

from service.cache.rate_limit import RateLimiter
from service.observability import log_event
from service.runtime import Runtime, get_runtime
from service.services import bulk_invites, invitation_delivery, invitations

log = logging.getLogger("rolecall.tasks")

# Bounds on waiting in-process, so a request in the embedded default cannot hang forever.
EAGER_MAX_ROUNDS = 50
UNEXPECTED_ERROR_COUNTDOWN = 5.0


def _run(
    task: Task, work: Callable[[str], invitation_delivery.DeliveryReport]
) -> invitation_delivery.DeliveryReport:
    holder = f"task:{task.request.id}"
    if not task.request.is_eager:
        try:
            report = work(holder)
        except Exception as error:
            # Retrying keeps the task id, so the next run takes over what this one claimed.
            log_event(log, "invitation task failed; retrying", error=type(error).__name__)
            raise task.retry(countdown=UNEXPECTED_ERROR_COUNTDOWN) from error
        if report.retry_in is not None:
            raise task.retry(countdown=max(report.retry_in, 0.1))
        return report
    report = work(holder)
    rounds = 0
    while report.retry_in is not None and rounds < EAGER_MAX_ROUNDS:
        time.sleep(report.retry_in)
        report = work(holder)
        rounds += 1
    return report


def _rates(runtime: Runtime) -> RateLimiter:
    return runtime.invitation_rates


def send_invitation(self: Task, tenant_id: str, object_id: str, **_: Any) -> int:
    def work(holder: str) -> invitation_delivery.DeliveryReport:
        runtime = get_runtime()
        return invitation_delivery.deliver(
            runtime.unit_of_work(),
            runtime.settings,
            _rates(runtime),
            tenant_id,
            [object_id],
            holder,
        )

    return _run(self, work).sent


def bulk_batch(
    self: Task, tenant_id: str, object_id: str, job_id: str, batch: int, **_: Any
) -> int:
    def work(holder: str) -> invitation_delivery.DeliveryReport:
        runtime = get_runtime()
        return bulk_invites.process_batch(
            runtime.unit_of_work(),
            runtime.settings,
            _rates(runtime),
            tenant_id,
            job_id,
            batch,
            holder,
        )

    report = _run(self, work)
    log_event(log, "bulk batch done", job_id=job_id, batch=batch, sent=report.sent)
    return report.sent


def register(app: Celery) -> None:
    options: dict[str, Any] = {
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "ignore_result": True,
        "max_retries": None,
    }
    app.task(name=invitations.SEND_TASK, **options)(send_invitation)
    app.task(name=bulk_invites.BATCH_TASK, **options)(bulk_batch)
