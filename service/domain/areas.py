"""Permission areas: named capabilities with ordered levels.

One shape covers all five seeds: "licenses: view < manage < delete" (seed 004's
No access < View < View and manage < ...), "read_only < full" (seed 000), and a
plain on/off permission (seed 002's "View Feature Bundles", seed 003's "Share"),
which is an area with the single level :data:`GRANTED`. "No access" is never a
level: it is the absence of a grant, so that an unknown or missing grant can only
ever mean less access.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from service.domain.errors import Conflict, ValidationFailed
from service.domain.keys import check_key
from service.domain.products import qualify

GRANTED = "granted"
ON_OFF_LEVELS: tuple[str, ...] = (GRANTED,)


@dataclass(frozen=True, slots=True)
class PermissionArea:
    """A capability and its levels, ordered from lowest to highest.

    A grant of a level implies every lower level of the same area, never a level
    of another area.
    """

    key: str
    name: str
    levels: tuple[str, ...] = ON_OFF_LEVELS
    category: str | None = None
    description: str = ""
    # The product it belongs to; "" for an area not placed in one yet (a catalog's).
    product: str = ""
    _ranks: Mapping[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        check_key(self.key, "key")
        if not self.name:
            raise ValidationFailed("invalid_value", "an area needs a name", "name")
        levels = tuple(self.levels)
        if not levels or any(not isinstance(lv, str) or not lv.strip() for lv in levels):
            raise ValidationFailed(
                "invalid_value", "an area needs at least one non-empty level", "levels"
            )
        if len(set(levels)) != len(levels):
            raise ValidationFailed("invalid_value", "an area's levels must be distinct", "levels")
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "_ranks", {lv: i for i, lv in enumerate(levels)})

    @property
    def ref(self) -> str:
        """The area's name across the tenant's products: ``product/key``."""
        return qualify(self.product, self.key)

    @property
    def is_on_off(self) -> bool:
        return len(self.levels) == 1

    @property
    def highest(self) -> str:
        return self.levels[-1]

    def has_level(self, level: str) -> bool:
        return level in self._ranks

    def rank(self, level: str, field: str = "level") -> int:
        """Position of ``level`` (0 = lowest); raises naming ``field`` if unknown."""
        try:
            return self._ranks[level]
        except KeyError:
            raise ValidationFailed(
                "unknown_level",
                f"area {self.key!r} has no level {level!r} (levels: {', '.join(self.levels)})",
                field,
            ) from None

    def implies(self, granted: str, wanted: str) -> bool:
        """Whether holding ``granted`` includes ``wanted``."""
        return self.rank(granted, "granted") >= self.rank(wanted, "wanted")

    def higher(self, a: str | None, b: str | None) -> str | None:
        """The higher of two levels, where ``None`` (no grant) is lowest."""
        if a is None:
            return b
        if b is None:
            return a
        return a if self.rank(a) >= self.rank(b) else b

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "levels": list(self.levels),
            "category": self.category,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PermissionArea:
        levels = data.get("levels", ON_OFF_LEVELS)
        if isinstance(levels, str) or not isinstance(levels, Iterable):
            raise ValidationFailed("invalid_value", "levels must be a list of strings", "levels")
        category = data.get("category")
        return cls(
            key=str(data.get("key", "")),
            name=str(data.get("name", "")),
            levels=tuple(str(lv) for lv in levels),
            category=None if category is None else str(category),
            description=str(data.get("description") or ""),
        )


def index_areas(areas: Iterable[PermissionArea]) -> dict[str, PermissionArea]:
    """Areas by ref, refusing two areas with one key in one product."""
    out: dict[str, PermissionArea] = {}
    for area in areas:
        if area.ref in out:
            raise Conflict("duplicate", f"area {area.ref!r} is defined twice", "key")
        out[area.ref] = area
    return out
