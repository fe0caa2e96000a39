"""Who is affected by a change: the users whose permission sets a change to a group,
a mapping, a role or a scope may alter, for fan-out after the change.

The queries over-approximate rather than miss anyone: a user recomputed for nothing
costs one recompute; a user missed keeps a stale set. Run them before the change
removes the rows that connect the users (a group's memberships, a deleted scope).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, literal, or_, select
from sqlalchemy.orm import Session, aliased

from service.domain import GroupRef, GroupRefKind, Mapping
from service.persistence.permission_models import AssignmentRow, ScopeRow
from service.persistence.repositories.scim import users_in_groups as _users_in_groups
from service.persistence.scim_models import ScimGroup
from service.services.permission_model import TenantModel, load_model

__all__ = [
    "groups_matching",
    "users_affected_by_group",
    "users_affected_by_mapping",
    "users_affected_by_role",
    "users_affected_by_scope",
    "users_holding_anything",
    "users_holding_at",
    "users_with_account_requests",
]


def groups_matching(tenant_id: str, refs: Iterable[GroupRef]) -> Select:
    """The statement selecting the ids of the tenant's groups that any of ``refs`` name
    (by id, externalId or displayName, the way mappings name them)."""
    by_kind: dict[GroupRefKind, set[str]] = {k: set() for k in GroupRefKind}
    for ref in refs:
        value = ref.value.lower() if ref.kind is GroupRefKind.DISPLAY_NAME else ref.value
        by_kind[ref.kind].add(value)
    conditions = []
    if by_kind[GroupRefKind.ID]:
        conditions.append(ScimGroup.id.in_(by_kind[GroupRefKind.ID]))
    if by_kind[GroupRefKind.EXTERNAL_ID]:
        conditions.append(ScimGroup.external_id.in_(by_kind[GroupRefKind.EXTERNAL_ID]))
    if by_kind[GroupRefKind.DISPLAY_NAME]:
        conditions.append(ScimGroup.display_name_lower.in_(by_kind[GroupRefKind.DISPLAY_NAME]))
    if not conditions:
        return select(ScimGroup.id).where(literal(False))
    return select(ScimGroup.id).where(ScimGroup.tenant_id == tenant_id, or_(*conditions))


def _direct_holders(session: Session, tenant_id: str, *conditions: object) -> set[str]:
    return set(
        session.scalars(
            select(AssignmentRow.user_id)
            .distinct()
            .where(AssignmentRow.tenant_id == tenant_id, *conditions)  # type: ignore[arg-type]
        )
    )


def users_affected_by_group(session: Session, tenant_id: str, group_id: str) -> set[str]:
    """Every user in the group, directly or through groups nested in it.

    Call it before deleting a group (or removing a nested group from it): after
    that, the membership rows that connect the users are gone.
    """
    return _users_in_groups(session, tenant_id, select(literal(group_id)))


def users_affected_by_mapping(
    session: Session, tenant_id: str, mapping: Mapping | GroupRef
) -> set[str]:
    """Every user in a group the mapping names (by id, externalId or displayName).

    For a changed mapping, call it with the old and the new group reference.
    """
    ref = mapping.group if isinstance(mapping, Mapping) else mapping
    return _users_in_groups(session, tenant_id, groups_matching(tenant_id, [ref]))


def users_affected_by_role(
    session: Session, tenant_id: str, role_key: str, model: TenantModel | None = None
) -> set[str]:
    """Everyone who holds the role (by ref, ``product/key``) directly or through a
    mapping; for a product's default role, everyone who holds anything (that is where
    the default lands)."""
    model = model or load_model(session, tenant_id)
    if role_key in model.default_roles:
        mappings = list(model.mappings)
        direct = _direct_holders(session, tenant_id)
    else:
        role_id = model.role_ids.get(role_key)
        mappings = [m for m in model.mappings if m.role_key == role_key]
        direct = (
            set()
            if role_id is None
            else _direct_holders(session, tenant_id, AssignmentRow.role_id == role_id)
        )
    if not mappings:
        return direct
    refs = [m.group for m in mappings]
    return direct | _users_in_groups(session, tenant_id, groups_matching(tenant_id, refs))


def users_affected_by_scope(
    session: Session, tenant_id: str, scope_id: str, model: TenantModel | None = None
) -> set[str]:
    """Everyone holding something at the scope or below it (moving or deleting it can
    change their account conflicts and which roles still fit). Call it before a
    delete, with the model from before."""
    model = model or load_model(session, tenant_id)
    subtree = {scope_id}
    if scope_id in model.tree:
        subtree.update(model.tree.descendants(scope_id))
    below = (
        select(ScopeRow.id)
        .where(ScopeRow.tenant_id == tenant_id, ScopeRow.id == scope_id)
        .cte("below", recursive=True)
    )
    child = aliased(ScopeRow)
    below = below.union(
        select(child.id).where(child.tenant_id == tenant_id, child.parent_id == below.c.id)
    )
    direct = _direct_holders(session, tenant_id, AssignmentRow.scope_id.in_(select(below.c.id)))
    refs = [m.group for m in model.mappings if m.scope_id in subtree]
    if not refs:
        return direct
    return direct | _users_in_groups(session, tenant_id, groups_matching(tenant_id, refs))


def users_holding_at(
    session: Session, tenant_id: str, scope_ids: Iterable[str], model: TenantModel
) -> set[str]:
    """Everyone holding a role at any of these scopes, directly or through a mapping
    (moving a scope: what those above its old and new place grant stops or starts
    reaching the moved subtree)."""
    wanted = set(scope_ids)
    if not wanted:
        return set()
    ids = sorted(wanted)
    direct: set[str] = set()
    for start in range(0, len(ids), 500):
        direct |= _direct_holders(
            session, tenant_id, AssignmentRow.scope_id.in_(ids[start : start + 500])
        )
    refs = [m.group for m in model.mappings if m.scope_id in wanted]
    if not refs:
        return direct
    return direct | _users_in_groups(session, tenant_id, groups_matching(tenant_id, refs))


def users_holding_anything(session: Session, tenant_id: str, model: TenantModel) -> set[str]:
    """Everyone holding a role anywhere, directly or through a mapping: where a
    product's default role lands (changing which role that is)."""
    direct = _direct_holders(session, tenant_id)
    refs = [m.group for m in model.mappings]
    if not refs:
        return direct
    return direct | _users_in_groups(session, tenant_id, groups_matching(tenant_id, refs))


def users_with_account_requests(session: Session, tenant_id: str, model: TenantModel) -> set[str]:
    """Everyone who may have an account conflict: holders of a direct assignment that
    assigns an account, members of a group that a mapping with ``assign_account``
    names, and (seed 001: a grant inside an account needs its membership) everyone
    holding a role at a scope inside an account, directly or through a mapping."""
    tree = model.tree
    users = _direct_holders(session, tenant_id, AssignmentRow.assign_account.is_(True))
    refs = [m.group for m in model.mappings if m.assign_account]
    if tree.has_accounts:

        def inside(scope_id: str) -> bool:
            return scope_id in tree and tree.account_of(scope_id) is not None

        refs += [m.group for m in model.mappings if inside(m.scope_id)]
        held = session.execute(
            select(AssignmentRow.user_id, AssignmentRow.scope_id)
            .distinct()
            .where(AssignmentRow.tenant_id == tenant_id)
        )
        users |= {uid for uid, scope_id in held if inside(scope_id)}
    if refs:
        users |= _users_in_groups(session, tenant_id, groups_matching(tenant_id, refs))
    return users
