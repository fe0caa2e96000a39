"""Permission sets computed from the database and written to the cache: recomputes
after a change, deprovisioning, and publishing the scope tree that checks use.

Rules this module keeps (DESIGN.md, "Rules that keep it correct"):
- A set's version is the database clock, in microseconds, read *before* the data
  it is computed from; the cache refuses to replace a higher version, so two
  racing recomputes end with the newer set.
- Deprovisioning stores an empty set at a fresh version, applied by the request
  that made it (an effect of its unit of work) and by a worker if that failed.
- The scope tree's ancestor chains are published whole, per model version, so a
  deleted or moved scope never answers from its old chain once it is replaced.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service import metrics
from service.cache.permission_cache import CacheEntry, StoreResult
from service.persistence.scim_models import ScimUser
from service.persistence.webhook_models import newly_announced
from service.runtime import Runtime
from service.services import affected, effective, propagation, webhooks
from service.services.permission_model import TenantModel, load_model

RECOMPUTE_BATCH = 500
FAN_OUT_ABOVE = 1000


# -- versions --------------------------------------------------------------------------


def clock_version(session: Session) -> int:
    """Microseconds of the database's clock: one clock for every web and worker machine."""
    if session.get_bind().dialect.name == "postgresql":
        return int(
            session.scalar(text("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"))
        )
    # SQLite is the embedded default: one machine, so its own clock is the clock.
    return time.time_ns() // 1000


def _iso(version: int) -> str:
    return datetime.fromtimestamp(version / 1_000_000, UTC).isoformat()


# -- computing, storing, announcing -----------------------------------------------------


def cache_entries(
    session: Session, tenant_id: str, user_ids: Sequence[str], model: TenantModel, version: int
) -> list[CacheEntry]:
    """The cache entries of `user_ids` at `version` (taken before this reads anything)."""
    results = effective.compute_many(session, tenant_id, user_ids, model)
    entries = []
    for user_id in user_ids:
        content = results[user_id].to_dict()
        body = {"version": version, "computed_at": _iso(version), **content}
        digest = hashlib.sha1(
            json.dumps(content, sort_keys=True).encode(), usedforsecurity=False
        ).hexdigest()
        entries.append(
            CacheEntry(
                tenant_id,
                user_id,
                version,
                json.dumps(body, separators=(",", ":")),
                results[user_id].user_name,
                results[user_id].external_id,
                digest,
            )
        )
    return entries


def announce(
    runtime: Runtime, tenant_id: str, entries: Sequence[CacheEntry], results: Sequence[StoreResult]
) -> None:
    """Tell the tenant's webhooks about the sets whose permissions changed, after they
    are in the cache. What changed is judged against the set last announced (kept in
    the database with the deliveries it led to), not against what the cache held: a
    run that died after its cache write is announced by the retry. A set the cache
    refused (a newer one is there) is left to the run that wrote the newer one."""
    written = [(e.user_id, e.digest, e.version) for e, r in zip(entries, results, strict=True) if r]
    if not written:
        return
    with runtime.unit_of_work() as uow:
        changed = newly_announced(uow.session, tenant_id, written)
        webhooks.changes_recorded(uow.session, tenant_id, changed)


def publish_ancestors(runtime: Runtime, model: TenantModel) -> None:
    """Publish the scope tree's ancestor chains for checks, once per model version
    (the cache refuses an older model's tree)."""
    published = runtime.cache.ancestors_version(model.tenant_id)
    if published is not None and published >= model.version:
        return
    runtime.cache.publish_ancestors(
        model.tenant_id,
        model.version,
        {scope.id: model.tree.ancestors(scope.id) for scope in model.tree},
    )


def recompute_users(runtime: Runtime, tenant_id: str, user_ids: Iterable[str]) -> int:
    """Compute and cache the sets of `user_ids` in batches; returns how many were written
    (a set is skipped when a newer one is cached already)."""
    ids = list(dict.fromkeys(user_ids))
    written = 0
    for start in range(0, len(ids), RECOMPUTE_BATCH):
        chunk = ids[start : start + RECOMPUTE_BATCH]
        with runtime.unit_of_work() as uow:
            version = clock_version(uow.session)  # before any data is read
            model = load_model(uow.session, tenant_id)
            entries = cache_entries(uow.session, tenant_id, chunk, model, version)
        results = runtime.cache.store_many(entries)
        written += sum(1 for result in results if result)
        announce(runtime, tenant_id, entries, results)
        publish_ancestors(runtime, model)
    return written


def recompute_or_fan_out(runtime: Runtime, tenant_id: str, user_ids: Iterable[str]) -> int:
    """Recompute here when the work is small; otherwise as batch tasks, so no single
    task holds a worker for long and several workers share a large change."""
    ids = sorted(set(user_ids))
    if len(ids) <= FAN_OUT_ABOVE:
        return recompute_users(runtime, tenant_id, ids)
    for start in range(0, len(ids), FAN_OUT_ABOVE):
        chunk = ids[start : start + FAN_OUT_ABOVE]
        runtime.send(
            propagation.RECOMPUTE_USERS,
            {"tenant_id": tenant_id, "object_id": f"batch-{start}", "user_ids": chunk},
        )
    return 0


def recompute_group(runtime: Runtime, tenant_id: str, group_id: str) -> int:
    """Everyone in the group, directly or through nested groups."""
    with runtime.unit_of_work() as uow:
        user_ids = affected.users_affected_by_group(uow.session, tenant_id, group_id)
    return recompute_or_fan_out(runtime, tenant_id, user_ids)


def recompute_tenant(runtime: Runtime, tenant_id: str) -> int:
    """Every user of the tenant (after a change to its permission model)."""
    with runtime.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(ScimUser.id).where(ScimUser.tenant_id == tenant_id)))
    return recompute_or_fan_out(runtime, tenant_id, ids)


# -- effects (service.services.effects) ---------------------------------------------------


def deprovision(runtime: Runtime, tenant_id: str, user_id: str, since: float | None = None) -> int:
    """Make the user's cached set what the database now says (empty, for a deactivated
    or deleted user) at a fresh version no earlier recompute can beat.

    The effect of a deprovisioning (propagation.DEPROVISION): applied by the request
    after its commit and, if that failed, by a worker from the outbox. `since` (epoch
    seconds) is when the deprovisioning change was made."""
    with runtime.unit_of_work() as uow:
        version = clock_version(uow.session)
        model = load_model(uow.session, tenant_id)
        entry = cache_entries(uow.session, tenant_id, [user_id], model, version)[0]
    result = runtime.cache.store(entry)
    if since is not None:
        metrics.deprovision_to_cache_clear.observe(max(0.0, time.time() - since))
    announce(runtime, tenant_id, [entry], [result])
    return version


def refresh_ancestors(runtime: Runtime, tenant_id: str) -> None:
    """Publish the tenant's current scope tree (propagation.REFRESH_ANCESTORS)."""
    with runtime.unit_of_work() as uow:
        model = load_model(uow.session, tenant_id)
    publish_ancestors(runtime, model)
