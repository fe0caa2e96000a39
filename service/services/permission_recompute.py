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
- Every set that is a change is recorded in the tenant's change feed
  (service.services.change_feed) before it is written to the cache.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service import metrics
from service.cache.permission_cache import CacheEntry, StoreResult
from service.persistence.feed_models import NewSet
from service.persistence.scim_models import ScimUser
from service.runtime import Runtime
from service.services import affected, change_feed, effective, propagation, webhooks
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


# -- computing, recording, storing ------------------------------------------------------


@dataclass(frozen=True)
class ComputedSet:
    """A user's set as computed: the cache entry, and what kind of change it records."""

    entry: CacheEntry
    kind: str

    def for_feed(self) -> NewSet:
        entry = self.entry
        return NewSet(
            user_id=entry.user_id,
            version=entry.version,
            digest=entry.digest,
            kind=self.kind,
            body=entry.body,
            user_name=entry.user_name or None,
            external_id=entry.external_id or None,
        )


def compute_sets(
    session: Session, tenant_id: str, user_ids: Sequence[str], model: TenantModel, version: int
) -> list[ComputedSet]:
    """The sets of `user_ids` at `version` (taken before this reads anything)."""
    results = effective.compute_many(session, tenant_id, user_ids, model)
    computed = []
    for user_id in user_ids:
        result = results[user_id]
        content = result.to_dict()
        body = {"version": version, "computed_at": _iso(version), **content}
        digest = hashlib.sha1(
            json.dumps(content, sort_keys=True).encode(), usedforsecurity=False
        ).hexdigest()
        entry = CacheEntry(
            tenant_id,
            user_id,
            version,
            json.dumps(body, separators=(",", ":")),
            result.user_name,
            result.external_id,
            digest,
        )
        computed.append(ComputedSet(entry, change_feed.kind_of(result.exists, result.active)))
    return computed


def cache_entries(
    session: Session, tenant_id: str, user_ids: Sequence[str], model: TenantModel, version: int
) -> list[CacheEntry]:
    """The cache entries of `user_ids` at `version` (taken before this reads anything)."""
    return [c.entry for c in compute_sets(session, tenant_id, user_ids, model, version)]


def record_and_store(
    runtime: Runtime, tenant_id: str, sets: Sequence[ComputedSet], since: float | None = None
) -> list[StoreResult]:
    """Record the sets that are changes in the feed, then write every set to the cache.

    The feed commits first, so a crash between the two loses no event (a retried run
    writes the cache; its set equals the recorded one, so it records nothing twice).
    A set older than the one recorded, or equal to it, is no change; the cache refuses
    an older one too. The tenant's webhooks are told in the recording transaction, and
    long-polling readers are woken once the cache holds the sets. `since` (epoch
    seconds): when the deprovisioning these sets follow was made, for its metrics."""
    if not sets:
        return []
    with runtime.unit_of_work() as uow:
        recorded = change_feed.record_sets(uow.session, tenant_id, [s.for_feed() for s in sets])
        if recorded is not None:
            webhooks.feed_moved(uow.session, tenant_id)
    if since is not None:
        metrics.deprovision_to_feed.observe(max(0.0, time.time() - since))
    results = runtime.cache.store_many([s.entry for s in sets])
    if since is not None:
        metrics.deprovision_to_cache_clear.observe(max(0.0, time.time() - since))
    if recorded is not None:
        runtime.feed_signal.publish(tenant_id, recorded.cursor)
    return results


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
            sets = compute_sets(uow.session, tenant_id, chunk, model, version)
        written += sum(1 for result in record_and_store(runtime, tenant_id, sets) if result)
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
        computed = compute_sets(uow.session, tenant_id, [user_id], model, version)
    record_and_store(runtime, tenant_id, computed, since)
    return version


def refresh_ancestors(runtime: Runtime, tenant_id: str) -> None:
    """Publish the tenant's current scope tree (propagation.REFRESH_ANCESTORS), after
    recording in the feed that it changed (readers holding chains drop them and ask
    again for chains at least this model's)."""
    with runtime.unit_of_work() as uow:
        model = load_model(uow.session, tenant_id)
        cursor = change_feed.record_scopes(uow.session, tenant_id, model.version)
    publish_ancestors(runtime, model)
    runtime.feed_signal.publish(tenant_id, cursor)
