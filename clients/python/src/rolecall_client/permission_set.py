"""One user's permission set, parsed once into a shape made for checks.

The decision rules here mirror rolecall's ``service/domain/permissions.py``
(``EffectivePermissions.allows``, ``level_at``, ``_inheriting``) and
``service/domain/products.resolve_ref``. They are duplicated on purpose: this
distribution depends on nothing of the server, so an app installs one small package;
the parity tests (``tests/test_parity_with_the_server.py``) ask the real server's
``POST /api/v1/check`` the same questions and fail when the two disagree.

The rules, as the server applies them to the set's JSON:

- ``areas`` lists each held area's levels, lowest first; a level implies the lower ones.
- ``scopes[scope][area]`` is a grant: ``level`` holds at that scope; with ``inherits``
  it also holds below it, at ``inherited_level`` when that is present.
- Walking up from the checked scope (its ancestor ids, nearest first), inherited grants
  count until the first scope listed in ``fences``; a fenced scope inherits nothing.
- An area is named by its ref ``product/key``, or by key with a product, or by key alone
  when the user holds that key in one product only (two: not allowed, ambiguous).
- An area the user holds nothing in, or a level the area does not have: not allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rolecall_client.errors import InvalidSet

_SEPARATOR = "/"
_NONE = -1


class PermissionSet:
    """A set held in memory: ``version``, the server's JSON (``body``) and, per area,
    the ranks of its levels and its grants by scope as ``(rank here, rank below)``.

    ``version`` is the body's unless given (a feed event states it beside the set)."""

    __slots__ = ("body", "fences", "grants", "ranks", "refs_by_key", "version")

    def __init__(self, body: Mapping[str, Any], version: int | None = None) -> None:
        try:
            self.version = int(body["version"]) if version is None else version
            areas = body["areas"]
            scopes = body["scopes"]
            fences = body.get("fences") or ()
            ranks = {
                str(area): {str(level): rank for rank, level in enumerate(levels)}
                for area, levels in areas.items()
            }
            grants: dict[str, dict[str, tuple[int, int]]] = {area: {} for area in ranks}
            for scope_id, held in scopes.items():
                for area, grant in held.items():
                    area_ranks = ranks[area]
                    here = area_ranks[grant["level"]]
                    below = _NONE
                    if grant.get("inherits"):
                        below = area_ranks[grant.get("inherited_level") or grant["level"]]
                    grants[area][str(scope_id)] = (here, below)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidSet(f"not a permission set the client can read: {error!r}") from error
        refs_by_key: dict[str, list[str]] = {}
        for ref in ranks:
            refs_by_key.setdefault(ref.rpartition(_SEPARATOR)[2], []).append(ref)
        self.body = body
        self.ranks = ranks
        self.grants = grants
        self.fences = frozenset(str(f) for f in fences)
        self.refs_by_key = refs_by_key

    def area_ref(self, area: str, product: str | None) -> str | None:
        """The ref ``area`` names in this set (``None``: ambiguous, so not allowed).

        Mirrors ``resolve_ref``: with a product, its key under that product; a held ref
        as it is; a key held in exactly one product, that ref; otherwise the name as
        given (which the set does not hold, so the check denies)."""
        if product is not None:
            key = area.rpartition(_SEPARATOR)[2]
            return f"{product}{_SEPARATOR}{key}" if product else key
        if area in self.ranks:
            return area
        matches = self.refs_by_key.get(area)
        if not matches:
            return area
        return matches[0] if len(matches) == 1 else None

    def allows(
        self, scope: str, area: str, level: str, product: str | None, ancestors: Sequence[str]
    ) -> bool:
        """Whether ``level`` (or higher) of ``area`` holds at ``scope``, whose ancestor ids
        (nearest first) are ``ancestors``."""
        ref = area if product is None and area in self.ranks else self.area_ref(area, product)
        if ref is None:
            return False
        ranks = self.ranks.get(ref)
        if ranks is None:
            return False
        wanted = ranks.get(level)
        if wanted is None:
            return False
        by_scope = self.grants[ref]
        here = by_scope.get(scope)
        if here is not None and here[0] >= wanted:
            return True
        fences = self.fences
        if fences and scope in fences:
            return False
        for above in ancestors:
            if fences and above in fences:
                return False
            grant = by_scope.get(above)
            if grant is not None and grant[1] >= wanted:
                return True
        return False
