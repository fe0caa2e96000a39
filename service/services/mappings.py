"""Use cases for mappings: "members of IdP group G get role R at scope S".

A mapping names its group by SCIM id, externalId or displayName and is stored
without a reference to a group row, so it can be made before the IdP pushes the
group; the computation matches it when the group arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from service.domain import (
    GroupRef,
    GroupRefKind,
    Mapping,
    NotFound,
    ValidationFailed,
    split_ref,
    validate_mapping,
)
from service.persistence.permission_models import (
    MappingRow,
    ProductRow,
    RoleRow,
    find_row,
    role_from_row,
    role_ref_sql,
)
from service.persistence.scim_models import ScimGroup
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation
from service.services.affected import users_affected_by_mapping
from service.services.audit import record
from service.services.listing import paginate
from service.services.permission_model import bump_model_version, load_model


def describe_mapping(row: MappingRow, role_ref: str) -> dict[str, Any]:
    product, role_key = split_ref(role_ref)
    return {
        "id": row.id,
        "group": {"kind": row.group_kind, "value": row.group_value},
        "product": product,
        "role_key": role_key,
        "scope_id": row.scope_id,
        "assign_account": row.assign_account,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


@dataclass(frozen=True)
class MappingDetail:
    """A mapping, its role's ref (product/key), and the groups its reference names
    right now."""

    row: MappingRow
    role_ref: str
    matched_groups: list[dict[str, Any]]


def _detail(session: Session, tenant_id: str, row: MappingRow, role_key: str) -> MappingDetail:
    ref = GroupRef(GroupRefKind(row.group_kind), row.group_value)
    return MappingDetail(row, role_key, matching_groups(session, tenant_id, ref))


def get_mapping(uow: UnitOfWork, tenant_id: str, mapping_id: str) -> MappingDetail:
    with uow.reading() as session:
        row, role_key = _mapping_row(session, tenant_id, mapping_id)
        return _detail(session, tenant_id, row, role_key)


def _with_role_ref() -> Select[tuple[MappingRow, str]]:
    return (
        select(MappingRow, role_ref_sql())
        .join(RoleRow, RoleRow.id == MappingRow.role_id)
        .join(ProductRow, ProductRow.id == RoleRow.product_id)
    )


def _mapping_row(session: Session, tenant_id: str, mapping_id: str) -> tuple[MappingRow, str]:
    found = session.execute(
        _with_role_ref().where(MappingRow.tenant_id == tenant_id, MappingRow.id == mapping_id)
    ).first()
    if found is None:
        raise NotFound("not_found", f"no mapping {mapping_id!r}", "mapping_id")
    return found[0], found[1]


def list_mappings(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    role_key: str | None = None,
    product: str | None = None,
    scope_id: str | None = None,
    group_kind: str | None = None,
    group_value: str | None = None,
    assign_account: bool | None = None,
) -> tuple[list[tuple[MappingRow, str]], int]:
    with uow.reading() as session:
        query = _with_role_ref().where(MappingRow.tenant_id == tenant_id)
        if role_key is not None:
            query = query.where(RoleRow.key == role_key)
        if product is not None:
            query = query.where(ProductRow.key == product)
        if scope_id is not None:
            query = query.where(MappingRow.scope_id == scope_id)
        if group_kind is not None:
            query = query.where(MappingRow.group_kind == group_kind)
        if group_value is not None:
            query = query.where(MappingRow.group_value_lower == group_value.lower())
        if assign_account is not None:
            query = query.where(MappingRow.assign_account == assign_account)
        query = query.order_by(MappingRow.created_at, MappingRow.id)
        return paginate(session, query, page, per_page, scalars=False)


def _validated(
    session: Session, tenant_id: str, mapping_id: str, data: dict[str, Any]
) -> tuple[Mapping, str]:
    """The mapping ``data`` describes, checked, and its role's row id."""
    group = data.get("group") or {}
    ref = GroupRef(group.get("kind", ""), str(group.get("value", "")).strip())
    try:
        role = find_row(session, RoleRow, tenant_id, data["role_key"], data.get("product"))
    except NotFound as exc:
        raise ValidationFailed("unknown_role", exc.message, "role_key") from None
    mapping = Mapping(
        mapping_id,
        ref,
        role_from_row(role).ref,
        data["scope_id"],
        bool(data.get("assign_account")),
    )
    model = load_model(session, tenant_id, use_cache=False)
    validate_mapping(mapping, model.roles, model.tree)
    return mapping, role.id


