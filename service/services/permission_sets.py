"""Permission sets in the cache: computing and storing them, deprovisioning, and the
read path apps call ("what may this user do, where?").

Rules this module keeps (DESIGN.md, "Rules that keep it correct"):
- A set's version is the database clock, in microseconds, read *before* the data
  it is computed from; the cache refuses to replace a higher version, so two
  racing recomputes end with the newer set.
- Deprovisioning stores an empty set at a fresh version in the request itself.
- A cache miss computes from the database, stores and answers: never "denied"
  because the cache was cold. With Redis down, the database answers; when that
  fails too the caller gets an error (503), never "allowed".
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service import metrics
from service.cache.permission_cache import CachedToken, CacheEntry, StoreResult
from service.domain import EffectivePermissions
from service.domain.errors import DomainError, NotFound, Unavailable
from service.persistence.db import transaction
from service.persistence.scim_models import ScimUser
from service.runtime import Runtime
from service.services import effective, propagation, webhooks
from service.services.permission_model import TenantModel, load_model
from service.services.tokens import Caller, TokenKind, authenticate_cached, hash_token

log = logging.getLogger("rolecall.permissions")

READ_KINDS = (TokenKind.READ, TokenKind.ADMIN)
RECOMPUTE_BATCH = 500


class NotAllowedToRead(DomainError):
    status = 403


class UnknownToken(DomainError):
    status = 401


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


# -- computing and storing ---------------------------------------------------------------


def _entries(
    session: Session, tenant_id: str, user_ids: Sequence[str], model: TenantModel, version: int
) -> list[CacheEntry]:
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


def _announce(
    runtime: Runtime, tenant_id: str, entries: Sequence[CacheEntry], results: Sequence[StoreResult]
) -> None:
    """Tell the tenant's webhooks about the sets whose permissions changed."""
    changed = [e.user_id for e, r in zip(entries, results, strict=True) if r is StoreResult.CHANGED]
    if changed:
        with runtime.unit_of_work() as uow:
            session = uow.session
            webhooks.changes_recorded(session, tenant_id, changed)


def recompute_users(runtime: Runtime, tenant_id: str, user_ids: Iterable[str]) -> int:
    """Compute and cache the sets of `user_ids` in batches; returns how many were written
    (a set is skipped when a newer one is cached already)."""
    ids = list(dict.fromkeys(user_ids))
    written = 0
    for start in range(0, len(ids), RECOMPUTE_BATCH):
        chunk = ids[start : start + RECOMPUTE_BATCH]
        with transaction(runtime.sessions) as session:
            version = clock_version(session)  # before any data is read
            model = load_model(session, tenant_id)
            entries = _entries(session, tenant_id, chunk, model, version)
        results = runtime.cache.store_many(entries)
        written += sum(1 for result in results if result)
        _announce(runtime, tenant_id, entries, results)
        _publish_ancestors(runtime, model)
    return written


FAN_OUT_ABOVE = 1000


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
    with transaction(runtime.sessions) as session:
        user_ids = effective.users_affected_by_group(session, tenant_id, group_id)
    return recompute_or_fan_out(runtime, tenant_id, user_ids)


def recompute_tenant(runtime: Runtime, tenant_id: str) -> int:
    """Every user of the tenant (after a change to its permission model)."""
    with transaction(runtime.sessions) as session:
        user_ids = session.scalars(select(ScimUser.id).where(ScimUser.tenant_id == tenant_id))
        ids = list(user_ids)
    return recompute_or_fan_out(runtime, tenant_id, ids)


def _publish_ancestors(runtime: Runtime, model: TenantModel) -> None:
    """Publish the scope tree's ancestor chains for `check`, once per model version
    (the cache refuses an older model's tree)."""
    published = runtime.cache.ancestors_version(model.tenant_id)
    if published is not None and published >= model.version:
        return
    runtime.cache.publish_ancestors(
        model.tenant_id,
        model.version,
        {scope.id: model.tree.ancestors(scope.id) for scope in model.tree},
    )


def deprovision(runtime: Runtime, tenant_id: str, user_id: str, since: float | None = None) -> int:
    """Make the user's cached set what the database now says (empty, for a deactivated
    or deleted user) at a fresh version no earlier recompute can beat.

    The effect of a deprovisioning (propagation.DEPROVISION): applied by the request
    after its commit and, if that failed, by a worker from the outbox. `since` (epoch
    seconds) is when the deprovisioning change was made."""
    with transaction(runtime.sessions) as session:
        version = clock_version(session)
        entry = _entries(session, tenant_id, [user_id], load_model(session, tenant_id), version)[0]
    result = runtime.cache.store(entry)
    if since is not None:
        metrics.deprovision_to_cache_clear.observe(max(0.0, time.time() - since))
    _announce(runtime, tenant_id, [entry], [result])
    return version


def refresh_ancestors(runtime: Runtime, tenant_id: str) -> None:
    """Publish the tenant's current scope tree (propagation.REFRESH_ANCESTORS)."""
    with transaction(runtime.sessions) as session:
        model = load_model(session, tenant_id)
    _publish_ancestors(runtime, model)


# -- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PermissionCheck:
    user: str
    area: str
    level: str
    scope: str


def _authorise(token: CachedToken | None, caller: Caller | None) -> Caller:
    if token is not None:
        if token.expires_at and token.expires_at <= time.time():
            raise UnknownToken("unauthorized", "The token is unknown, revoked or expired")
        caller = Caller(token.tenant_id, token.token_id, TokenKind(token.kind))
    if caller is None:
        raise UnknownToken("unauthorized", "The token is unknown, revoked or expired")
    if caller.kind not in READ_KINDS:
        raise NotAllowedToRead(
            "forbidden", f"A {caller.kind.value} token cannot call this; it needs read or admin"
        )
    return caller


