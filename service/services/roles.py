"""Use cases for roles: bundles of area grants, and where they may be granted. A role
belongs to one product and grants that product's areas (see
:mod:`service.services.products` for how a key without a product is looked up)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import BUILTIN_SCOPE_TYPES, Conflict, Role, ValidationFailed
from service.persistence.permission_models import (
    AssignmentRow,
    MappingRow,
    ProductRow,
    RoleRow,
    ScopeTypeRow,
    find_row,
    in_product,
    role_from_row,
)
from service.persistence.unit_of_work import UnitOfWork
from service.services.areas import areas_of
from service.services.audit import record
from service.services.listing import paginate
from service.services.permission_model import bump_model_version
from service.services.products import target_product


def describe_role(row: RoleRow) -> dict[str, Any]:
    return {"product": row.product.key, **role_from_row(row).to_dict()}


def get_role(uow: UnitOfWork, tenant_id: str, key: str, product: str | None = None) -> RoleRow:
    with uow.reading() as session:
        return find_row(session, RoleRow, tenant_id, key, product)


def list_roles(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    scope_type: str | None = None,
    area: str | None = None,
    product: str | None = None,
) -> tuple[list[RoleRow], int]:
    with uow.reading() as session:
        query = (
            select(RoleRow)
            .where(RoleRow.tenant_id == tenant_id)
            .order_by(RoleRow.key, RoleRow.product_id)
        )
        if product is not None:
            query = query.where(in_product(RoleRow, tenant_id, product))
        if scope_type is None and area is None:
            return paginate(session, query, page, per_page)
        # Filters on JSON columns differ between SQLite and PostgreSQL; a tenant has
        # tens of roles, so filtering them here is simpler and as fast.
        rows = [
            r
            for r in session.scalars(query)
            if (area is None or area in r.grants)
            and (
                scope_type is None
                or r.allowed_scope_types is None
                or scope_type in r.allowed_scope_types
            )
        ]
        start = (page - 1) * per_page
        return rows[start : start + per_page], len(rows)


def _scope_types(session: Session, tenant_id: str) -> frozenset[str]:
    declared = session.scalars(select(ScopeTypeRow.key).where(ScopeTypeRow.tenant_id == tenant_id))
    return BUILTIN_SCOPE_TYPES | frozenset(declared)


def _role(session: Session, tenant_id: str, product: ProductRow, data: dict[str, Any]) -> Role:
    role = replace(Role.from_dict(data), product=product.key)
    role.validate(areas_of(session, tenant_id), _scope_types(session, tenant_id))
    return role


def write_role(row: RoleRow, role: Role) -> None:
    row.key = role.key
    row.name = role.name
    row.grants = dict(sorted(role.grants.items()))
    row.allowed_scope_types = (
        None if role.allowed_scope_types is None else sorted(role.allowed_scope_types)
    )
    row.allowed_account_types = (
        None
        if role.allowed_account_types is None
        else sorted(t.value for t in role.allowed_account_types)
    )
    row.reaches_descendants = role.reaches_descendants
    row.root_only = role.root_only
    row.description = role.description


def add_role(session: Session, tenant_id: str, product: ProductRow, role: Role) -> RoleRow:
    row = RoleRow(tenant_id=tenant_id, product=product)
    write_role(row, role)
    session.add(row)
    session.flush()
    return row


def create_role(uow: UnitOfWork, tenant_id: str, data: dict[str, Any], actor: str) -> RoleRow:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        product = target_product(session, tenant_id, data.get("product"))
        role = _role(session, tenant_id, product, data)
        if session.scalar(
            select(RoleRow.id).where(RoleRow.product_id == product.id, RoleRow.key == role.key)
        ):
            raise Conflict(
                "duplicate", f"role {role.key!r} exists already in {product.key!r}", "key"
            )
        row = add_role(session, tenant_id, product, role)
        record(session, tenant_id, actor, "role.create", "role", role.key, after=describe_role(row))
        return row


def _check_grants_still_fit(uow: UnitOfWork, tenant_id: str, row: RoleRow, role: Role) -> None:
    """Refuse narrowing a role below where it is already granted: those grants would
    silently stop applying. Name the setting that excludes the scope."""
    session = uow.session
    held_at = session.scalars(
        select(MappingRow.scope_id)
        .where(MappingRow.role_id == row.id)
        .union(select(AssignmentRow.scope_id).where(AssignmentRow.role_id == row.id))
    ).all()
    # The scopes with their ancestors: whether a scope is the root of the role's
    # product depends on what is above it.
    tree = uow.assignments.scope_tree(tenant_id, held_at)
    for scope in map(tree.get, held_at):
        try:
            role.check_grantable_at(scope, tree, "scope_id")
        except ValidationFailed as exc:
            field = {
                "root_only": "root_only",
                "scope_type_not_allowed": "allowed_scope_types"
                if role.allowed_scope_types is not None
                and scope.type not in role.allowed_scope_types
                else "allowed_account_types",
            }.get(exc.code, "allowed_scope_types")
            raise Conflict(
                "in_use",
                f"role {role.key!r} is granted at {scope.type} {scope.name!r}, "
                f"which this change would exclude",
                field,
            ) from None


def update_role(
    uow: UnitOfWork,
    tenant_id: str,
    key: str,
    changes: dict[str, Any],
    actor: str,
    product: str | None = None,
) -> RoleRow:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = find_row(session, RoleRow, tenant_id, key, product)
        before = describe_role(row)
        role = _role(session, tenant_id, row.product, {**before, **changes, "key": key})
        _check_grants_still_fit(uow, tenant_id, row, role)
        write_role(row, role)
        session.flush()
        record(
            session,
            tenant_id,
            actor,
            "role.update",
            "role",
            key,
            before=before,
            after=describe_role(row),
        )
        return row


def delete_role(
    uow: UnitOfWork, tenant_id: str, key: str, actor: str, product: str | None = None
) -> None:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = find_row(session, RoleRow, tenant_id, key, product)
        uses = [
            ("mapping(s)", select(MappingRow.id).where(MappingRow.role_id == row.id).limit(1)),
            (
                "direct assignment(s)",
                select(AssignmentRow.id).where(AssignmentRow.role_id == row.id).limit(1),
            ),
            (
                "its product's default role setting",
                select(ProductRow.id).where(ProductRow.default_role_id == row.id).limit(1),
            ),
        ]
        for what, query in uses:
            if session.scalar(query) is not None:
                raise Conflict("in_use", f"role {key!r} is used by {what}", "key")
        before = describe_role(row)
        session.delete(row)
        session.flush()
        record(session, tenant_id, actor, "role.delete", "role", key, before=before)
