"""Effective permissions of users, computed from the database.

This is the one place that turns rows into a user's permission set: the admin
API, the read API and the cache's recompute tasks all call
:func:`compute_user_permissions` or :func:`compute_many`. What is shared by every
user of a tenant (scope tree, areas, roles, mappings, default role, account
rules) comes from the versioned :class:`TenantModel`; what is the user's own
(the user row, direct groups, the nested groups above them, direct assignments)
is read with a fixed, small number of set-based queries, whatever the number of
groups or users:

1. the user rows (active flag and userType, read through the tenant's user type
   table, which comes with the model),
2. direct group memberships, with the groups' names,
3. the nesting edges above those groups (one recursive query), with names,
4. direct assignments.

(1 and 4 here; 2 and 3 in :mod:`service.persistence.repositories.memberships`, which
the assignment checks share.)

An inactive or deleted user has an empty set: deprovisioning must take effect
even if rows that would grant something are still there.

Whose set a change may alter is answered by :mod:`service.services.affected`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import (
    AccountConflict,
    AccountRequest,
    Assignment,
    AssignmentSource,
    EffectivePermissions,
    Explanation,
    GroupGraph,
    GroupRecord,
    Mapping,
    NotFound,
    UserAssignments,
    UserType,
    compute_effective_permissions,
    derive_user_assignments,
    explain,
)
from service.domain.user_types import TypeStatus, UserTypeReading
from service.persistence.base import among
from service.persistence.permission_models import AssignmentRow
from service.persistence.repositories.memberships import Memberships, read_memberships
from service.persistence.repositories.scim import SqlUsers
from service.persistence.scim_models import ScimUser
from service.services.affected import users_with_account_requests
from service.services.permission_model import TenantModel, load_model

__all__ = [
    "ConflictRecord",
    "UserPermissionResult",
    "account_conflicts",
    "compute_many",
    "compute_under",
    "compute_user_permissions",
    "explain_result",
    "explain_user",
    "resolve_user_ref",
    "user_names",
]

# Keeps each IN list well below SQLite's and PostgreSQL's bound-parameter limits.
_CHUNK = 500


@dataclass(frozen=True)
class UserPermissionResult:
    """One user's computed permissions, with what explains them.

    ``exists`` is false for a user id with no SCIM row (deleted, or never
    provisioned); ``active`` is false for that and for ``active: false``. Either
    way ``permissions`` is empty. ``groups`` holds every group the user is in,
    directly or through nesting, for naming them in explanations.
    """

    tenant_id: str
    user_id: str
    model_version: int
    exists: bool
    active: bool
    type_reading: UserTypeReading
    permissions: EffectivePermissions
    assignments: UserAssignments
    groups: MappingOf[str, GroupRecord]
    # Names the cache files the set under, so apps may ask by userName or externalId.
    user_name: str = ""
    external_id: str = ""

    @property
    def user_type(self) -> UserType | None:
        return self.type_reading.user_type

    @property
    def group_names(self) -> dict[str, str]:
        return {gid: g.display_name for gid, g in self.groups.items()}

    def to_dict(self) -> dict[str, object]:
        """The JSON form apps read: the permission set plus its version."""
        return {
            "tenant_id": self.tenant_id,
            "user_id": self.user_id,
            "model_version": self.model_version,
            "active": self.active,
            "accounts": list(self.assignments.account_ids),
            **{k: v for k, v in self.permissions.to_dict().items() if k != "user_id"},
        }


_NO_TYPE = UserTypeReading(None, None, TypeStatus.ABSENT)


def _empty(
    tenant_id: str, user_id: str, version: int, exists: bool, reading: UserTypeReading
) -> UserPermissionResult:
    return UserPermissionResult(
        tenant_id=tenant_id,
        user_id=user_id,
        model_version=version,
        exists=exists,
        active=False,
        type_reading=reading,
        permissions=EffectivePermissions(user_id, {}, {}),
        assignments=UserAssignments(user_id, (), (), (), ()),
        groups={},
    )


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


@dataclass
class _Batch:
    """What the queries found for a batch of users: their own rows, read once, which
    any model of the tenant can then be applied to (see :func:`compute_under`)."""

    # Per user: (active, userType as the IdP sent it).
    users: dict[str, tuple[bool, str | None]]
    names: dict[str, tuple[str, str]]
    memberships: Memberships
    # Per user: (assignment id, role id, scope id, assign_account, created_at).
    direct: dict[str, list[tuple[str, str, str, bool, datetime]]]


def _read_batch(session: Session, tenant_id: str, user_ids: Sequence[str]) -> _Batch:
    users: dict[str, tuple[bool, str | None]] = {}
    names: dict[str, tuple[str, str]] = {}
    for uid, active, raw_type, user_name, external_id in session.execute(
        select(
            ScimUser.id,
            ScimUser.active,
            ScimUser.user_type,
            ScimUser.user_name,
            ScimUser.external_id,
        ).where(ScimUser.tenant_id == tenant_id, among(session, ScimUser.id, user_ids))
    ):
        users[uid] = (bool(active), raw_type)
        names[uid] = (user_name, external_id or "")
    live = [uid for uid, (active, _) in users.items() if active]
    batch = _Batch(users, names, Memberships(), {})
    if not live:
        return batch
    batch.memberships = read_memberships(session, tenant_id, live)
    for row_id, uid, role_id, scope_id, assign_account, created in session.execute(
        select(
            AssignmentRow.id,
            AssignmentRow.user_id,
            AssignmentRow.role_id,
            AssignmentRow.scope_id,
            AssignmentRow.assign_account,
            AssignmentRow.created_at,
        ).where(AssignmentRow.tenant_id == tenant_id, among(session, AssignmentRow.user_id, live))
    ):
        batch.direct.setdefault(uid, []).append(
            (row_id, role_id, scope_id, assign_account, created)
        )
    return batch


def _compute_one(
    tenant_id: str,
    user_id: str,
    model: TenantModel,
    batch: _Batch,
    graph: GroupGraph,
) -> UserPermissionResult:
    found = batch.users.get(user_id)
    if found is None:
        return _empty(tenant_id, user_id, model.version, False, _NO_TYPE)
    active, raw_type = found
    reading = model.user_types.read(raw_type)
    if not active:
        return _empty(tenant_id, user_id, model.version, True, reading)
    role_key = model.role_keys_by_id
    # A row whose role the model no longer has grants nothing.
    direct_rows = [
        (row_id, role_key[role_id], scope_id, assign_account, created)
        for row_id, role_id, scope_id, assign_account, created in batch.direct.get(user_id, ())
        if role_id in role_key
    ]
    groups = batch.memberships
    derived = derive_user_assignments(
        user_id,
        tree=model.tree,
        roles=model.roles,
        user_type=reading.user_type,
        direct_group_ids=groups.direct_groups.get(user_id, ()),
        groups=groups.groups,
        graph=graph,
        mappings=model.mapping_index,
        direct=[
            Assignment(user_id, key, scope_id, AssignmentSource.DIRECT, assignment_id=row_id)
            for row_id, key, scope_id, _, _ in direct_rows
        ],
        direct_accounts=[
            AccountRequest.direct(scope_id, created, row_id)
            for row_id, _, scope_id, assign_account, created in direct_rows
            if assign_account
        ],
        default_roles=model.default_roles,
        account_rules=model.account_rules,
        mapping_since=model.mapping_since,
        group_since=groups.created,
    )
    permissions = compute_effective_permissions(
        derived.assignments,
        model.roles,
        model.areas,
        model.tree,
        user_id=user_id,
        accounts=derived.account_ids,
        ranked=model.ranked_grants,
    )
    reached = {
        gid: groups.groups[gid]
        for a in (*derived.assignments, *(r.assignment for r in derived.refused))
        for gid in a.via_groups
        if gid in groups.groups
    }
    for gid in groups.direct_groups.get(user_id, ()):
        reached[gid] = groups.groups[gid]
    return UserPermissionResult(
        tenant_id=tenant_id,
        user_id=user_id,
        model_version=model.version,
        exists=True,
        active=True,
        type_reading=reading,
        permissions=permissions,
        assignments=derived,
        groups=reached,
    )


def compute_user_permissions(
    session: Session, tenant_id: str, user_id: str, model: TenantModel | None = None
) -> UserPermissionResult:
    """The effective permissions of one user, now."""
    return compute_many(session, tenant_id, [user_id], model)[user_id]


def compute_many(
    session: Session,
    tenant_id: str,
    user_ids: Iterable[str],
    model: TenantModel | None = None,
) -> dict[str, UserPermissionResult]:
    """The effective permissions of many users, four queries per 500 users.

    Every id asked for gets an answer; an unknown id gets an empty set, which is
    what a cache must store for a user the IdP has deleted.
    """
    model = model or load_model(session, tenant_id)
    return {uid: results[0] for uid, results in compute_under(session, tenant_id, user_ids, model)}


def compute_under(
    session: Session, tenant_id: str, user_ids: Iterable[str], *models: TenantModel
) -> Iterator[tuple[str, tuple[UserPermissionResult, ...]]]:
    """Each user's permissions under each of several models of the tenant, batch by
    batch, reading the users' own rows (the user, its groups, its direct assignments)
    once for all the models.

    A preview compares a user's set before and after a change of the model alone
    (a mapping, a role, a scope, a product): its own rows are the same on both
    sides, so reading them twice would only double the database's part. Results are
    yielded as each batch is done, so a caller that keeps only what it needs does not
    hold every set at once.
    """
    ids = list(dict.fromkeys(user_ids))
    for chunk in _chunks(ids):
        batch = _read_batch(session, tenant_id, chunk)
        graph = GroupGraph(batch.memberships.edges)
        for uid in chunk:
            results = tuple(_compute_one(tenant_id, uid, model, batch, graph) for model in models)
            if uid in batch.names:
                user_name, external_id = batch.names[uid]
                results = tuple(
                    replace(r, user_name=user_name, external_id=external_id) for r in results
                )
            yield uid, results


# -- resolving a user reference ----------------------------------------------------


def resolve_user_ref(session: Session, tenant_id: str, ref: str) -> str:
    """The SCIM id of the user ``ref`` names: its id, userName (any case) or externalId.

    When one string matches different users in different ways, the id wins, then
    userName, then externalId, so the answer never depends on row order.
    """
    found = SqlUsers(session).find(tenant_id, ref)
    if found is not None:
        return found.id
    raise NotFound("not_found", f"no user with id, userName or externalId {ref!r}", "user")


# -- explain and conflicts -----------------------------------------------------------


def explain_user(
    session: Session,
    tenant_id: str,
    user_id: str,
    area: str,
    level: str,
    scope_id: str,
    model: TenantModel | None = None,
) -> tuple[Explanation, UserPermissionResult]:
    """Why the user has (or lacks) ``area`` at ``level`` on ``scope_id``, from the same
    computation that produces the permission set, so the two never disagree."""
    model = model or load_model(session, tenant_id)
    result = compute_user_permissions(session, tenant_id, user_id, model)
    return explain_result(result, model, area, level, scope_id), result


def explain_result(
    result: UserPermissionResult, model: TenantModel, area: str, level: str, scope_id: str
) -> Explanation:
    """Why a computed user has (or lacks) ``area`` at ``level`` on ``scope_id``: explain
    over the assignments the computation kept and refused, for the model it used."""
    return explain(
        result.user_id,
        area,
        level,
        scope_id,
        assignments=result.assignments.assignments,
        roles=model.roles,
        areas=model.areas,
        tree=model.tree,
        refused=result.assignments.refused,
        group_names=result.group_names,
        accounts=result.assignments.account_ids,
    )


@dataclass(frozen=True)
class ConflictRecord:
    """An account request refused for a user, with the mapping that made it, if any."""

    user_id: str
    conflict: AccountConflict
    mapping: Mapping | None


def account_conflicts(
    session: Session, tenant_id: str, model: TenantModel | None = None
) -> list[ConflictRecord]:
    """Every current account conflict of the tenant, derived now.

    Only users with an account request can have one: those with a direct
    assignment that assigns an account, and those in a group that a mapping with
    ``assign_account`` names. Nothing is stored, so a conflict whose cause went
    away is simply not found any more.
    """
    model = model or load_model(session, tenant_id)
    candidates = users_with_account_requests(session, tenant_id, model)
    by_id = {m.id: m for m in model.mappings}
    out: list[ConflictRecord] = []
    for uid, result in sorted(compute_many(session, tenant_id, sorted(candidates), model).items()):
        for conflict in result.assignments.conflicts:
            out.append(ConflictRecord(uid, conflict, by_id.get(conflict.origin)))
    return out


def user_names(session: Session, tenant_id: str, user_ids: Iterable[str]) -> dict[str, str]:
    """userName by SCIM id, for showing users in lists."""
    ids = list(dict.fromkeys(user_ids))
    out: dict[str, str] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(ScimUser.id, ScimUser.user_name).where(
                ScimUser.tenant_id == tenant_id, ScimUser.id.in_(chunk)
            )
        )
        out.update((uid, name) for uid, name in rows)
    return out
