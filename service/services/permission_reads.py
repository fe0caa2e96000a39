"""The read path apps call ("what may this user do, where?"): permission sets and
scope ancestors from the cache, the database where the cache has a gap, and checks.

One Redis round trip authenticates the token and reads everything a request needs
(PermissionCache.read). Who may read is not decided here: the caller passes `admit`,
the authenticator's decision on the caller the token stands for (service.http.auth),
which raises if the token may not read; nothing is read for a caller it refused.

Rules (DESIGN.md, "Rules that keep it correct"): a cache miss computes from the
database, stores and answers, so a cold cache is never a denial; with Redis down the
database answers; when that fails too the answer is an error (503), never "allowed".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from service import metrics
from service.domain import EffectivePermissions
from service.domain.errors import DomainError, NotFound, Unavailable
from service.runtime import Runtime
from service.services import effective
from service.services.permission_model import load_model
from service.services.permission_recompute import (
    clock_version,
    compute_sets,
    publish_ancestors,
    record_and_store,
)
from service.services.tokens import Caller, authenticate_cached, caller_of, hash_token

log = logging.getLogger("rolecall.permissions")

# The authenticator's decision on the caller a token stands for (None: unknown, revoked
# or expired): the caller, if it may read; otherwise it raises.
Admit = Callable[[Caller | None], Caller]
Body = bytes | dict[str, Any]
Ancestors = dict[str, tuple[str, ...] | None]


@dataclass(frozen=True)
class PermissionCheck:
    user: str
    area: str
    level: str
    scope: str
    product: str | None = None


@dataclass(frozen=True)
class Sets:
    """The sets of the refs asked for, in order (raw cached JSON where the cache had
    it; None for a ref that names no user of the tenant), and the ancestors of the
    scopes asked for (None for a scope that does not exist)."""

    caller: Caller
    bodies: list[Body | None]
    ancestors: Ancestors


def read_sets(
    runtime: Runtime,
    presented_token: str,
    admit: Admit,
    refs: Sequence[str],
    scopes: Sequence[str] = (),
    min_version: int | None = None,
) -> Sets:
    """The sets of `refs` and the ancestors of `scopes`, for the token's tenant.

    One Redis round trip when everything is cached; the database fills any gap."""
    try:
        cached = runtime.cache.read(hash_token(presented_token), refs, scopes)
    except Exception:
        metrics.cache_fallbacks.inc()
        caller = admit(authenticate_cached(runtime, presented_token))
        bodies, ancestors = _from_database(runtime, caller, refs, scopes, store=False)
        return Sets(caller, list(bodies), ancestors)

    if cached.token is None:  # the token was not cached, so neither lookup ran
        caller = admit(authenticate_cached(runtime, presented_token))
        found: list[Body | None] = [None] * len(refs)
        ancestors: Ancestors = dict.fromkeys(scopes)
    else:
        caller = admit(caller_of(cached.token))
        found = list(cached.bodies)
        ancestors = dict(cached.ancestors)
    if min_version is not None:
        found = [b if b is not None and _version_of(b) >= min_version else None for b in found]
    missing = [i for i, body in enumerate(found) if body is None]
    missing_scopes = [s for s, chain in ancestors.items() if chain is None]
    metrics.cache_hits.inc(len(refs) - len(missing))
    if missing or missing_scopes:
        metrics.cache_misses.inc(len(missing))
        fresh, fresh_ancestors = _from_database(
            runtime, caller, [refs[i] for i in missing], missing_scopes
        )
        for i, body in zip(missing, fresh, strict=True):
            found[i] = body
        ancestors.update(fresh_ancestors)
    return Sets(caller, found, ancestors)


def _from_database(
    runtime: Runtime,
    caller: Caller,
    refs: Sequence[str],
    scopes: Sequence[str],
    store: bool = True,
) -> tuple[list[dict[str, Any] | None], Ancestors]:
    """Compute the sets (and ancestor chains) the cache could not give; None for a
    ref that names no user of the tenant. Stores what it computed unless told not to
    (the cache is down)."""
    try:
        with runtime.unit_of_work().reading() as session:
            version = clock_version(session)  # before any data is read
            ids: list[str | None] = []
            for ref in refs:
                try:
                    ids.append(effective.resolve_user_ref(session, caller.tenant_id, ref))
                except NotFound:
                    ids.append(None)
            known = [i for i in dict.fromkeys(ids) if i is not None]
            model = load_model(session, caller.tenant_id)
            sets = compute_sets(session, caller.tenant_id, known, model, version)
    except Exception as error:
        log.error("permission read failed on the database too: %s", type(error).__name__)
        raise Unavailable("permissions are unavailable; retry shortly") from error
    if store and sets:
        try:
            record_and_store(runtime, caller.tenant_id, sets)
            publish_ancestors(runtime, model)
        except Exception:
            log.warning("permission cache unavailable; answered from the database")
    by_id = {s.entry.user_id: json.loads(s.entry.body) for s in sets}
    ancestors = {s: model.tree.ancestors(s) if s in model.tree else None for s in scopes}
    return [by_id[i] if i is not None else None for i in ids], ancestors


def _version_of(body: Body) -> int:
    return int(as_dict(body)["version"])


def as_dict(body: Body) -> dict[str, Any]:
    return json.loads(body) if isinstance(body, bytes) else body


def at_scope(body: Body, scope_id: str, ancestors: tuple[str, ...] | None) -> dict[str, Any]:
    """The set, plus every area's level resolved at one scope (inheritance applied)."""
    data = as_dict(body)
    if ancestors is None:
        raise NotFound("not_found", f"scope {scope_id!r} does not exist", "scope")
    areas = EffectivePermissions.from_dict(data).for_scope(scope_id, ancestors)
    return {**data, "at_scope": {"scope_id": scope_id, "areas": areas}}