def _write(row: MappingRow, mapping: Mapping, role_id: str) -> None:
    row.group_kind = mapping.group.kind.value
    row.group_value = mapping.group.value
    row.group_value_lower = mapping.group.value.lower()
    row.role_id = role_id
    row.scope_id = mapping.scope_id
    row.assign_account = mapping.assign_account


def create_mapping(
    uow: UnitOfWork, tenant_id: str, data: dict[str, Any], actor: str
) -> MappingDetail:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id, recompute_tenant=False)
        row = MappingRow(tenant_id=tenant_id, created_by=actor)
        mapping, role_id = _validated(session, tenant_id, "new", data)
        _write(row, mapping, role_id)
        session.add(row)
        session.flush()
        _members_changed(session, tenant_id, mapping.group)
        after = describe_mapping(row, mapping.role_key)
        record(session, tenant_id, actor, "mapping.create", "mapping", row.id, after=after)
        return _detail(session, tenant_id, row, mapping.role_key)


def update_mapping(
    uow: UnitOfWork, tenant_id: str, mapping_id: str, changes: dict[str, Any], actor: str
) -> MappingDetail:
    """Change a mapping in place; it keeps its age, which decides account conflicts."""
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id, recompute_tenant=False)
        row, role_key = _mapping_row(session, tenant_id, mapping_id)
        before = describe_mapping(row, role_key)
        old_group = GroupRef(GroupRefKind(row.group_kind), row.group_value)
        merged = {**before, **changes}
        if "role_key" in changes and "product" not in changes:
            merged["product"] = None  # a new role key is looked up across products
        mapping, role_id = _validated(session, tenant_id, mapping_id, merged)
        _write(row, mapping, role_id)
        session.flush()
        _members_changed(session, tenant_id, old_group, mapping.group)
        after = describe_mapping(row, mapping.role_key)
        record(
            session,
            tenant_id,
            actor,
            "mapping.update",
            "mapping",
            row.id,
            before=before,
            after=after,
        )
        return _detail(session, tenant_id, row, mapping.role_key)


def delete_mapping(uow: UnitOfWork, tenant_id: str, mapping_id: str, actor: str) -> Mapping:
    """Delete a mapping; returns it, so the caller can find the users it covered."""
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id, recompute_tenant=False)
        row, role_key = _mapping_row(session, tenant_id, mapping_id)
        before = describe_mapping(row, role_key)
        gone = Mapping(
            row.id,
            GroupRef(GroupRefKind(row.group_kind), row.group_value),
            role_key,
            row.scope_id,
            row.assign_account,
        )
        session.delete(row)
        session.flush()
        _members_changed(session, tenant_id, gone.group)
        record(session, tenant_id, actor, "mapping.delete", "mapping", mapping_id, before=before)
        return gone


def _members_changed(session: Session, tenant_id: str, *groups: GroupRef) -> None:
    """A mapping touches only the members of the groups it names (nested ones too), so
    only they are recomputed, not the whole tenant."""
    users: set[str] = set()
    for group in groups:
        users |= users_affected_by_mapping(session, tenant_id, group)
    propagation.users_changed(UnitOfWork.of(session), tenant_id, users)


def matching_groups(session: Session, tenant_id: str, ref: GroupRef) -> list[dict[str, Any]]:
    """The groups a mapping's reference names right now (none, before the IdP sends it)."""
    query = select(ScimGroup.id, ScimGroup.display_name, ScimGroup.external_id).where(
        ScimGroup.tenant_id == tenant_id
    )
    if ref.kind is GroupRefKind.ID:
        query = query.where(ScimGroup.id == ref.value)
    elif ref.kind is GroupRefKind.EXTERNAL_ID:
        query = query.where(ScimGroup.external_id == ref.value)
    else:
        query = query.where(ScimGroup.display_name_lower == ref.value.lower())
    return [
        {"id": gid, "display_name": name, "external_id": ext}
        for gid, name, ext in session.execute(query.order_by(ScimGroup.id))
    ]
