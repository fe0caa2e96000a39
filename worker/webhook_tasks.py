"""Webhook delivery, on the `webhooks` queue of its own: a receiver that hangs or is
dead holds up only other webhook deliveries, never a recompute or an invitation."""

from __future__ import annotations

from celery import Celery, Task

from service.runtime import get_runtime
from service.services import webhooks
from service.services.webhook_destinations import DestinationPolicy


def deliver(task: Task, tenant_id: str, object_id: str) -> str:
    runtime = get_runtime()
    settings = runtime.settings
    outcome = webhooks.deliver(
        runtime.unit_of_work,
        settings.secret_key,
        tenant_id,
        object_id,
        DestinationPolicy.from_settings(settings),
        webhooks.Breaker(settings.webhook_breaker_threshold, settings.webhook_retry_base_seconds),
        attempt=task.request.retries,
    )
    if outcome.retry_in is not None:
        raise task.retry(countdown=outcome.retry_in)
    return outcome.message


def register(app: Celery) -> None:
    app.task(
        name=webhooks.DELIVER,
        bind=True,
        acks_late=True,
        ignore_result=True,
        # The service pauses the endpoint before a delivery runs out of retries.
        max_retries=webhooks.MAX_RETRIES + 1,
    )(deliver)
