"""Tables of the permission model: scope types, scopes, areas, roles, mappings,
direct assignments, and the per-tenant settings row that carries the model version.

Rows are the storage shape only; :mod:`service.services.permission_model` turns a
tenant's rows into the domain's objects. Derived things (mapped assignments,
account conflicts, effective permissions) are never stored: they are computed
from these rows and the SCIM tables, so they cannot go stale.

Scopes, roles and areas are referenced by foreign keys without ON DELETE
actions: the service decides what a delete takes with it (and audits it), and
the database refuses anything it forgot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from service.domain import (
    SEED_001_RULES,
    AccountRules,
    AccountType,
    Conflict,
    NotFound,
    PermissionArea,
    Product,
    Role,
    ValidationFailed,
    split_ref,
)
from service.domain.products import SEPARATOR
from service.persistence.base import Base, created_at, uuid_pk


def _tenant_fk() -> Mapped[str]:
    return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


class ScopeTypeRow(Base):
    """A scope type a tenant declared beyond the built-in ones."""

    __tablename__ = "permission_scope_types"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = _tenant_fk()
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("tenant_id", "key"),)


class ScopeRow(Base):
    __tablename__ = "permission_scopes"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = _tenant_fk()
    type: Mapped[str] = mapped_column(String(128), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("permission_scopes.id"))
    account_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index("ix_permission_scopes_tenant_parent", "tenant_id", "parent_id"),
        Index("ix_permission_scopes_tenant_type", "tenant_id", "type"),
    )


class ProductRow(Base):
    """One of the tenant's products: its areas and roles, and the settings a seed
    states per product (the default role an invitation grants, group-only)."""

    __tablename__ = "permission_products"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = _tenant_fk()
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    group_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # A role of this product; use_alter, since roles reference their product too.
    # (Deleting a role that is a default is refused by the service; SET NULL only
    # lets a whole tenant's rows go in any order.)
    default_role_id: Mapped[str | None] = mapped_column(
        ForeignKey("permission_roles.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("tenant_id", "key"),)


def _product_fk() -> Mapped[str]:
    return mapped_column(ForeignKey("permission_products.id"), nullable=False)


class AreaRow(Base):
    __tablename__ = "permission_areas"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = _tenant_fk()
    product_id: Mapped[str] = _product_fk()
    # Loaded with the row: every use of an area names its product.
    product: Mapped[ProductRow] = relationship(foreign_keys=[product_id], lazy="joined")
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    levels: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    category: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at()

    # Keys are unique per product: two products may each have "user_management".
    __table_args__ = (UniqueConstraint("tenant_id", "product_id", "key"),)


class RoleRow(Base):
    __tablename__ = "permission_roles"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = _tenant_fk()
    product_id: Mapped[str] = _product_fk()
    product: Mapped[ProductRow] = relationship(foreign_keys=[product_id], lazy="joined")
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    grants: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    # NULL means "any": a JSON null and an empty list must not be confused.
    allowed_scope_types: Mapped[list[str] | None] = mapped_column(JSON)
    allowed_account_types: Mapped[list[str] | None] = mapped_column(JSON)
    reaches_descendants: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    root_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("tenant_id", "product_id", "key"),)


class MappingRow(Base):
    """Members of the IdP group named by (group_kind, group_value) get a role at a scope.

    The group is named, not referenced, so the mapping can exist before the group.
    ``group_value_lower`` serves the case-insensitive displayName match.
    ``created_at`` is the mapping's age, which decides account conflicts.
    """

    __tablename__ = "permission_mappings"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = _tenant_fk()
    group_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    group_value: Mapped[str] = mapped_column(String(300), nullable=False)
    group_value_lower: Mapped[str] = mapped_column(String(300), nullable=False)
    role_id: Mapped[str] = mapped_column(ForeignKey("permission_roles.id"), nullable=False)
    scope_id: Mapped[str] = mapped_column(ForeignKey("permission_scopes.id"), nullable=False)
    assign_account: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index(
            "ix_permission_mappings_tenant_group", "tenant_id", "group_kind", "group_value_lower"
        ),
        Index("ix_permission_mappings_tenant_role", "tenant_id", "role_id"),
        Index("ix_permission_mappings_tenant_scope", "tenant_id", "scope_id"),
    )


class AssignmentRow(Base):
    """A role an admin gave a user at a scope; with ``assign_account`` also membership
    of that account.

    ``user_id`` is a SCIM user id kept as a plain string: assignments are made by
    the permission model's use cases, which check the user exists, and a user
    deleted by the IdP simply has no permissions (the computation finds no row).
    """

    __tablename__ = "permission_assignments"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = _tenant_fk()
    user_id: Mapped[str] = mapped_column(String(36), nullable=False)
    role_id: Mapped[str] = mapped_column(ForeignKey("permission_roles.id"), nullable=False)
    scope_id: Mapped[str] = mapped_column(ForeignKey("permission_scopes.id"), nullable=False)
    assign_account: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "role_id", "scope_id"),
        Index("ix_permission_assignments_tenant_user", "tenant_id", "user_id"),
        Index("ix_permission_assignments_tenant_role", "tenant_id", "role_id"),
        Index("ix_permission_assignments_tenant_scope", "tenant_id", "scope_id"),
    )


class PermissionSettingsRow(Base):
    """One row per tenant: the default product, account rules, and the model version.

    ``default_product_id`` is where an area or role created without naming a product
    goes (the product every tenant's model moved into when products arrived).

    ``model_version`` goes up in the same transaction as every change to scopes,
    scope types, areas, roles, mappings or these settings, so a loaded snapshot
    of the model is reusable for exactly as long as the number is unchanged. The
    UPDATE that bumps it also serialises concurrent model changes per tenant.
    """

    __tablename__ = "permission_settings"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    default_product_id: Mapped[str | None] = mapped_column(
        ForeignKey("permission_products.id", use_alter=True, ondelete="SET NULL")
    )
    # NULL: seed 001's rules, the domain's default.
    account_rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    model_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # NULL: the brake's defaults (service.domain.changes.RevocationBrake).
    revocation_brake: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def role_from_row(row: RoleRow) -> Role:
    """The domain role a stored role row stands for."""
    return Role(
        product=row.product.key,
        key=row.key,
        name=row.name,
        grants=dict(row.grants),
        allowed_scope_types=None
        if row.allowed_scope_types is None
        else frozenset(row.allowed_scope_types),
        reaches_descendants=row.reaches_descendants,
        description=row.description,
        allowed_account_types=None
        if row.allowed_account_types is None
        else frozenset(AccountType(t) for t in row.allowed_account_types),
        root_only=row.root_only,
    )


def area_from_row(row: AreaRow) -> PermissionArea:
    return PermissionArea(
        key=row.key,
        name=row.name,
        levels=tuple(row.levels),
        category=row.category,
        description=row.description,
        product=row.product.key,
    )


def product_from_row(row: ProductRow, default_role_key: str | None) -> Product:
    return Product(
        key=row.key,
        name=row.name,
        description=row.description,
        group_only=row.group_only,
        default_role=default_role_key,
    )


def rules_from_json(raw: dict[str, object] | None) -> AccountRules:
    """A tenant's stored account rules; seed 001's when it stored none."""
    if raw is None:
        return SEED_001_RULES
    try:
        return AccountRules.from_dict(raw)
    except ValueError as exc:
        raise ValidationFailed("invalid_value", str(exc), "account_rules") from None


Keyed = TypeVar("Keyed", AreaRow, RoleRow)


def role_ref_sql() -> ColumnElement[str]:
    """A role's ref, ``product/key``, in SQL (the query joins RoleRow to ProductRow)."""
    return ProductRow.key + SEPARATOR + RoleRow.key


def in_product(model: type[Keyed], tenant_id: str, product: str) -> ColumnElement[bool]:
    """The condition that an area or role row belongs to the tenant's product ``product``."""
    return model.product_id.in_(
        select(ProductRow.id).where(ProductRow.tenant_id == tenant_id, ProductRow.key == product)
    )


def find_row(
    session: Session,
    model: type[Keyed],
    tenant_id: str,
    key: str,
    product: str | None = None,
    field: str = "key",
) -> Keyed:
    """The area or role ``key`` of ``product``; without a product, the only one of that
    key in the tenant (409 naming ``product`` when several products have it), so that
    clients of a one-product tenant need never name it. ``key`` may be a ref,
    ``product/key``, as the permission sets name areas."""
    what = "area" if model is AreaRow else "role"
    if product is None:
        product, key = split_ref(key)
    query = select(model).where(model.tenant_id == tenant_id, model.key == key)
    if product is not None:
        query = query.join(ProductRow, ProductRow.id == model.product_id).where(
            ProductRow.key == product
        )
    rows = list(session.scalars(query))
    if not rows:
        where = "" if product is None else f" in product {product!r}"
        raise NotFound("not_found", f"no {what} {key!r}{where}", field)
    if len(rows) > 1:
        products = ", ".join(sorted(r.product.key for r in rows))
        raise Conflict(
            "ambiguous",
            f"{what} {key!r} exists in products {products}: name the product",
            "product",
        )
    return rows[0]
