"""Webhook delivery runs, on the `webhooks` queue of its own: a receiver that hangs or is
dead holds up only other webhook deliveries, never a recompute or an invitation."""

from __future__ import annotations

from celery import Celery, Task
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from service.runtime import get_runtime
from service.services import webhooks
from service.services.webhook_destinations import DestinationPolicy


def deliver(task: Task, tenant_id: str, object_id: str, attempt: int = 0) -> str:
    """One run for the webhook `object_id` (service.services.webhooks.deliver)."""
    runtime = get_runtime()
    settings = runtime.settings
    outcome = webhooks.deliver(
        runtime,
        tenant_id,
        object_id,
        DestinationPolicy.from_settings(settings),
        webhooks.Breaker(settings.webhook_breaker_threshold, settings.webhook_retry_base_seconds),
        attempt=attempt,
    )
    if outcome.retry_in is None:
        return outcome.message
    if outcome.waiting and not task.request.is_eager:
        # The failed run's retry is queued for then already: one retry per endpoint. (In
        # process there is no queued retry; raising keeps the outbox row for the sweep.)
        return outcome.message
    raise task.retry(
        countdown=outcome.retry_in,
        kwargs={"tenant_id": tenant_id, "object_id": object_id, "attempt": outcome.attempt},
    )


def register(app: Celery) -> None:
    app.task(
        name=webhooks.DELIVER,
        bind=True,
        acks_late=True,
        ignore_result=True,
        # Retries end by themselves: a failing endpoint is paused after MAX_RETRIES, and a
        # busy one's lock is freed within LOCK_SECONDS. The database or Redis away: tried
        # again with backoff, a bounded number of times (the next change queues a run).
        max_retries=None,
        autoretry_for=(RedisError, OperationalError),
        retry_backoff=True,
        retry_backoff_max=60,
        retry_kwargs={"max_retries": 20},
    )(deliver)
