"""Permission recompute tasks (the `permissions` queue). Thin: ids in, one use case."""

from __future__ import annotations

from celery import Celery

from service.runtime import get_runtime
from service.services import (
    invitations,
    permission_recompute,
    propagation,
    recompute_jobs,
    relay,
)


def recompute_user(tenant_id: str, object_id: str) -> int:
    runtime = get_runtime()
    relay.started(runtime, propagation.RECOMPUTE_USER, tenant_id, object_id)
    return permission_recompute.recompute_users(runtime, tenant_id, [object_id])


def recompute_users(tenant_id: str, object_id: str, user_ids: list[str]) -> int:
    runtime = get_runtime()
    # Users the relay batched from per-user rows are flagged queued (relay._not_queued).
    relay.started(runtime, propagation.RECOMPUTE_USER, tenant_id, *user_ids)
    # A long list (everyone in a large mapped group) is split over several workers.
    return permission_recompute.recompute_or_fan_out(runtime, tenant_id, user_ids)


def users_created(
    tenant_id: str, object_id: str, actor: str, user_ids: list[str] | None = None
) -> int:
    """New SCIM users (one, or a batch from the relay): invite them if the tenant says
    so, then compute their first permission sets."""
    runtime = get_runtime()
    ids = user_ids or [object_id]
    invitations.invite_on_provision(runtime.unit_of_work(), tenant_id, ids, actor, runtime.settings)
    return permission_recompute.recompute_or_fan_out(runtime, tenant_id, ids)


def recompute_group(tenant_id: str, object_id: str) -> int:
    runtime = get_runtime()
    relay.started(runtime, propagation.RECOMPUTE_GROUP, tenant_id, object_id)
    return permission_recompute.recompute_group(runtime, tenant_id, object_id)


def recompute_tenant(tenant_id: str, object_id: str) -> int:
    runtime = get_runtime()
    relay.started(runtime, propagation.RECOMPUTE_TENANT, tenant_id, object_id)
    return permission_recompute.recompute_tenant(runtime, tenant_id)


def recompute_batch(tenant_id: str, object_id: str) -> int:
    return recompute_jobs.run_batch(get_runtime(), tenant_id, object_id)


def register(app: Celery) -> None:
    options = {
        "acks_late": True,
        "ignore_result": True,
        # Recomputes are idempotent: a transient database or Redis error retries.
        "autoretry_for": (ConnectionError, TimeoutError, OSError),
        "retry_backoff": True,
        "retry_backoff_max": 60,
        "max_retries": 8,
    }
    app.task(name=propagation.RECOMPUTE_USER, **options)(recompute_user)
    app.task(name=propagation.RECOMPUTE_USERS, **options)(recompute_users)
    app.task(name=propagation.USERS_CREATED, **options)(users_created)
    app.task(name=propagation.RECOMPUTE_GROUP, **options)(recompute_group)
    app.task(name=propagation.RECOMPUTE_TENANT, **options)(recompute_tenant)
    app.task(name=recompute_jobs.RECOMPUTE_BATCH, **options)(recompute_batch)
