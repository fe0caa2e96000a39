"""Effects left in the outbox (service.services.effects): a worker applies what the
process that made the change could not. Thin: ids in, one use case."""

from __future__ import annotations

from celery import Celery
from redis import RedisError

from service.runtime import get_runtime
from service.services import effects, propagation


def deprovision(tenant_id: str, object_id: str, since: float | None = None) -> None:
    effects.apply(get_runtime(), propagation.DEPROVISION, tenant_id, object_id, {"since": since})


def forget_token(tenant_id: str, object_id: str) -> None:
    effects.apply(get_runtime(), propagation.FORGET_TOKEN, tenant_id, object_id, {})


def refresh_ancestors(tenant_id: str, object_id: str) -> None:
    effects.apply(get_runtime(), propagation.REFRESH_ANCESTORS, tenant_id, object_id, {})


def register(app: Celery) -> None:
    options = {
        "acks_late": True,
        "ignore_result": True,
        # An effect makes shared state match the database: retry while Redis is away.
        "autoretry_for": (RedisError, ConnectionError, TimeoutError, OSError),
        "retry_backoff": True,
        "retry_backoff_max": 30,
        "max_retries": 12,
    }
    app.task(name=propagation.DEPROVISION, **options)(deprovision)
    app.task(name=propagation.FORGET_TOKEN, **options)(forget_token)
    app.task(name=propagation.REFRESH_ANCESTORS, **options)(refresh_ancestors)
