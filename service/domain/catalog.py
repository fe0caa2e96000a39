"""Catalogs: ready-made sets of areas and roles that a tenant loads and then edits.

The presets themselves are data files in ``service/catalogs``; this module holds
their shape, their validation, and :func:`plan_catalog_load`, which works out
what loading one into a tenant would change. The service layer applies the plan
in one transaction; planning is pure so that "load it twice, nothing changes the
second time" is a unit test, not a database test.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, field, replace
from typing import TypeVar

from service.domain.accounts import AccountRules
from service.domain.areas import PermissionArea, index_areas
from service.domain.errors import Conflict, ValidationFailed
from service.domain.keys import check_key
from service.domain.products import Product
from service.domain.roles import Role, index_roles
from service.domain.scopes import BUILTIN_SCOPE_TYPES


@dataclass(frozen=True)
class Catalog:
    """A preset: one product's areas and roles, the scope types it uses, and
    optional tenant rules.

    A catalog loads into a product of the tenant (by default the one keyed like
    the catalog, created with ``product``'s name and settings when missing), so
    presets of several products load side by side. ``scope_types`` lists every
    type the preset's roles are meant for; the ones that are not built in are
    declared in the tenant when the catalog loads. ``default_role`` becomes the
    product's default role if it has none. ``account_rules`` is present for
    presets where account membership matters.
    """

    key: str
    name: str
    description: str
    source: str
    scope_types: tuple[str, ...]
    areas: tuple[PermissionArea, ...]
    roles: tuple[Role, ...]
    default_role: str | None = None
    account_rules: AccountRules | None = None
    # The product a load creates when the tenant has none of this key; the
    # product's default role is the catalog's.
    product_name: str = ""
    group_only: bool = False
    areas_by_key: MappingOf[str, PermissionArea] = field(init=False, repr=False, compare=False)
    roles_by_key: MappingOf[str, Role] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key(self.key, "key")
        for t in self.scope_types:
            check_key(t, "scope_types")
        by_area = index_areas(self.areas)
        by_role = index_roles(self.roles)
        known_types = BUILTIN_SCOPE_TYPES | frozenset(self.scope_types)
        for role in self.roles:
            try:
                role.validate(by_area, known_types)
            except ValidationFailed as exc:
                raise ValidationFailed(
                    exc.code, exc.message, f"roles.{role.key}.{exc.field}"
                ) from None
        if self.default_role is not None and self.default_role not in by_role:
            raise ValidationFailed(
                "unknown_role",
                f"default role {self.default_role!r} is not in the catalog",
                "default_role",
            )
        if not self.product_name:
            object.__setattr__(self, "product_name", self.name)
        object.__setattr__(self, "areas_by_key", by_area)
        object.__setattr__(self, "roles_by_key", by_role)

    @property
    def product(self) -> Product:
        """The product this catalog describes, as a load creates it."""
        return Product(
            key=self.key,
            name=self.product_name,
            description=self.description,
            group_only=self.group_only,
            default_role=self.default_role,
        )

    @property
    def declared_scope_types(self) -> tuple[str, ...]:
        """The scope types this catalog needs that are not built in."""
        return tuple(t for t in self.scope_types if t not in BUILTIN_SCOPE_TYPES)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.category for a in self.areas if a.category is not None))

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "scope_types": list(self.scope_types),
            "default_role": self.default_role,
            "product": {"name": self.product_name, "group_only": self.group_only},
            "account_rules": None if self.account_rules is None else self.account_rules.to_dict(),
            "areas": [a.to_dict() for a in self.areas],
            "roles": [r.to_dict() for r in self.roles],
        }

    @classmethod
    def from_dict(cls, data: MappingOf[str, object]) -> Catalog:
        def items(name: str) -> list[MappingOf[str, object]]:
            value = data.get(name)
            if not isinstance(value, list) or not all(isinstance(v, MappingOf) for v in value):
                raise ValidationFailed("invalid_value", f"{name} must be a list of objects", name)
            return value

        areas = []
        for i, raw in enumerate(items("areas")):
            try:
                areas.append(PermissionArea.from_dict(raw))
            except ValidationFailed as exc:
                raise ValidationFailed(exc.code, exc.message, f"areas[{i}].{exc.field}") from None
        roles = []
        for i, raw in enumerate(items("roles")):
            try:
                roles.append(Role.from_dict(raw))
            except ValidationFailed as exc:
                raise ValidationFailed(exc.code, exc.message, f"roles[{i}].{exc.field}") from None
        rules = data.get("account_rules")
        default_role = data.get("default_role")
        product = data.get("product") or {}
        if not isinstance(product, MappingOf):
            raise ValidationFailed("invalid_value", "product must be an object", "product")
        scope_types = data.get("scope_types") or []
        if not isinstance(scope_types, list):
            raise ValidationFailed("invalid_value", "scope_types must be a list", "scope_types")
        return cls(
            key=str(data.get("key", "")),
            name=str(data.get("name", "")),
            description=str(data.get("description") or ""),
            source=str(data.get("source") or ""),
            scope_types=tuple(str(t) for t in scope_types),
            areas=tuple(areas),
            roles=tuple(roles),
            default_role=None if default_role is None else str(default_role),
            account_rules=AccountRules.from_dict(rules) if isinstance(rules, MappingOf) else None,
            product_name=str(product.get("name") or ""),
            group_only=bool(product.get("group_only", False)),
        )


@dataclass(frozen=True)
class CatalogLoadPlan:
    """What loading a catalog changes. Keys only, except what must be written.

    ``kept_*`` are items the tenant already has in a different form (usually its
    own edits); they are left alone unless the load asked to overwrite.
    """

    catalog_key: str
    product: str = ""
    create_product: Product | None = None
    create_areas: tuple[PermissionArea, ...] = ()
    update_areas: tuple[PermissionArea, ...] = ()
    unchanged_areas: tuple[str, ...] = ()
    kept_areas: tuple[str, ...] = ()
    create_roles: tuple[Role, ...] = ()
    update_roles: tuple[Role, ...] = ()
    unchanged_roles: tuple[str, ...] = ()
    kept_roles: tuple[str, ...] = ()
    declare_scope_types: tuple[str, ...] = ()
    set_default_role: str | None = None

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.create_product
            or self.create_areas
            or self.update_areas
            or self.create_roles
            or self.update_roles
            or self.declare_scope_types
            or self.set_default_role
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "catalog": self.catalog_key,
            "product": self.product,
            "create_product": None
            if self.create_product is None
            else self.create_product.to_dict(),
            "areas": {
                "create": [a.key for a in self.create_areas],
                "update": [a.key for a in self.update_areas],
                "unchanged": list(self.unchanged_areas),
                "kept": list(self.kept_areas),
            },
            "roles": {
                "create": [r.key for r in self.create_roles],
                "update": [r.key for r in self.update_roles],
                "unchanged": list(self.unchanged_roles),
                "kept": list(self.kept_roles),
            },
            "declare_scope_types": list(self.declare_scope_types),
            "set_default_role": self.set_default_role,
        }


T = TypeVar("T", PermissionArea, Role)


def _split(
    wanted: Iterable[T], existing: MappingOf[str, T], overwrite: bool
) -> tuple[list[T], list[T], list[str], list[str]]:
    create: list[T] = []
    update: list[T] = []
    unchanged: list[str] = []
    kept: list[str] = []
    for item in wanted:
        have = existing.get(item.key)
        if have is None:
            create.append(item)
        elif have == item:
            unchanged.append(item.key)
        elif overwrite:
            update.append(item)
        else:
            kept.append(item.key)
    return create, update, unchanged, kept


def plan_catalog_load(
    catalog: Catalog,
    existing_areas: MappingOf[str, PermissionArea],
    existing_roles: MappingOf[str, Role],
    *,
    product: str | None = None,
    product_exists: bool = True,
    overwrite: bool = False,
    declared_scope_types: Iterable[str] = (),
    default_role: str | None = None,
) -> CatalogLoadPlan:
    """Work out what loading ``catalog`` into one product of a tenant creates and
    updates.

    ``product`` is the target product's key (the catalog's own by default) and
    ``existing_areas`` / ``existing_roles`` are that product's, by key; other
    products are never touched, so presets of several products load side by side.
    ``default_role`` is the product's current default role.

    Loading is idempotent: what the product already has in the catalog's form is
    unchanged, and a second load plans nothing. An area or role the tenant has
    edited is kept as edited unless ``overwrite`` restores the preset. A plan that
    would leave some role granting a level its area no longer has is refused,
    since applying it would silently take access away.
    """
    target = catalog.key if product is None else product
    areas = [replace(a, product=target) for a in catalog.areas]
    roles = [replace(r, product=target) for r in catalog.roles]
    existing_areas = {k: replace(a, product=target) for k, a in existing_areas.items()}
    existing_roles = {k: replace(r, product=target) for k, r in existing_roles.items()}
    create_a, update_a, unchanged_a, kept_a = _split(areas, existing_areas, overwrite)
    create_r, update_r, unchanged_r, kept_r = _split(roles, existing_roles, overwrite)

    after_areas = {a.ref: a for a in (*existing_areas.values(), *create_a, *update_a)}
    after_roles = {**existing_roles, **{r.key: r for r in (*create_r, *update_r)}}
    for role in after_roles.values():
        try:
            role.validate(after_areas)
        except ValidationFailed as exc:
            raise Conflict(
                "catalog_conflict",
                f"loading {catalog.key!r} would break role {role.key!r}: {exc.message}",
                f"roles.{role.key}",
            ) from None

    have_types = frozenset(declared_scope_types)
    new_product = None
    if not product_exists:
        new_product = replace(catalog.product, key=target, default_role=None)
    return CatalogLoadPlan(
        catalog_key=catalog.key,
        product=target,
        create_product=new_product,
        create_areas=tuple(create_a),
        update_areas=tuple(update_a),
        unchanged_areas=tuple(unchanged_a),
        kept_areas=tuple(kept_a),
        create_roles=tuple(create_r),
        update_roles=tuple(update_r),
        unchanged_roles=tuple(unchanged_r),
        kept_roles=tuple(kept_r),
        declare_scope_types=tuple(t for t in catalog.declared_scope_types if t not in have_types),
        set_default_role=catalog.default_role if default_role is None else None,
    )
