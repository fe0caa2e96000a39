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
from service.persistence.permission_models import AreaRow, RoleRow, ScopeTypeRow
from service.persistence.unit_of_work import UnitOfWork
from service.services.areas import add_area, write_area
from service.services.audit import record
from service.services.permission_model import (
    area_from_row,
    bump_model_version,
    role_from_row,
    settings_row,
)
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
        "categories": list(catalog.categories),
        "area_count": len(catalog.areas),
        "role_count": len(catalog.roles),
    }


def load_catalog(
    uow: UnitOfWork, tenant_id: str, key: str, *, overwrite: bool = False, actor: str
) -> CatalogLoadPlan:
    """Load catalog ``key`` into the tenant; returns the plan that was applied."""
    with uow:
        session = uow.session
        catalog = catalogs.load(key)
        # Taken first, so two loads of one tenant apply one after the other.
        settings = settings_row(session, tenant_id)
        session.refresh(settings, with_for_update=session.get_bind().dialect.name == "postgresql")
        area_rows = {
            r.key: r for r in session.scalars(select(AreaRow).where(AreaRow.tenant_id == tenant_id))
        }
        role_rows = {
            r.key: r for r in session.scalars(select(RoleRow).where(RoleRow.tenant_id == tenant_id))
        }
        declared = session.scalars(
            select(ScopeTypeRow.key).where(ScopeTypeRow.tenant_id == tenant_id)
        )
        default_key = next(
            (k for k, r in role_rows.items() if r.id == settings.default_role_id), None
        )
        plan = plan_catalog_load(
            catalog,
            {k: area_from_row(r) for k, r in area_rows.items()},
            {k: role_from_row(r) for k, r in role_rows.items()},
            overwrite=overwrite,
            declared_scope_types=list(declared),
            default_role=default_key,
        )
        if not plan.changes_anything:
            return plan
        bump_model_version(session, tenant_id)
        for type_key in plan.declare_scope_types:
            session.add(ScopeTypeRow(tenant_id=tenant_id, key=type_key))
        for area in plan.create_areas:
            add_area(session, tenant_id, area)
        for area in plan.update_areas:
            write_area(area_rows[area.key], area)
        for role in plan.create_roles:
            role_rows[role.key] = add_role(session, tenant_id, role)
        for role in plan.update_roles:
            write_role(role_rows[role.key], role)
        session.flush()
        if plan.set_default_role is not None:
            settings = settings_row(session, tenant_id)
            settings.default_role_id = role_rows[plan.set_default_role].id
        session.flush()
        record(session, tenant_id, actor, "catalog.load", "catalog", key, after=plan.to_dict())
        return plan
