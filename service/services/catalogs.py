"""Use cases for the shipped catalogs: list them, show one, load one into a tenant.

Loading is planned by the domain (:func:`service.domain.plan_catalog_load`) and
applied here in one unit of work, so a load is all or nothing. Loading
the same catalog twice changes nothing the second time, and then neither bumps
the model version nor writes an audit event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service import catalogs
from service.domain import Catalog, CatalogLoadPlan, plan_catalog_load
from service.persistence.permission_models import (
    AreaRow,
    ProductRow,
    RoleRow,
    ScopeTypeRow,
    area_from_row,
    role_from_row,
)
from service.persistence.unit_of_work import UnitOfWork
from service.services.areas import add_area, write_area
from service.services.audit import record
from service.services.permission_model import bump_model_version, settings_row
from service.services.products import add_product
from service.services.roles import add_role, write_role


def list_catalogs() -> list[Catalog]:
    return list(catalogs.load_all().values())


def get_catalog(key: str) -> Catalog:
    return catalogs.load(key)


def summary(catalog: Catalog) -> dict[str, Any]:
    return {
        "key": catalog.key,
        "name": catalog.name,
        "description": catalog.description,
        "source": catalog.source,
        "scope_types": list(catalog.scope_types),
        "default_role": catalog.default_role,
        "product": catalog.product.to_dict(),
        "categories": list(catalog.categories),
        "area_count": len(catalog.areas),
        "role_count": len(catalog.roles),
    }


def load_catalog(
    uow: UnitOfWork,
    tenant_id: str,
    key: str,
    *,
    overwrite: bool = False,
    product: str | None = None,
    actor: str,
) -> CatalogLoadPlan:
    """Load catalog ``key`` into one product of the tenant (the product keyed like the
    catalog unless ``product`` names another; created when missing); returns the plan
    that was applied. Other products are never touched."""
    with uow:
        session = uow.session
        catalog = catalogs.load(key)
        target = catalog.key if product is None else product
        # Taken first, so two loads of one tenant apply one after the other.
        settings = settings_row(session, tenant_id)
        session.refresh(settings, with_for_update=session.get_bind().dialect.name == "postgresql")
        product_row = session.scalar(
            select(ProductRow).where(ProductRow.tenant_id == tenant_id, ProductRow.key == target)
        )
        area_rows: dict[str, AreaRow] = {}
        role_rows: dict[str, RoleRow] = {}
        if product_row is not None:
            area_rows = {
                r.key: r
                for r in session.scalars(
                    select(AreaRow).where(AreaRow.product_id == product_row.id)
                )
            }
            role_rows = {
                r.key: r
                for r in session.scalars(
                    select(RoleRow).where(RoleRow.product_id == product_row.id)
                )
            }
        declared = session.scalars(
            select(ScopeTypeRow.key).where(ScopeTypeRow.tenant_id == tenant_id)
        )
        default_key = next(
            (
                k
                for k, r in role_rows.items()
                if product_row is not None and r.id == product_row.default_role_id
            ),
            None,
        )
        plan = plan_catalog_load(
            catalog,
            {k: area_from_row(r) for k, r in area_rows.items()},
            {k: role_from_row(r) for k, r in role_rows.items()},
            product=target,
            product_exists=product_row is not None,
            overwrite=overwrite,
            declared_scope_types=list(declared),
            default_role=default_key,
        )
        if not plan.changes_anything:
            return plan
        bump_model_version(session, tenant_id)
        if plan.create_product is not None:
            product_row = add_product(session, tenant_id, plan.create_product)
        assert product_row is not None
        for type_key in plan.declare_scope_types:
            session.add(ScopeTypeRow(tenant_id=tenant_id, key=type_key))
        for area in plan.create_areas:
            add_area(session, tenant_id, product_row, area)
        for area in plan.update_areas:
            write_area(area_rows[area.key], area)
        for role in plan.create_roles:
            role_rows[role.key] = add_role(session, tenant_id, product_row, role)
        for role in plan.update_roles:
            write_role(role_rows[role.key], role)
        session.flush()
        if plan.set_default_role is not None:
            product_row.default_role_id = role_rows[plan.set_default_role].id
        session.flush()
        record(session, tenant_id, actor, "catalog.load", "catalog", key, after=plan.to_dict())
        return plan
