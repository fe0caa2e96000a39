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
from dataclasses import dataclass, field
from typing import TypeVar

from service.domain.accounts import AccountRules
from service.domain.areas import PermissionArea, index_areas
from service.domain.errors import Conflict, ValidationFailed
from service.domain.keys import check_key
from service.domain.roles import Role, index_roles
from service.domain.scopes import BUILTIN_SCOPE_TYPES


@dataclass(frozen=True)
class Catalog:
    """A preset: areas, roles, the scope types it uses, and optional tenant rules.

    ``scope_types`` lists every type the preset's roles are meant for; the ones
    that are not built in are declared in the tenant when the catalog loads.
    ``default_role`` becomes the tenant's default role if it has none.
    ``account_rules`` is present for presets where account membership matters.
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
        object.__setattr__(self, "areas_by_key", by_area)
        object.__setattr__(self, "roles_by_key", by_role)

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
        )


@dataclass(frozen=True)
class CatalogLoadPlan:
    """What loading a catalog changes. Keys only, except what must be written.

    ``kept_*`` are items the tenant already has in a different form (usually its
    own edits); they are left alone unless the load asked to overwrite.
    """

    catalog_key: str
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
            self.create_areas
            or self.update_areas
            or self.create_roles
            or self.update_roles
            or self.declare_scope_types
            or self.set_default_role
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "catalog": self.catalog_key,
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
    overwrite: bool = False,
    declared_scope_types: Iterable[str] = (),
    default_role: str | None = None,
) -> CatalogLoadPlan:
    """Work out what loading ``catalog`` into a tenant creates and updates.

    Loading is idempotent: what the tenant already has in the catalog's form is
    unchanged, and a second load plans nothing. An area or role the tenant has
    edited is kept as edited unless ``overwrite`` restores the preset. A plan that
    would leave some role granting a level its area no longer has is refused,
    since applying it would silently take access away.
    """
    create_a, update_a, unchanged_a, kept_a = _split(catalog.areas, existing_areas, overwrite)
    create_r, update_r, unchanged_r, kept_r = _split(catalog.roles, existing_roles, overwrite)

    after_areas = {**existing_areas, **{a.key: a for a in (*create_a, *update_a)}}
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
    return CatalogLoadPlan(
        catalog_key=catalog.key,
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
