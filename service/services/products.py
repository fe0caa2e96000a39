"""Use cases for products: the customer's products, each with its own areas, roles
and settings (the default role, group-only).

Areas and roles are named by key *within* a product. Every admin call that names one
may name its product; when it does not, the key is looked up across the tenant's
products and must be unique there
(:func:`service.persistence.permission_models.find_row`; existing clients of a
one-product tenant keep working unchanged), and a new area or role goes to the
tenant's default product.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain import DEFAULT_PRODUCT, Conflict, NotFound, Product, ValidationFailed
from service.persistence.permission_models import (
    AreaRow,
    AssignmentRow,
    PermissionSettingsRow,
    ProductRow,
    RoleRow,
    product_from_row,
)
from service.persistence.unit_of_work import UnitOfWork
from service.services.audit import record
from service.services.listing import paginate
from service.services.permission_model import bump_model_version, settings_row


def describe_product(session: Session, row: ProductRow) -> dict[str, Any]:
    default_role = None
    if row.default_role_id is not None:
        default_role = session.scalar(select(RoleRow.key).where(RoleRow.id == row.default_role_id))
    return product_from_row(row, default_role).to_dict() | {
        "is_default": _is_default(session, row),
    }


def _is_default(session: Session, row: ProductRow) -> bool:
    settings = session.get(PermissionSettingsRow, row.tenant_id)
    return settings is not None and settings.default_product_id == row.id


def product_row(session: Session, tenant_id: str, key: str, field: str = "product") -> ProductRow:
    row = session.scalar(
        select(ProductRow).where(ProductRow.tenant_id == tenant_id, ProductRow.key == key)
    )
    if row is None:
        raise NotFound("not_found", f"no product {key!r}", field)
    return row


def default_product_row(session: Session, tenant_id: str) -> ProductRow:
    """The tenant's default product, made (key "default") the first time one is needed."""
    settings = settings_row(session, tenant_id)
    if settings.default_product_id is not None:
        row = session.get(ProductRow, settings.default_product_id)
        if row is not None:
            return row
    row = session.scalar(
        select(ProductRow).where(
            ProductRow.tenant_id == tenant_id, ProductRow.key == DEFAULT_PRODUCT
        )
    )
    if row is None:
        row = add_product(session, tenant_id, Product(DEFAULT_PRODUCT, "Default product"))
    settings.default_product_id = row.id
    session.flush()
    return row


def target_product(session: Session, tenant_id: str, key: str | None) -> ProductRow:
    """Where a new area or role goes: the product named, else the default one."""
    if key is None:
        return default_product_row(session, tenant_id)
    return product_row(session, tenant_id, key)


def add_product(session: Session, tenant_id: str, product: Product) -> ProductRow:
    row = ProductRow(
        tenant_id=tenant_id,
        key=product.key,
        name=product.name,
        description=product.description,
        group_only=product.group_only,
    )
    session.add(row)
    session.flush()
    return row


# -- the products API ----------------------------------------------------------------


def list_products(
    uow: UnitOfWork, tenant_id: str, *, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    with uow.reading() as session:
        query = select(ProductRow).where(ProductRow.tenant_id == tenant_id).order_by(ProductRow.key)
        rows, total = paginate(session, query, page, per_page)
        return [describe_product(session, r) for r in rows], total


def get_product(uow: UnitOfWork, tenant_id: str, key: str) -> dict[str, Any]:
    with uow.reading() as session:
        return describe_product(session, product_row(session, tenant_id, key, "key"))


def create_product(
    uow: UnitOfWork, tenant_id: str, data: dict[str, Any], actor: str
) -> dict[str, Any]:
    product = Product.from_dict({**data, "default_role": None})
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id, recompute_tenant=False)
        exists = session.scalar(
            select(ProductRow.id).where(
                ProductRow.tenant_id == tenant_id, ProductRow.key == product.key
            )
        )
        if exists:
            raise Conflict("duplicate", f"product {product.key!r} exists already", "key")
        row = add_product(session, tenant_id, product)
        if data.get("is_default"):
            settings_row(session, tenant_id).default_product_id = row.id
            session.flush()
        after = describe_product(session, row)
        record(session, tenant_id, actor, "product.create", "product", product.key, after=after)
        return after


def update_product(
    uow: UnitOfWork, tenant_id: str, key: str, changes: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Change a product's name, description, group-only setting, default role, or
    make it the tenant's default product."""
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = product_row(session, tenant_id, key, "key")
        before = describe_product(session, row)
        merged = Product.from_dict({**before, **changes, "key": key})
        if merged.group_only and not row.group_only:
            _refuse_while_granted_directly(session, row)
        row.name = merged.name
        row.description = merged.description
        row.group_only = merged.group_only
        if "default_role" in changes:
            row.default_role_id = (
                None
                if merged.default_role is None
                else _role_of(session, row, merged.default_role).id
            )
        if changes.get("is_default"):
            settings_row(session, tenant_id).default_product_id = row.id
        elif changes.get("is_default") is False and before["is_default"]:
            raise ValidationFailed(
                "invalid_value",
                "a tenant always has a default product: make another one the default instead",
                "is_default",
            )
        session.flush()
        after = describe_product(session, row)
        record(
            session, tenant_id, actor, "product.update", "product", key, before=before, after=after
        )
        return after


def _refuse_while_granted_directly(session: Session, product: ProductRow) -> None:
    """A product becoming group-only while its roles are held through direct
    assignments would leave grants the setting says cannot exist: refuse, naming it,
    until they are removed (the same as narrowing a role below where it is held)."""
    held = session.scalar(
        select(func.count(AssignmentRow.id))
        .join(RoleRow, RoleRow.id == AssignmentRow.role_id)
        .where(RoleRow.product_id == product.id)
    )
    if held:
        raise Conflict(
            "in_use",
            f"{held} direct assignment(s) of product {product.key!r}'s roles exist; remove "
            "them (or map IdP groups instead) before making it group-only",
            "group_only",
        )


def _role_of(session: Session, product: ProductRow, role_key: str) -> RoleRow:
    role = session.scalar(
        select(RoleRow).where(RoleRow.product_id == product.id, RoleRow.key == role_key)
    )
    if role is None:
        raise ValidationFailed(
            "unknown_role",
            f"product {product.key!r} has no role {role_key!r}",
            "default_role",
        )
    return role


def delete_product(uow: UnitOfWork, tenant_id: str, key: str, actor: str) -> None:
    """Delete an empty product (its areas and roles go first, each refusing while in use)."""
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id, recompute_tenant=False)
        row = product_row(session, tenant_id, key, "key")
        before = describe_product(session, row)
        for model, what in ((AreaRow, "area(s)"), (RoleRow, "role(s)")):
            if session.scalar(select(model.id).where(model.product_id == row.id).limit(1)):
                raise Conflict("in_use", f"product {key!r} still has {what}", "key")
        if before["is_default"]:
            raise Conflict("in_use", f"product {key!r} is the tenant's default product", "key")
        session.delete(row)
        session.flush()
        record(session, tenant_id, actor, "product.delete", "product", key, before=before)