def _from_database(
    runtime: Runtime,
    caller: Caller,
    refs: Sequence[str],
    scopes: Sequence[str],
    store: bool = True,
) -> tuple[list[dict[str, Any] | None], dict[str, tuple[str, ...] | None]]:
    """Compute the sets (and ancestor chains) the cache could not give; None for a
    ref that names no user of the tenant."""
    try:
        with transaction(runtime.sessions) as session:
            version = clock_version(session)
            ids: list[str | None] = []
            for ref in refs:
                try:
                    ids.append(effective.resolve_user_ref(session, caller.tenant_id, ref))
                except NotFound:
                    ids.append(None)
            known = [i for i in dict.fromkeys(ids) if i is not None]
            model = load_model(session, caller.tenant_id)
            entries = _entries(session, caller.tenant_id, known, model, version)
    except Exception as error:
        log.error("permission read failed on the database too: %s", type(error).__name__)
        raise Unavailable("permissions are unavailable; retry shortly") from error
    if store and entries:
        try:
            _announce(runtime, caller.tenant_id, entries, runtime.cache.store_many(entries))
            _publish_ancestors(runtime, model)
        except Exception:
            log.warning("permission cache unavailable; answered from the database")
    by_id = {entry.user_id: json.loads(entry.body) for entry in entries}
    ancestors = {s: model.tree.ancestors(s) if s in model.tree else None for s in scopes}
    return [by_id[i] if i is not None else None for i in ids], ancestors


def read_sets(
    runtime: Runtime,
    presented_token: str,
    refs: Sequence[str],
    scopes: Sequence[str] = (),
    min_version: int | None = None,
) -> tuple[Caller, list[bytes | dict[str, Any] | None], dict[str, tuple[str, ...] | None]]:
    """The permission sets of `refs` (raw cached JSON where the cache had it; None for
    a ref that names no user) and the ancestors of `scopes`, for the token's tenant.

    One Redis round trip when everything is cached; the database fills any gap."""
    digest = hash_token(presented_token)
    try:
        cached = runtime.cache.read(digest, refs, scopes)
    except Exception:
        metrics.cache_fallbacks.inc()
        caller = _authorise(None, authenticate_cached(runtime, presented_token))
        bodies, ancestors = _from_database(runtime, caller, refs, scopes, store=False)
        return caller, list(bodies), ancestors

    caller = _authorise(
        cached.token,
        None if cached.token else authenticate_cached(runtime, presented_token),
    )
    bodies: list[bytes | dict[str, Any] | None] = list(cached.bodies)
    if cached.token is None:  # the token was not cached, so neither lookup ran
        bodies = [None] * len(refs)
        ancestors: dict[str, tuple[str, ...] | None] = dict.fromkeys(scopes)
    else:
        ancestors = dict(cached.ancestors)
    if min_version is not None:
        bodies = [b if b is not None and _version_of(b) >= min_version else None for b in bodies]
    missing = [i for i, body in enumerate(bodies) if body is None]
    missing_scopes = [s for s, chain in ancestors.items() if chain is None]
    metrics.cache_hits.inc(len(refs) - len(missing))
    if missing or missing_scopes:
        metrics.cache_misses.inc(len(missing))
        fresh, fresh_ancestors = _from_database(
            runtime, caller, [refs[i] for i in missing], missing_scopes
        )
        for i, body in zip(missing, fresh, strict=True):
            bodies[i] = body
        ancestors.update(fresh_ancestors)
    return caller, bodies, ancestors


def _version_of(body: bytes | dict[str, Any]) -> int:
    data = json.loads(body) if isinstance(body, bytes) else body
    return int(data["version"])


def as_dict(body: bytes | dict[str, Any]) -> dict[str, Any]:
    return json.loads(body) if isinstance(body, bytes) else body


def at_scope(
    body: bytes | dict[str, Any], scope_id: str, ancestors: tuple[str, ...] | None
) -> dict[str, Any]:
    """The set, plus every area's level resolved at one scope (inheritance applied)."""
    data = as_dict(body)
    if ancestors is None:
        raise NotFound("not_found", f"scope {scope_id!r} does not exist", "scope")
    areas = EffectivePermissions.from_dict(data).for_scope(scope_id, ancestors)
    return {**data, "at_scope": {"scope_id": scope_id, "areas": areas}}


def check_many(
    runtime: Runtime,
    presented_token: str,
    checks: Sequence[PermissionCheck],
    min_version: int | None = None,
) -> list[dict[str, Any]]:
    """Answer each check allowed true/false, with the version of the set it used."""
    refs = list(dict.fromkeys(c.user for c in checks))
    scopes = list(dict.fromkeys(c.scope for c in checks))
    _, bodies, ancestors = read_sets(runtime, presented_token, refs, scopes, min_version)
    sets = {ref: as_dict(body) for ref, body in zip(refs, bodies, strict=True) if body}
    touched = set(scopes)
    for chain in ancestors.values():
        touched.update(chain or ())
    parsed = {ref: EffectivePermissions.from_dict(data, touched) for ref, data in sets.items()}
    results = []
    for check in checks:
        chain = ancestors.get(check.scope)
        result: dict[str, Any] = {
            "user": check.user,
            "area": check.area,
            "level": check.level,
            "scope": check.scope,
        }
        if check.user not in sets:
            result.update(allowed=False, reason="unknown user")
            results.append(result)
            continue
        result["version"] = sets[check.user]["version"]
        if chain is None:
            result.update(allowed=False, reason="unknown scope")
        else:
            try:
                result["allowed"] = parsed[check.user].allows(
                    check.scope, check.area, check.level, chain
                )
            except DomainError as error:  # a level the area does not have
                result.update(allowed=False, reason=error.message)
        results.append(result)
    return results
