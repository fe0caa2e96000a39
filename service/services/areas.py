"""Use cases for permission areas: named capabilities with ordered levels, each in
one product (see :mod:`service.services.products` for how a key without a product
is looked up)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import Conflict, PermissionArea, ValidationFailed
from service.persistence.permission_models import (
    AreaRow,
    ProductRow,
    RoleRow,
    area_from_row,
    find_row,
    in_product,
    role_from_row,
)
from service.persistence.unit_of_work import UnitOfWork
from service.services.audit import record
from service.services.listing import paginate
from service.services.permission_model import bump_model_version
from service.services.products import target_product


def describe_area(row: AreaRow) -> dict[str, Any]:
    return {
        "product": row.product.key,
        "key": row.key,
        "name": row.name,
        "levels": list(row.levels),
        "category": row.category,
        "description": row.description,
    }


def get_area(uow: UnitOfWork, tenant_id: str, key: str, product: str | None = None) -> AreaRow:
    with uow.reading() as session:
        return find_row(session, AreaRow, tenant_id, key, product)


def list_areas(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    category: str | None = None,
    key_prefix: str | None = None,
    product: str | None = None,
) -> tuple[list[AreaRow], int]:
    query = select(AreaRow).where(AreaRow.tenant_id == tenant_id)
    if product is not None:
        query = query.where(in_product(AreaRow, tenant_id, product))
    if category is not None:
        query = query.where(AreaRow.category == category)
    if key_prefix is not None:
        query = query.where(AreaRow.key.startswith(key_prefix, autoescape=True))
    with uow.reading() as session:
        return paginate(session, query.order_by(AreaRow.key, AreaRow.product_id), page, per_page)


def _area(data: dict[str, Any]) -> PermissionArea:
    return PermissionArea.from_dict(data)


def create_area(uow: UnitOfWork, tenant_id: str, data: dict[str, Any], actor: str) -> AreaRow:
    """Create an area in the product ``data`` names, or in the tenant's default product."""
    area = _area(data)
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        product = target_product(session, tenant_id, data.get("product"))
        exists = session.scalar(
            select(AreaRow.id).where(AreaRow.product_id == product.id, AreaRow.key == area.key)
        )
        if exists:
            raise Conflict(
                "duplicate", f"area {area.key!r} exists already in {product.key!r}", "key"
            )
        row = add_area(session, tenant_id, product, area)
        record(session, tenant_id, actor, "area.create", "area", area.key, after=describe_area(row))
        return row


def add_area(
    session: Session, tenant_id: str, product: ProductRow, area: PermissionArea
) -> AreaRow:
    row = AreaRow(tenant_id=tenant_id, product=product)
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


def _roles_granting(session: Session, row: AreaRow) -> list[RoleRow]:
    # A role grants areas of its own product only.
    roles = session.scalars(select(RoleRow).where(RoleRow.product_id == row.product_id))
    return [r for r in roles if row.key in r.grants]


def update_area(
    uow: UnitOfWork,
    tenant_id: str,
    key: str,
    changes: dict[str, Any],
    actor: str,
    product: str | None = None,
) -> AreaRow:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = find_row(session, AreaRow, tenant_id, key, product)
        before = describe_area(row)
        area = replace(_area({**before, **changes, "key": key}), product=row.product.key)
        for role_row in _roles_granting(session, row):
            try:
                role_from_row(role_row).validate({area.ref: area})
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


def delete_area(
    uow: UnitOfWork, tenant_id: str, key: str, actor: str, product: str | None = None
) -> None:
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = find_row(session, AreaRow, tenant_id, key, product)
        using = sorted(r.key for r in _roles_granting(session, row))
        if using:
            raise Conflict("in_use", f"role(s) {', '.join(using)} grant area {key!r}", "key")
        before = describe_area(row)
        session.delete(row)
        session.flush()
        record(session, tenant_id, actor, "area.delete", "area", key, before=before)


def areas_of(session: Session, tenant_id: str) -> dict[str, PermissionArea]:
    """The tenant's areas by ref (``product/key``)."""
    rows = session.scalars(select(AreaRow).where(AreaRow.tenant_id == tenant_id))
    return {area.ref: area for area in map(area_from_row, rows)}