def check_many(
    runtime: Runtime,
    presented_token: str,
    admit: Admit,
    checks: Sequence[PermissionCheck],
    min_version: int | None = None,
) -> list[dict[str, Any]]:
    """Answer each check allowed true/false, with the version of the set it used."""
    refs = list(dict.fromkeys(c.user for c in checks))
    scopes = list(dict.fromkeys(c.scope for c in checks))
    found = read_sets(runtime, presented_token, admit, refs, scopes, min_version)
    sets = {ref: as_dict(body) for ref, body in zip(refs, found.bodies, strict=True) if body}
    touched = set(scopes)
    for chain in found.ancestors.values():
        touched.update(chain or ())
    parsed = {ref: EffectivePermissions.from_dict(data, touched) for ref, data in sets.items()}
    results = []
    for check in checks:
        chain = found.ancestors.get(check.scope)
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
                area = parsed[check.user].area_ref(check.area, check.product)
                result["area"] = area
                result["allowed"] = parsed[check.user].allows(check.scope, area, check.level, chain)
            except DomainError as error:  # an ambiguous area, a level the area lacks
                result.update(allowed=False, reason=error.message)
        results.append(result)
    return results


def ancestors_of(
    runtime: Runtime, tenant_id: str, scope_id: str, min_version: int = 0
) -> tuple[tuple[str, ...], int]:
    """A scope's ancestor chain (nearest first) and the model version it is from, at
    least `min_version`: from the published chains when they are new enough, else from
    the database (publishing them). NotFound when the scope does not exist."""
    try:
        version = runtime.cache.ancestors_version(tenant_id)
        if version is not None and version >= min_version:
            chain = runtime.cache.published_chain(tenant_id, scope_id)
            if chain is not None:
                return chain, version
    except Exception:
        log.warning("scope ancestors unavailable in the cache; reading the database")
    with runtime.unit_of_work().reading() as session:
        model = load_model(session, tenant_id)
    if scope_id not in model.tree:
        raise NotFound("not_found", f"scope {scope_id!r} does not exist", "scope")
    try:
        publish_ancestors(runtime, model)
    except Exception:
        log.warning("scope ancestors not published; answered from the database")
    return model.tree.ancestors(scope_id), model.version
