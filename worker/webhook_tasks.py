"""Webhook delivery (outbound, on the `invitations` queue with the other deliveries,
so a slow receiver never delays a permission recompute)."""

from __future__ import annotations

import logging

from celery import Celery, Task

from service.runtime import get_runtime
from service.services import webhooks

MAX_RETRIES = 8
log = logging.getLogger("rolecall.tasks")


def deliver(task: Task, tenant_id: str, object_id: str) -> str:
    try:
        runtime = get_runtime()
        return webhooks.deliver(
            runtime.unit_of_work(),
            runtime.cache,
            runtime.settings.secret_key,
            tenant_id,
            object_id,
        )
    except webhooks.DeliveryFailed as failure:
        if not failure.retry or task.request.retries >= MAX_RETRIES:
            log.warning("webhook delivery abandoned: %s", failure)
            return f"failed: {failure}"
        # 2, 4, 8 ... seconds, capped at ten minutes.
        raise task.retry(countdown=min(600, 2 ** (task.request.retries + 1))) from failure


def register(app: Celery) -> None:
    app.task(
        name=webhooks.DELIVER,
        bind=True,
        acks_late=True,
        ignore_result=True,
        max_retries=MAX_RETRIES,
    )(deliver)
