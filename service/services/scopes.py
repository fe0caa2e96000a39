"""Use cases for the scope tree: declare types, create, rename, move, delete scopes.

Each change bumps the tenant's model version first (see
:func:`~service.services.permission_model.bump_model_version`), which also
serialises changes of one tenant's tree, so the checks below see every earlier
change. What a delete takes with it is decided by the domain's ``plan_delete``:
a scope with children needs ``cascade``, and direct assignments and mappings at
the deleted scopes go with them (their users lose what those granted at the
next recompute; nothing else points at a scope).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from service.domain import (
    BUILTIN_SCOPE_TYPES,
    AccountType,
    Conflict,
    NotFound,
    Role,
    Scope,
    ScopeTree,
    ValidationFailed,
)
from service.domain.keys import check_key
from service.persistence.base import new_id
from service.persistence.permission_models import (
    AssignmentRow,
    MappingRow,
    ProductRow,
    RoleRow,
    ScopeRow,
    ScopeTypeRow,
    role_ref_sql,
)
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation
from service.services.audit import record
from service.services.listing import paginate
from service.services.permission_model import (
    bump_model_version,
    load_model,
    scope_from_row,
)

_CHUNK = 500


def describe_scope(row: ScopeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.type,
        "name": row.name,
        "parent_id": row.parent_id,
        "account_type": row.account_type,
    }


def _account_type(value: str | None) -> AccountType | None:
    if value is None:
        return None
    try:
        return AccountType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in AccountType)
        raise ValidationFailed(
            "invalid_value", f"account_type must be one of {allowed}", "account_type"
        ) from None


def _declared_types(session: Session, tenant_id: str) -> list[str]:
    return list(
        session.scalars(select(ScopeTypeRow.key).where(ScopeTypeRow.tenant_id == tenant_id))
    )


# -- scope types -------------------------------------------------------------------


def list_scope_types(uow: UnitOfWork, tenant_id: str) -> list[dict[str, Any]]:
    with uow.reading() as session:
        declared = set(_declared_types(session, tenant_id))
        return [
            {"key": key, "builtin": key in BUILTIN_SCOPE_TYPES}
            for key in sorted(BUILTIN_SCOPE_TYPES | declared)
        ]


def declare_scope_type(uow: UnitOfWork, tenant_id: str, key: str, actor: str) -> dict[str, Any]:
    check_key(key, "key")
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        if key in BUILTIN_SCOPE_TYPES or key in _declared_types(session, tenant_id):
            raise Conflict("duplicate", f"scope type {key!r} exists already", "key")
        session.add(ScopeTypeRow(tenant_id=tenant_id, key=key))
        session.flush()
        record(
            session, tenant_id, actor, "scope_type.create", "scope_type", key, after={"key": key}
        )
        return {"key": key, "builtin": False}


def remove_scope_type(uow: UnitOfWork, tenant_id: str, key: str, actor: str) -> None:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = session.scalar(
            select(ScopeTypeRow).where(ScopeTypeRow.tenant_id == tenant_id, ScopeTypeRow.key == key)
        )
        if row is None:
            if key in BUILTIN_SCOPE_TYPES:
                raise Conflict("builtin", f"scope type {key!r} is built in", "key")
            raise NotFound("not_found", f"no scope type {key!r}", "key")
        used = session.scalar(
            select(func.count()).where(ScopeRow.tenant_id == tenant_id, ScopeRow.type == key)
        )
        if used:
            raise Conflict("in_use", f"{used} scope(s) are of type {key!r}", "key")
        roles = [
            r.key
            for r in session.scalars(select(RoleRow).where(RoleRow.tenant_id == tenant_id))
            if key in (r.allowed_scope_types or ())
        ]
        if roles:
            raise Conflict(
                "in_use", f"role(s) {', '.join(sorted(roles))} allow type {key!r}", "key"
            )
        session.delete(row)
        record(
            session, tenant_id, actor, "scope_type.delete", "scope_type", key, before={"key": key}
        )


# -- scopes ------------------------------------------------------------------------


def get_scope(uow: UnitOfWork, tenant_id: str, scope_id: str) -> ScopeRow:
    with uow.reading() as session:
        return _scope_row(session, tenant_id, scope_id)


def _scope_row(session: Session, tenant_id: str, scope_id: str) -> ScopeRow:
    row = session.get(ScopeRow, scope_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("not_found", f"no scope {scope_id!r}", "scope_id")
    return row


def list_scopes(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    type: str | None = None,
    parent_id: str | None = None,
    root: bool | None = None,
    account_type: str | None = None,
    name: str | None = None,
) -> tuple[list[ScopeRow], int]:
    with uow.reading() as session:
        query = select(ScopeRow).where(ScopeRow.tenant_id == tenant_id)
        if type is not None:
            query = query.where(ScopeRow.type == type)
        if parent_id is not None:
            query = query.where(ScopeRow.parent_id == parent_id)
        if root is not None:
            query = query.where(
                ScopeRow.parent_id.is_(None) if root else ScopeRow.parent_id.isnot(None)
            )
        if account_type is not None:
            query = query.where(ScopeRow.account_type == account_type)
        if name is not None:
            query = query.where(func.lower(ScopeRow.name).contains(name.lower(), autoescape=True))
        return paginate(session, query.order_by(ScopeRow.created_at, ScopeRow.id), page, per_page)


def _check_new(session: Session, tenant_id: str, scope: Scope) -> None:
    """Validate a new scope against its parent alone: a new leaf cannot make a cycle,
    so the whole tree need not be loaded (bulk creation stays linear)."""
    declared = _declared_types(session, tenant_id)
    around: list[Scope] = []
    if scope.parent_id is not None:
        parent = session.get(ScopeRow, scope.parent_id)
        if parent is not None and parent.tenant_id == tenant_id:
            around.append(replace(scope_from_row(parent), parent_id=None))
    ScopeTree(around, declared).validate_new(scope)


def create_scope(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    type: str,
    name: str,
    parent_id: str | None = None,
    account_type: str | None = None,
    actor: str,
) -> ScopeRow:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        scope = Scope(new_id(), type, name.strip(), parent_id, _account_type(account_type))
        _check_new(session, tenant_id, scope)
        row = ScopeRow(
            id=scope.id,
            tenant_id=tenant_id,
            type=scope.type,
            name=scope.name,
            parent_id=scope.parent_id,
            account_type=account_type,
        )
        session.add(row)
        session.flush()
        record(
            session, tenant_id, actor, "scope.create", "scope", row.id, after=describe_scope(row)
        )
        return row


def _check_attached_still_fit(
    session: Session,
    tenant_id: str,
    tree: ScopeTree,
    changed: str,
    roles: dict[str, Role],
    field: str,
) -> None:
    """Refuse a change of a scope that would leave a mapping or direct assignment
    granting a role where it no longer fits: it would silently grant nothing.

    ``tree`` is the tree after the change of ``changed``. Its own type and account
    type concern the roles held at it; a move also changes which scopes of its
    subtree are the root of a root-only role's product, so those are checked too
    (a tenant holds few root-only grants, so they are all read rather than the
    subtree's).
    """
    affected = {changed, *tree.descendants(changed)}

    def held(table: type[MappingRow] | type[AssignmentRow]) -> Any:
        # Roles by ref (product/key), as the model holds them.
        return (
            select(role_ref_sql(), table.scope_id)
            .join(RoleRow, RoleRow.product_id == ProductRow.id)
            .join(table, table.role_id == RoleRow.id)
            .where(
                table.tenant_id == tenant_id,
                or_(table.scope_id == changed, RoleRow.root_only.is_(True)),
            )
        )

    for key, scope_id in session.execute(held(MappingRow).union(held(AssignmentRow))):
        role = roles.get(key)
        if role is None or scope_id not in affected:
            continue
        try:
            role.check_grantable_at(tree.get(scope_id), tree, field)
        except ValidationFailed as exc:
            raise Conflict(
                "in_use",
                f"role {key!r} is granted at {scope_id!r} and could no longer be after this "
                f"change: {exc.message}",
                field,
            ) from None


def update_scope(
    uow: UnitOfWork, tenant_id: str, scope_id: str, changes: dict[str, Any], actor: str
) -> ScopeRow:
    """Rename, change the account type, or move (``parent_id``; None makes it a root)."""
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = _scope_row(session, tenant_id, scope_id)
        before = describe_scope(row)
        model = load_model(session, tenant_id, use_cache=False)
        current = model.tree.get(scope_id)
        after = current
        if "name" in changes:
            after = replace(after, name=str(changes["name"]).strip())
        if "account_type" in changes:
            after = replace(after, account_type=_account_type(changes["account_type"]))
        if "parent_id" in changes:
            new_parent = changes["parent_id"]
            if new_parent is not None and new_parent not in model.tree:
                raise ValidationFailed(
                    "unknown_parent", f"parent scope {new_parent!r} does not exist", "parent_id"
                )
            model.tree.validate_move(scope_id, new_parent)
            after = replace(after, parent_id=new_parent)
        # The shape rules (a name, an account type exactly on accounts) in one place.
        ScopeTree([replace(after, parent_id=None)], model.declared_scope_types)
        if after.account_type != current.account_type or after.parent_id != current.parent_id:
            field = "account_type" if after.account_type != current.account_type else "parent_id"
            changed_tree = ScopeTree(
                (after if s.id == scope_id else s for s in model.tree),
                model.declared_scope_types,
            )
            _check_attached_still_fit(
                session, tenant_id, changed_tree, scope_id, model.roles, field
            )
        row.name = after.name
        row.parent_id = after.parent_id
        row.account_type = None if after.account_type is None else after.account_type.value
        session.flush()
        action = "scope.move" if after.parent_id != current.parent_id else "scope.update"
        if after.parent_id != current.parent_id:
            propagation.tree_changed(UnitOfWork.of(session), tenant_id)
        record(
            session,
            tenant_id,
            actor,
            action,
            "scope",
            row.id,
            before=before,
            after=describe_scope(row),
        )
        return row


@dataclass(frozen=True)
class ScopeDeletion:
    scope_ids: tuple[str, ...]
    assignment_ids: tuple[str, ...]
    mapping_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "deleted_scopes": list(self.scope_ids),
            "deleted_assignments": list(self.assignment_ids),
            "deleted_mappings": list(self.mapping_ids),
        }


def delete_scope(
    uow: UnitOfWork, tenant_id: str, scope_id: str, *, cascade: bool, actor: str
) -> ScopeDeletion:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = _scope_row(session, tenant_id, scope_id)
        before = describe_scope(row)
        model = load_model(session, tenant_id, use_cache=False)
        doomed = [scope_id, *model.tree.descendants(scope_id)]
        assignments: list[AssignmentRow] = []
        mappings: list[MappingRow] = []
        for start in range(0, len(doomed), _CHUNK):
            chunk = doomed[start : start + _CHUNK]
            assignments += session.scalars(
                select(AssignmentRow).where(
                    AssignmentRow.tenant_id == tenant_id, AssignmentRow.scope_id.in_(chunk)
                )
            )
            mappings += session.scalars(
                select(MappingRow).where(
                    MappingRow.tenant_id == tenant_id, MappingRow.scope_id.in_(chunk)
                )
            )
        plan = model.tree.plan_delete(scope_id, cascade=cascade, attached=[*assignments, *mappings])
        removed_assignments = tuple(r.id for r in plan.removed if isinstance(r, AssignmentRow))
        removed_mappings = tuple(r.id for r in plan.removed if isinstance(r, MappingRow))
        for ids, table in ((removed_assignments, AssignmentRow), (removed_mappings, MappingRow)):
            for start in range(0, len(ids), _CHUNK):
                session.execute(delete(table).where(table.id.in_(ids[start : start + _CHUNK])))
        # Deepest first, so no chunk removes a parent before its children.
        for start in range(0, len(plan.scope_ids), _CHUNK):
            chunk = plan.scope_ids[start : start + _CHUNK]
            session.execute(delete(ScopeRow).where(ScopeRow.id.in_(chunk)))
        session.expunge(row)
        propagation.tree_changed(UnitOfWork.of(session), tenant_id)
        result = ScopeDeletion(plan.scope_ids, removed_assignments, removed_mappings)
        record(
            session,
            tenant_id,
            actor,
            "scope.delete",
            "scope",
            scope_id,
            before={**before, **result.to_dict()},
        )
        return result
