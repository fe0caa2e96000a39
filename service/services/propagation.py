"""What a change implies for cached permission sets, recorded in the outbox.

Every change that can alter someone's permissions calls one of these in its own
transaction; the recompute runs after the commit (service.services.relay). Most
keys coalesce: a burst of changes to one user or group costs one or two runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from service.persistence.unit_of_work import UnitOfWork

RECOMPUTE_USER = "rolecall.permissions.recompute_user"
RECOMPUTE_GROUP = "rolecall.permissions.recompute_group"
RECOMPUTE_USERS = "rolecall.permissions.recompute_users"
RECOMPUTE_TENANT = "rolecall.permissions.recompute_tenant"
USERS_CREATED = "rolecall.permissions.users_created"
# One webhook's delivery run: it sends what the tenant's feed holds after the webhook's
# cursor (service.services.webhooks).
DELIVER_WEBHOOK = "rolecall.webhooks.deliver"

# Effects (service.persistence.unit_of_work): applied right after the commit of the
# change that records them, and by a worker from the outbox if that failed.
DEPROVISION = "rolecall.effects.deprovision"
FORGET_TOKEN = "rolecall.effects.forget_token"
REFRESH_ANCESTORS = "rolecall.effects.refresh_ancestors"
# An effect the contract says is immediate: when it could not be applied in the
# request, the request answers 503 so the caller retries (and re-applies it).
IMMEDIATE_EFFECTS = frozenset({DEPROVISION})

# Tasks whose run reads the current state of one object: while one is queued, a
# further change to the same object needs no further run (see relay.already_queued).
COALESCED = frozenset({RECOMPUTE_USER, RECOMPUTE_GROUP, RECOMPUTE_TENANT, DELIVER_WEBHOOK})
# Per-user tasks the relay process sends as one task for many users (its `user_ids`).
BATCHED = {RECOMPUTE_USER: RECOMPUTE_USERS, USERS_CREATED: USERS_CREATED}


def user_changed(uow: UnitOfWork, tenant_id: str, user_id: str) -> None:
    uow.emit(tenant_id, RECOMPUTE_USER, user_id)


def user_created(uow: UnitOfWork, tenant_id: str, user_id: str, actor: str) -> None:
    """A new user's first permission set, and its invitation when the tenant invites
    provisioned users (worker.permission_tasks.users_created)."""
    uow.emit(tenant_id, USERS_CREATED, user_id, {"actor": actor})


def user_deprovisioned(uow: UnitOfWork, tenant_id: str, user_id: str) -> None:
    """Deleted or `active: false`: readers must see an empty set as soon as the request
    that did it returns, not when a worker gets to it. `since` in the payload is the
    wall clock of the change, for the deprovisioning latency metric."""
    uow.effect(tenant_id, DEPROVISION, user_id, {"since": time.time()})


def tree_changed(uow: UnitOfWork, tenant_id: str) -> None:
    """A scope was deleted or moved: the cached ancestor chains checks use are replaced."""
    uow.effect(tenant_id, REFRESH_ANCESTORS, tenant_id)


def group_changed(uow: UnitOfWork, tenant_id: str, group_id: str) -> None:
    """The group's members (direct and nested) must be recomputed."""
    uow.emit(tenant_id, RECOMPUTE_GROUP, group_id)


def users_changed(uow: UnitOfWork, tenant_id: str, user_ids: Iterable[str]) -> None:
    """A fixed list of users, e.g. members removed from a group or of a deleted group,
    whom the group's own recompute can no longer reach."""
    ids = sorted(set(user_ids))
    if ids:
        uow.emit(tenant_id, RECOMPUTE_USERS, uuid.uuid4().hex, {"user_ids": ids})


def model_changed(uow: UnitOfWork, tenant_id: str) -> None:
    """Scopes, areas, roles, mappings or the default role changed: every user of the
    tenant is recomputed, in batches."""
    uow.emit(tenant_id, RECOMPUTE_TENANT, tenant_id)
