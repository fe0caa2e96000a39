"""Roles: named bundles of area grants, and where they may be granted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from service.domain.areas import PermissionArea
from service.domain.errors import Conflict, ValidationFailed
from service.domain.keys import check_key
from service.domain.products import qualify
from service.domain.scopes import AccountType, Scope, ScopeTree


@dataclass(frozen=True)
class Role:
    """A bundle of grants (area key -> level) that a user holds at a scope.

    ``allowed_scope_types`` limits the scope types it may be granted at (``None``:
    any). ``allowed_account_types`` further limits it, at accounts, to some account
    types (seed 002's producer roles belong on producer accounts). ``root_only``
    keeps it to the root scope of its product (seed 004's "Administrator in root
    workspace"; see :meth:`is_root_for`). ``reaches_descendants`` says whether the
    grants also hold at every scope below (seed 001: a Portal Administrative User
    sees sub-accounts, a Portal User only their own account). It defaults to false
    so that forgetting it grants less, not more.
    """

    key: str
    name: str
    grants: Mapping[str, str] = field(default_factory=dict, hash=False)
    allowed_scope_types: frozenset[str] | None = None
    reaches_descendants: bool = False
    description: str = ""
    allowed_account_types: frozenset[AccountType] | None = None
    root_only: bool = False
    # The product it belongs to; its grants name areas of the same product.
    product: str = ""

    def __post_init__(self) -> None:
        check_key(self.key, "key")
        if not self.name:
            raise ValidationFailed("invalid_value", "a role needs a name", "name")
        # A read-only copy: a role shared between users' computations must not
        # change under them.
        object.__setattr__(self, "grants", MappingProxyType(dict(self.grants)))
        if self.allowed_scope_types is not None:
            object.__setattr__(self, "allowed_scope_types", frozenset(self.allowed_scope_types))
        if self.allowed_account_types is not None:
            object.__setattr__(
                self,
                "allowed_account_types",
                frozenset(AccountType(t) for t in self.allowed_account_types),
            )

    @property
    def ref(self) -> str:
        """The role's name across the tenant's products: ``product/key``."""
        return qualify(self.product, self.key)

    def area_ref(self, area_key: str) -> str:
        """The ref of an area this role grants (grants name areas of its own product)."""
        return qualify(self.product, area_key)

    def validate(
        self, areas: Mapping[str, PermissionArea], scope_types: Iterable[str] | None = None
    ) -> None:
        """Raise unless every grant names a known area of its product and one of its
        levels. ``areas`` is keyed by ref.

        ``scope_types``, when given, are the types the tenant knows; a role allowed
        only at unknown types could never be granted anywhere.
        """
        for area_key, level in self.grants.items():
            area = areas.get(self.area_ref(area_key))
            if area is None:
                raise ValidationFailed(
                    "unknown_area",
                    f"role {self.key!r} grants unknown area {area_key!r}",
                    f"grants.{area_key}",
                )
            area.rank(level, f"grants.{area_key}")
        if scope_types is not None and self.allowed_scope_types is not None:
            unknown = sorted(self.allowed_scope_types - frozenset(scope_types))
            if unknown:
                raise ValidationFailed(
                    "unknown_scope_type",
                    f"role {self.key!r} allows unknown scope type(s) {', '.join(unknown)}",
                    "allowed_scope_types",
                )

    def can_be_granted_at(self, scope_type: str, account_type: AccountType | None = None) -> bool:
        """Whether the scope and account types fit; the root rule needs the tree
        (:meth:`is_grantable_at`)."""
        if self.allowed_scope_types is not None and scope_type not in self.allowed_scope_types:
            return False
        return (
            self.allowed_account_types is None
            or account_type is None
            or account_type in self.allowed_account_types
        )

    def is_root_for(self, scope: Scope, tree: ScopeTree) -> bool:
        """Whether ``scope`` is the root scope of this role's product: no scope above it
        is of a type the role may be granted at (with no such types: it has no parent).

        Seed 004's root workspace is "the top-level workspace in your organization":
        an organization above it does not make it a child, a workspace does.
        """
        return self._nearest_above(scope, tree) is None

    def _nearest_above(self, scope: Scope, tree: ScopeTree) -> Scope | None:
        # The scope that keeps ``scope`` from being this role's root, if any.
        types = self.allowed_scope_types
        for sid in tree.ancestors(scope.id):
            above = tree.get(sid)
            if types is None or above.type in types:
                return above
        return None

    def is_grantable_at(self, scope: Scope, tree: ScopeTree) -> bool:
        """Whether this role may be granted at ``scope`` of ``tree`` (the one rule that
        granting, computing, defaults and explain share)."""
        # Only a root-only role walks up the tree, so the others pay nothing for it.
        return self.can_be_granted_at(scope.type, scope.account_type) and (
            not self.root_only or self.is_root_for(scope, tree)
        )

    def check_grantable_at(self, scope: Scope, tree: ScopeTree, field: str = "scope_id") -> None:
        """Raise, naming ``field``, unless this role may be granted at ``scope``."""
        if self.is_grantable_at(scope, tree):
            return
        if self.allowed_scope_types is not None and scope.type not in self.allowed_scope_types:
            raise ValidationFailed(
                "scope_type_not_allowed",
                f"role {self.key!r} can be granted at {', '.join(sorted(self.allowed_scope_types))}"
                f", not at {scope.type} {scope.id!r}",
                field,
            )
        if (
            self.allowed_account_types is not None
            and scope.account_type is not None
            and scope.account_type not in self.allowed_account_types
        ):
            allowed = ", ".join(sorted(t.value for t in self.allowed_account_types))
            raise ValidationFailed(
                "scope_type_not_allowed",
                f"role {self.key!r} can be granted at {allowed} accounts, "
                f"not at {scope.account_type.value} account {scope.id!r}",
                field,
            )
        above = self._nearest_above(scope, tree)
        types = self.allowed_scope_types
        kinds = "scope" if types is None else " or ".join(sorted(types))
        below = "" if above is None else f" is below {above.type} {above.name!r} ({above.id})"
        raise ValidationFailed(
            "root_only",
            f"role {self.key!r} can only be granted at the root of its product, a {kinds} "
            f"with no {kinds} above it; {scope.type} {scope.name!r} ({scope.id}){below}",
            field,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "grants": dict(sorted(self.grants.items())),
            "allowed_scope_types": None
            if self.allowed_scope_types is None
            else sorted(self.allowed_scope_types),
            "allowed_account_types": None
            if self.allowed_account_types is None
            else sorted(t.value for t in self.allowed_account_types),
            "reaches_descendants": self.reaches_descendants,
            "root_only": self.root_only,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Role:
        grants = data.get("grants") or {}
        if not isinstance(grants, Mapping):
            raise ValidationFailed("invalid_value", "grants must map area keys to levels", "grants")
        scope_types = data.get("allowed_scope_types")
        account_types = data.get("allowed_account_types")
        try:
            parsed_account_types = (
                None
                if account_types is None
                else frozenset(AccountType(str(t)) for t in _as_list(account_types))
            )
        except ValueError as exc:
            raise ValidationFailed("invalid_value", str(exc), "allowed_account_types") from None
        return cls(
            key=str(data.get("key", "")),
            name=str(data.get("name", "")),
            grants={str(k): str(v) for k, v in grants.items()},
            allowed_scope_types=None
            if scope_types is None
            else frozenset(str(t) for t in _as_list(scope_types)),
            reaches_descendants=bool(data.get("reaches_descendants", False)),
            description=str(data.get("description") or ""),
            allowed_account_types=parsed_account_types,
            root_only=bool(data.get("root_only", False)),
        )


def _as_list(value: object) -> list[object]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationFailed("invalid_value", f"expected a list, got {value!r}", None)
    return list(value)


def index_roles(roles: Iterable[Role]) -> dict[str, Role]:
    """Roles by ref, refusing two roles with one key in one product."""
    out: dict[str, Role] = {}
    for role in roles:
        if role.ref in out:
            raise Conflict("duplicate", f"role {role.ref!r} is defined twice", "key")
        out[role.ref] = role
    return out


def check_grantable(role: Role, scope_id: str, tree: ScopeTree, field: str = "scope_id") -> Scope:
    """Look up ``scope_id`` and check ``role`` may be granted there; return the scope."""
    scope = tree.find(scope_id)
    if scope is None:
        raise ValidationFailed("unknown_scope", f"scope {scope_id!r} does not exist", field)
    role.check_grantable_at(scope, tree, field)
    return scope
