"""Products: the customer's products, each with its own areas, roles and settings.

A tenant holds several products (seeds 000 to 004 each describe one: a
usage-analytics dashboard, a licensing portal, a reporting tool, a data platform).
Areas and roles belong to one product and their keys are unique within it, so two
products may both declare an area ``user_management`` without colliding.

Wherever the whole tenant is in play (the effective set apps read, assignments,
explanations) an area or a role is named by its *ref*, ``"<product>/<key>"``. A key
never contains ``/`` (see :mod:`service.domain.keys`), so a ref splits one way only.
An area or role built without a product (a unit test's, a catalog's before it is
loaded) has its bare key as its ref.

The settings a seed states per product live here: seed 003's default role ("View
... applies to any User when invited") and seed 004's "user permissions are
controlled by the groups to which a user is assigned" (``group_only``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from service.domain.errors import Conflict, ValidationFailed
from service.domain.keys import check_key

SEPARATOR = "/"
# The product an area or role goes to when its creator names none: the one every
# tenant's model moved into when products arrived (migration 0012).
DEFAULT_PRODUCT = "default"


def qualify(product: str, key: str) -> str:
    """The ref of ``key`` in ``product`` (the bare key when there is no product)."""
    return f"{product}{SEPARATOR}{key}" if product else key


def split_ref(ref: str) -> tuple[str | None, str]:
    """``(product, key)`` of a ref; ``(None, key)`` for a bare key."""
    product, _, key = ref.rpartition(SEPARATOR)
    return (product or None, key)


def resolve_ref(name: str, product: str | None, known: Iterable[str], what: str = "area") -> str:
    """The ref a caller's name for an area (or role) stands for among ``known`` refs.

    A caller names it by its ref, or by its key with the product beside it, or, where
    the products cannot clash for it, by its key alone: that resolves to the one
    known ref with that key. A key in several products is ambiguous and raises,
    naming them; an unknown name comes back unchanged (for the caller to refuse, or
    for a check to deny).
    """
    if product is not None:
        return qualify(product, split_ref(name)[1])
    refs = known if isinstance(known, Collection) else list(known)
    if name in refs:
        return name
    matches = [ref for ref in refs if split_ref(ref)[1] == name]
    if len(matches) > 1:
        products = ", ".join(sorted(split_ref(m)[0] or "" for m in matches))
        raise Conflict(
            "ambiguous", f"{what} {name!r} is in products {products}: name the product", "product"
        )
    return matches[0] if matches else name


@dataclass(frozen=True, slots=True)
class Product:
    """One of the tenant's products and the settings its documentation states.

    ``default_role`` (a role key of this product) is what an invitation to this
    product grants when it names no role, and what a user holds wherever they hold
    another role of the product. ``group_only`` refuses direct assignments and
    role-bearing invitations: the product's roles come from IdP groups alone.
    """

    key: str
    name: str
    description: str = ""
    group_only: bool = False
    default_role: str | None = None

    def __post_init__(self) -> None:
        check_key(self.key, "key")
        if not self.name or not self.name.strip():
            raise ValidationFailed("invalid_value", "a product needs a name", "name")
        if self.default_role is not None:
            check_key(self.default_role, "default_role")

    @property
    def default_role_ref(self) -> str | None:
        return None if self.default_role is None else qualify(self.key, self.default_role)

    def check_direct_grant(self, what: str = "a direct assignment") -> None:
        """Raise unless the product's roles may be granted other than through groups."""
        if self.group_only:
            raise Conflict(
                "group_only_product",
                f"product {self.key!r} is group-only (setting group_only): its roles are "
                f"granted through IdP group mappings only, not by {what}",
                "group_only",
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "group_only": self.group_only,
            "default_role": self.default_role,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Product:
        default_role = data.get("default_role")
        return cls(
            key=str(data.get("key", "")),
            name=str(data.get("name", "")),
            description=str(data.get("description") or ""),
            group_only=bool(data.get("group_only", False)),
            default_role=None if default_role is None else str(default_role),
        )
