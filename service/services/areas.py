"""Use cases for permission areas: named capabilities with ordered levels."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import Conflict, NotFound, PermissionArea, ValidationFailed
from service.persistence.permission_models import AreaRow, RoleRow
from service.persistence.unit_of_work import UnitOfWork
from service.services.audit import record
from service.services.listing import paginate
from service.services.permission_model import area_from_row, bump_model_version, role_from_row


def describe_area(row: AreaRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "levels": list(row.levels),
        "category": row.category,
        "description": row.description,
    }


def get_area(uow: UnitOfWork, tenant_id: str, key: str) -> AreaRow:
    with uow.reading() as session:
        return _area_row(session, tenant_id, key)


def _area_row(session: Session, tenant_id: str, key: str) -> AreaRow:
    row = session.scalar(select(AreaRow).where(AreaRow.tenant_id == tenant_id, AreaRow.key == key))
    if row is None:
        raise NotFound("not_found", f"no area {key!r}", "key")
    return row


def list_areas(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    category: str | None = None,
    key_prefix: str | None = None,
) -> tuple[list[AreaRow], int]:
    query = select(AreaRow).where(AreaRow.tenant_id == tenant_id)
    if category is not None:
        query = query.where(AreaRow.category == category)
    if key_prefix is not None:
        query = query.where(AreaRow.key.startswith(key_prefix, autoescape=True))
    with uow.reading() as session:
        return paginate(session, query.order_by(AreaRow.key), page, per_page)


def _area(data: dict[str, Any]) -> PermissionArea:
    return PermissionArea.from_dict(data)


def create_area(uow: UnitOfWork, tenant_id: str, data: dict[str, Any], actor: str) -> AreaRow:
    area = _area(data)
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        exists = session.scalar(
            select(AreaRow.id).where(AreaRow.tenant_id == tenant_id, AreaRow.key == area.key)
        )
        if exists:
            raise Conflict("duplicate", f"area {area.key!r} exists already", "key")
        row = add_area(session, tenant_id, area)
        record(session, tenant_id, actor, "area.create", "area", area.key, after=describe_area(row))
        return row


def add_area(session: Session, tenant_id: str, area: PermissionArea) -> AreaRow:
    row = AreaRow(tenant_id=tenant_id)
    write_area(row, area)
    session.add(row)
    session.flush()
    return row


def write_area(row: AreaRow, area: PermissionArea) -> None:
    row.key = area.key
    row.name = area.name
    row.levels = list(area.levels)
    row.category = area.category
    row.description = area.description


def _roles_granting(session: Session, tenant_id: str, key: str) -> list[RoleRow]:
    rows = session.scalars(select(RoleRow).where(RoleRow.tenant_id == tenant_id))
    return [r for r in rows if key in r.grants]


def update_area(
    uow: UnitOfWork, tenant_id: str, key: str, changes: dict[str, Any], actor: str
) -> AreaRow:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = _area_row(session, tenant_id, key)
        before = describe_area(row)
        area = _area({**before, **changes, "key": key})
        for role_row in _roles_granting(session, tenant_id, key):
            try:
                role_from_row(role_row).validate({key: area})
            except ValidationFailed:
                level = role_row.grants[key]
                raise Conflict(
                    "in_use",
                    f"role {role_row.key!r} grants level {level!r}, which the new levels lack",
                    "levels",
                ) from None
        write_area(row, area)
        session.flush()
        record(
            session,
            tenant_id,
            actor,
            "area.update",
            "area",
            key,
            before=before,
            after=describe_area(row),
        )
        return row


def delete_area(uow: UnitOfWork, tenant_id: str, key: str, actor: str) -> None:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = _area_row(session, tenant_id, key)
        using = sorted(r.key for r in _roles_granting(session, tenant_id, key))
        if using:
            raise Conflict("in_use", f"role(s) {', '.join(using)} grant area {key!r}", "key")
        before = describe_area(row)
        session.delete(row)
        session.flush()
        record(session, tenant_id, actor, "area.delete", "area", key, before=before)


def areas_of(session: Session, tenant_id: str) -> dict[str, PermissionArea]:
    rows = session.scalars(select(AreaRow).where(AreaRow.tenant_id == tenant_id))
    return {r.key: area_from_row(r) for r in rows}
