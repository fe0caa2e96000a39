"""What a change does to one user's access: the gains and losses between two effective
permission sets, each read against its own scope tree.

A preview (``service.services.previews``) computes a user's set before and after a
change with the same code that computes it for readers, then calls
:func:`diff_access`. It compares *effective access*, not grant entries: moving a
scope changes what its subtree inherits without changing any grant, and a grant
replaced by an equal one changes nothing.

The rule, exact and compact. Let B be the *breakpoints*: every scope where either
set has a grant, either set's fences, and the scopes the change itself names (a
moved scope, a deleted one). For a scope ``s`` that is not a breakpoint, nothing at
``s`` or between ``s`` and its nearest breakpoint above decides anything, so ``s``
holds exactly what a *plain child* of that breakpoint holds: a scope with no grant
of its own whose ancestors are ``b`` and ``b``'s ancestors. (A moved scope is a
breakpoint, so a scope present on both sides has the same nearest breakpoint on
both sides.) Hence, for each breakpoint ``b`` and each area, two comparisons,
both by :meth:`EffectivePermissions.level_at`, the code readers use:

- at ``b`` itself: an entry ``{scope_id: b, below: false}`` when the level differs;
- below ``b``: an entry ``{scope_id: b, below: true, except_below: [...]}`` when the
  plain child's level differs. It stands for every scope under ``b`` down to, not
  including, the breakpoints listed in ``except_below`` (the nearest breakpoints
  under ``b`` on either side) and everything under those; they have entries, or
  no change, of their own. An entry whose region holds no scope is left out.

A scope on one side only (deleted by the change) has no access on the other side:
``to_level`` is None there. ``from_level``/``to_level`` are None for no access.
A *gain* is an entry whose ``to_level`` ranks above its ``from_level``; a *loss*
the reverse (no access ranks below every level).

Account conflicts (seed 001) are compared by identity: the account, the request's
origin, the rule, what it clashes with, and for a ``not_a_member`` refusal the
grant; a conflict present only after appears, one present only before resolves.

The brake on mass revocation (:class:`RevocationBrake`) is a tenant setting: an
admin change is held when the users losing access exceed both ``max_users`` and
``max_share`` of the tenant's active users.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from service.domain.accounts import AccountConflict
from service.domain.errors import ValidationFailed
from service.domain.permissions import EffectivePermissions
from service.domain.scopes import ScopeTree

# A scope id no scope can have (ids never hold NUL): the "plain child" of a
# breakpoint, holding no grant and being no fence.
_PLAIN_CHILD = "\x00plain-child"


@dataclass(frozen=True, slots=True)
class AccessChange:
    """One difference in one area: at a scope, or in the region below it."""

    area: str
    scope_id: str
    from_level: str | None
    to_level: str | None
    below: bool = False
    except_below: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "area": self.area,
            "scope_id": self.scope_id,
            "from_level": self.from_level,
            "to_level": self.to_level,
            "below": self.below,
            "except_below": list(self.except_below),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> AccessChange:
        return cls(
            area=str(data["area"]),
            scope_id=str(data["scope_id"]),
            from_level=None if data.get("from_level") is None else str(data["from_level"]),
            to_level=None if data.get("to_level") is None else str(data["to_level"]),
            below=bool(data.get("below")),
            except_below=tuple(str(s) for s in data.get("except_below") or ()),  # type: ignore[attr-defined]
        )


@dataclass(frozen=True, slots=True)
class AccessDiff:
    """What a change does to one user: gains, losses, conflicts appearing and resolving."""

    gained: tuple[AccessChange, ...]
    lost: tuple[AccessChange, ...]
    conflicts_appearing: tuple[AccountConflict, ...] = ()
    conflicts_resolving: tuple[AccountConflict, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(
            self.gained or self.lost or self.conflicts_appearing or self.conflicts_resolving
        )


def _rank(levels: Sequence[str] | None, level: str | None) -> int:
    if level is None or levels is None:
        return -1
    return levels.index(level)


def _level(
    perms: EffectivePermissions, tree: ScopeTree, scope_id: str, area: str, below: bool
) -> str | None:
    if scope_id not in tree:
        return None
    chain = tree.ancestors(scope_id)
    if below:
        return perms.level_at(_PLAIN_CHILD, area, (scope_id, *chain))
    return perms.level_at(scope_id, area, chain)


def _areas_with_other_grants(before: EffectivePermissions, after: EffectivePermissions) -> set[str]:
    """The areas granted differently at some scope (one pass over both sets)."""
    out: set[str] = set()
    old, new = before.scopes, after.scopes
    for sid in old.keys() | new.keys():
        here, there = old.get(sid), new.get(sid)
        if here == there:
            continue
        here, there = here or {}, there or {}
        out.update(a for a in here.keys() | there.keys() if here.get(a) != there.get(a))
    return out


def _nearest_breakpoint_above(scope_id: str, tree: ScopeTree, points: set[str]) -> str | None:
    if scope_id not in tree:
        return None
    for sid in tree.ancestors(scope_id):
        if sid in points:
            return sid
    return None


def diff_access(
    before: EffectivePermissions,
    before_tree: ScopeTree,
    after: EffectivePermissions,
    after_tree: ScopeTree,
    extra_breakpoints: Iterable[str] = (),
) -> tuple[tuple[AccessChange, ...], tuple[AccessChange, ...]]:
    """The gains and the losses from ``before`` to ``after`` (the module docstring's
    rule). ``extra_breakpoints`` are the scopes the change names (moved, deleted).
    Pass the same tree object twice when the change left the tree as it was."""
    points = {
        sid
        for sid in (
            *before.scopes,
            *after.scopes,
            *before.fences,
            *after.fences,
            *extra_breakpoints,
        )
        if sid in before_tree or sid in after_tree
    }
    areas = sorted(before.levels.keys() | after.levels.keys())
    if before_tree is after_tree and before.fences == after.fences:
        # One tree and the same fences: a level can differ only in an area whose grants
        # differ somewhere (a level reads that area's grants alone), so only those
        # areas are compared. Most users a change may affect have none.
        differing = _areas_with_other_grants(before, after)
        areas = [a for a in areas if a in differing]
    if not points or not areas:
        return (), ()
    # The nearest breakpoints under each breakpoint, on either side.
    trees = (before_tree,) if before_tree is after_tree else (before_tree, after_tree)
    frontier: dict[str, set[str]] = {}
    for tree in trees:
        for sid in points:
            above = _nearest_breakpoint_above(sid, tree, points)
            if above is not None:
                frontier.setdefault(above, set()).add(sid)
    gained: list[AccessChange] = []
    lost: list[AccessChange] = []
    for sid in sorted(points):
        children = {c for tree in trees if sid in tree for c in tree.children(sid)}
        region = any(c not in points for c in children)
        for area in areas:
            levels = after.levels.get(area) or before.levels.get(area)
            for below in (False, True) if region else (False,):
                old = _level(before, before_tree, sid, area, below)
                new = _level(after, after_tree, sid, area, below)
                if old == new:
                    continue
                change = AccessChange(
                    area,
                    sid,
                    old,
                    new,
                    below,
                    tuple(sorted(frontier.get(sid, ()))) if below else (),
                )
                (gained if _rank(levels, new) > _rank(levels, old) else lost).append(change)
    return tuple(gained), tuple(lost)


def conflict_identity(conflict: AccountConflict) -> tuple[object, ...]:
    return (
        conflict.account_id,
        conflict.origin,
        conflict.rule.value,
        conflict.blocking_account_id,
        conflict.blocking_origin,
        conflict.role_key,
        conflict.scope_id,
    )


def diff_conflicts(
    before: Iterable[AccountConflict], after: Iterable[AccountConflict]
) -> tuple[tuple[AccountConflict, ...], tuple[AccountConflict, ...]]:
    """The conflicts appearing and the conflicts resolving, by identity."""
    old = {conflict_identity(c): c for c in before}
    new = {conflict_identity(c): c for c in after}
    appearing = tuple(new[k] for k in sorted(new.keys() - old.keys(), key=repr))
    resolving = tuple(old[k] for k in sorted(old.keys() - new.keys(), key=repr))
    return appearing, resolving


def diff_user(
    before: EffectivePermissions,
    before_conflicts: Iterable[AccountConflict],
    before_tree: ScopeTree,
    after: EffectivePermissions,
    after_conflicts: Iterable[AccountConflict],
    after_tree: ScopeTree,
    extra_breakpoints: Iterable[str] = (),
) -> AccessDiff:
    gained, lost = diff_access(before, before_tree, after, after_tree, extra_breakpoints)
    appearing, resolving = diff_conflicts(before_conflicts, after_conflicts)
    return AccessDiff(gained, lost, appearing, resolving)


def expand(change: AccessChange, tree: ScopeTree) -> tuple[str, ...]:
    """The scopes an entry stands for in ``tree`` (for readers and tests that want
    rows per scope): its scope, or the region below it its rule describes."""
    if change.scope_id not in tree:
        return ()
    if not change.below:
        return (change.scope_id,)
    stop = set(change.except_below)
    out: list[str] = []
    frontier = [c for c in tree.children(change.scope_id) if c not in stop]
    while frontier:
        out.extend(frontier)
        frontier = [c for sid in frontier for c in tree.children(sid) if c not in stop]
    return tuple(out)


# -- the brake on mass revocation ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class RevocationBrake:
    """A tenant's limit on how many users one admin change may take access from
    without an explicit confirmation."""

    max_users: int = 100
    max_share: float = 0.10

    def __post_init__(self) -> None:
        if self.max_users < 0:
            raise ValidationFailed(
                "invalid_value", "max_users must be 0 or more", "revocation_brake.max_users"
            )
        if not 0 <= self.max_share <= 1:
            raise ValidationFailed(
                "invalid_value",
                "max_share must be between 0 and 1",
                "revocation_brake.max_share",
            )

    def holds(self, users_losing: int, active_users: int) -> bool:
        """Whether a change taking access from ``users_losing`` users must be confirmed."""
        return users_losing > self.max_users and users_losing > self.max_share * active_users

    def can_trip(self, users_affected: int) -> bool:
        """Whether a change affecting this many users could be held at all: no more
        users can lose access than may be affected."""
        return users_affected > self.max_users

    def to_dict(self) -> dict[str, object]:
        return {"max_users": self.max_users, "max_share": self.max_share}

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> RevocationBrake:
        if not data:
            return cls()
        default = cls()
        return cls(
            int(data.get("max_users", default.max_users)),  # type: ignore[call-overload]
            float(data.get("max_share", default.max_share)),  # type: ignore[arg-type]
        )
