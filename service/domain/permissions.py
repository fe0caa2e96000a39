"""Effective permissions: what one user may do, where.

The set is kept in the shape it was granted in: per scope where a grant was
made, per area, the level, and whether it also holds below. It is never expanded
to every descendant: a role granted at an organization of 10,000 scopes costs one
entry, not 10,000, which keeps computing it fast and its cached JSON small. A
lookup at a scope looks at that scope and its ancestors only (O(depth)) and takes
the highest level found, so an inherited grant and a local one combine by "the
max wins" at read time.

Cached JSON (``to_dict``), as read by apps::

    {"user_id": "u1",
     "areas": {"reports": ["view", "edit"]},
     "scopes": {"org-1": {"reports": {"level": "view", "inherits": true}},
                "folder-2": {"reports": {"level": "edit", "inherits": false}}}}

``areas`` lists the levels (lowest first) of every area the user holds, so a
reader can compare levels without the tenant's catalog. ``level`` is what holds
at that scope; with ``inherits`` it holds below too, except when
``inherited_level`` is present, which is then the (lower) level that holds below
(a local role and a descendant-reaching role at one scope, granting different
levels).

Accounts (seed 001, :mod:`service.domain.accounts`). Grants inside an account the
user is not covered for are not in the set at all. A grant made outside every
account that reaches below meets accounts the user may not be in; it stops at
them. The set lists those accounts as ``fences`` (present only when there are
any, so a tenant without accounts, or a user whose grants stay inside their own
accounts, has none)::

    {"scopes": {"org-1": {"reports": {"level": "view", "inherits": true}},
                "boston": {"reports": {"level": "view", "inherits": true}}},
     "fences": ["acme-na"]}

A reader walking up from a scope stops at the first fence: grants inherited from
the fence and above do not hold at or below it. An account the user belongs to
below a fence (Acme Boston under Acme North America) carries what it inherits
from above the fence as a grant of its own, so readers need nothing but the
scope's ancestor ids, nearest first, as before.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from service.domain.accounts import Coverage
from service.domain.areas import PermissionArea
from service.domain.assignments import Assignment
from service.domain.errors import ValidationFailed
from service.domain.products import resolve_ref
from service.domain.roles import Role
from service.domain.scopes import ScopeTree

Ancestors = ScopeTree | Sequence[str]


@dataclass(frozen=True, slots=True)
class AreaGrant:
    """The grant of one area at one scope."""

    level: str
    inherits: bool = False
    inherited_level: str | None = None

    @property
    def descendant_level(self) -> str | None:
        """The level this grant gives every scope below, if any."""
        if not self.inherits:
            return None
        return self.inherited_level or self.level

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"level": self.level, "inherits": self.inherits}
        if self.inherited_level is not None:
            out["inherited_level"] = self.inherited_level
        return out


@lru_cache(maxsize=4096)
def _ranks_of(levels: tuple[str, ...]) -> MappingOf[str, int]:
    # Every set of a tenant lists the same few level tuples: rank each tuple once,
    # not once per area per set (shared, so never mutated).
    return MappingProxyType({lv: i for i, lv in enumerate(levels)})


@dataclass(frozen=True)
class EffectivePermissions:
    """One user's grants by scope; see the module docstring for the rules."""

    user_id: str | None
    levels: MappingOf[str, tuple[str, ...]]
    scopes: MappingOf[str, MappingOf[str, AreaGrant]]
    fences: frozenset[str] = frozenset()
    _ranks: dict[str, MappingOf[str, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ranks = {a: _ranks_of(lvs) for a, lvs in self.levels.items()}
        object.__setattr__(self, "_ranks", ranks)

    def check(self) -> EffectivePermissions:
        """Raise unless every grant uses a level its area lists; return self.

        ``from_dict`` runs this on what it reads back from the cache;
        ``compute_effective_permissions`` builds sets that pass by construction
        and skips it, since it is a third of the compute time.
        """
        for sid, grants in self.scopes.items():
            for area, grant in grants.items():
                known = self._ranks.get(area)
                used = (grant.level, grant.inherited_level)
                if known is None or any(lv is not None and lv not in known for lv in used):
                    raise ValidationFailed(
                        "unknown_level",
                        f"grant of {area!r} at {sid!r} uses a level the set does not list",
                        f"scopes.{sid}.{area}",
                    )
        return self

    # -- lookups -------------------------------------------------------------

    def level_at(self, scope_id: str, area: str, ancestors: Ancestors) -> str | None:
        """The highest level of ``area`` holding at ``scope_id``, or ``None``.

        ``ancestors`` is the tree, or the ancestor ids of ``scope_id`` nearest
        first (for a reader that caches paths rather than the whole tree).
        """
        ranks = self._ranks.get(area)
        if ranks is None:
            return None
        best = -1
        scopes = self.scopes
        here = scopes.get(scope_id)
        if here is not None:
            grant = here.get(area)
            if grant is not None:
                best = ranks[grant.level]
        for sid in self._inheriting(scope_id, ancestors):
            above = scopes.get(sid)
            if above is None:
                continue
            grant = above.get(area)
            if grant is not None and grant.inherits:
                rank = ranks[grant.inherited_level or grant.level]
                if rank > best:
                    best = rank
        return self.levels[area][best] if best >= 0 else None

    def _inheriting(self, scope_id: str, ancestors: Ancestors) -> Sequence[str]:
        """The ancestors whose descendant-reaching grants hold at ``scope_id``: all of
        them, up to the first fence met walking up (none if the scope is one)."""
        chain = ancestors.ancestors(scope_id) if isinstance(ancestors, ScopeTree) else ancestors
        fences = self.fences
        if not fences:
            return chain
        if scope_id in fences:
            return ()
        for i, sid in enumerate(chain):
            if sid in fences:
                return chain[:i]
        return chain

    def allows(self, scope_id: str, area: str, level: str, ancestors: Ancestors) -> bool:
        """Whether the user holds ``area`` at ``level`` or higher at ``scope_id``.

        An area the user holds nothing in answers False (its levels are not in
        the set, so the level cannot be checked here; the read API checks names
        against the tenant's catalog before asking). A level the area does not
        have is a caller error and raises rather than quietly denying.
        """
        ranks = self._ranks.get(area)
        if ranks is None:
            return False
        wanted = ranks.get(level)
        if wanted is None:
            raise ValidationFailed(
                "unknown_level",
                f"area {area!r} has no level {level!r} (levels: {', '.join(self.levels[area])})",
                "level",
            )
        held = self.level_at(scope_id, area, ancestors)
        return held is not None and ranks[held] >= wanted

    def for_scope(self, scope_id: str, ancestors: Ancestors) -> dict[str, str]:
        """Every area the user holds at ``scope_id``, with its resolved level."""
        chain = self._inheriting(scope_id, ancestors)
        best: dict[str, int] = {}
        here = self.scopes.get(scope_id)
        if here is not None:
            for area, grant in here.items():
                best[area] = self._ranks[area][grant.level]
        for sid in chain:
            above = self.scopes.get(sid)
            if above is None:
                continue
            for area, grant in above.items():
                if grant.inherits:
                    rank = self._ranks[area][grant.inherited_level or grant.level]
                    if rank > best.get(area, -1):
                        best[area] = rank
        return {area: self.levels[area][rank] for area, rank in sorted(best.items())}

    def scopes_allowing(self, area: str, level: str, tree: ScopeTree) -> frozenset[str]:
        """Every scope where ``allows`` is true (for lists such as "accounts I can see").

        This one does expand inherited grants, so it costs the size of the
        subtrees involved; it is meant for listings, not for per-request checks.
        """
        ranks = self._ranks.get(area)
        if ranks is None or level not in ranks:
            return frozenset()
        wanted = ranks[level]
        out: set[str] = set()
        for sid, grants in self.scopes.items():
            grant = grants.get(area)
            if grant is None or sid not in tree:
                continue
            if ranks[grant.level] >= wanted:
                out.add(sid)
            below = grant.descendant_level
            if below is not None and ranks[below] >= wanted:
                out.update(self._reached_below(sid, tree))
        return frozenset(out)

    def _reached_below(self, scope_id: str, tree: ScopeTree) -> Iterable[str]:
        """The scopes below ``scope_id`` that its inherited grants reach (not past fences)."""
        fences = self.fences
        if not fences:
            return tree.descendants(scope_id)
        out: list[str] = []
        frontier = [c for c in tree.children(scope_id) if c not in fences]
        while frontier:
            out.extend(frontier)
            frontier = [c for sid in frontier for c in tree.children(sid) if c not in fences]
        return out

    def area_ref(self, area: str, product: str | None = None) -> str:
        """The ref (``product/key``) an app's area name stands for in this set: see
        :func:`service.domain.products.resolve_ref`. A key alone resolves among the
        areas the user holds; when the user holds none of that key, checks deny."""
        return resolve_ref(area, product, self._ranks)

    def grants_at(self, scope_id: str) -> MappingOf[str, AreaGrant]:
        """The grants made at ``scope_id`` itself, without inheritance."""
        return self.scopes.get(scope_id, {})

    def __bool__(self) -> bool:
        return bool(self.scopes)

    # -- (de)serialisation ---------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "user_id": self.user_id,
            "areas": {a: list(lvs) for a, lvs in sorted(self.levels.items())},
            "scopes": {
                sid: {a: g.to_dict() for a, g in sorted(grants.items())}
                for sid, grants in sorted(self.scopes.items())
            },
        }
        if self.fences:
            out["fences"] = sorted(self.fences)
        return out

    @classmethod
    def from_dict(
        cls, data: MappingOf[str, object], only_scopes: Collection[str] | None = None
    ) -> EffectivePermissions:
        """Read a set back (from the cache). With ``only_scopes``, only the grants at
        those scopes are read: a permission check needs the checked scope and its
        ancestors, not every scope of a large set."""
        areas = data.get("areas")
        scopes = data.get("scopes")
        if not isinstance(areas, MappingOf) or not isinstance(scopes, MappingOf):
            raise ValidationFailed(
                "invalid_value", "a permission set needs 'areas' and 'scopes' objects", None
            )
        levels = {str(a): tuple(str(lv) for lv in lvs) for a, lvs in areas.items()}
        parsed: dict[str, dict[str, AreaGrant]] = {}
        if only_scopes is not None:
            scopes = {sid: scopes[sid] for sid in only_scopes if sid in scopes}
        for sid, grants in scopes.items():
            if not isinstance(grants, MappingOf):
                raise ValidationFailed("invalid_value", "grants must be objects", f"scopes.{sid}")
            parsed[str(sid)] = {}
            for area, g in grants.items():
                if not isinstance(g, MappingOf) or "level" not in g:
                    raise ValidationFailed(
                        "invalid_value", "a grant needs a level", f"scopes.{sid}.{area}"
                    )
                inherited = g.get("inherited_level")
                parsed[str(sid)][str(area)] = AreaGrant(
                    level=str(g["level"]),
                    inherits=bool(g.get("inherits", False)),
                    inherited_level=None if inherited is None else str(inherited),
                )
        fences = data.get("fences", ())
        if not isinstance(fences, Sequence) or isinstance(fences, str | bytes):
            raise ValidationFailed("invalid_value", "fences must be a list of scope ids", "fences")
        user_id = data.get("user_id")
        return cls(
            None if user_id is None else str(user_id),
            levels,
            parsed,
            frozenset(str(f) for f in fences),
        ).check()


RankedGrants = tuple[tuple[str, int], ...]


def _ranked_grants(role: Role, areas: MappingOf[str, PermissionArea]) -> RankedGrants:
    # A grant naming an area or level the tenant no longer has (the catalog was
    # edited after the role) is dropped: a stale role may only ever grant less.
    # Areas are keyed by ref (product/key): a role grants areas of its own product.
    out: list[tuple[str, int]] = []
    for area_key, level in role.grants.items():
        ref = role.area_ref(area_key)
        area = areas.get(ref)
        if area is not None and area.has_level(level):
            out.append((ref, area.rank(level)))
    return tuple(out)


_GrantKey = tuple[str, bool, str | None]


def assignment_applies(
    role: Role, assignment: Assignment, tree: ScopeTree, coverage: Coverage | None = None
) -> bool:
    """Whether an assignment of ``role`` grants anything: its scope exists and fits,
    and (given the user's ``coverage``) the user is a member where it was granted.

    Shared with explain, so that "why" and "what" never disagree.
    """
    scope = tree.find(assignment.scope_id)
    if scope is None or not role.is_grantable_at(scope, tree):
        return False
    return coverage is None or coverage.uncovered_account(scope.id) is None


def compute_effective_permissions(
    assignments: Iterable[Assignment],
    roles: MappingOf[str, Role],
    areas: MappingOf[str, PermissionArea],
    tree: ScopeTree,
    *,
    user_id: str | None = None,
    accounts: Iterable[str] = (),
    ranked: dict[str, RankedGrants] | None = None,
) -> EffectivePermissions:
    """Merge every assignment's grants, keeping the highest level per scope and area.

    Assignments whose role or scope no longer exists, or whose role may not be
    granted at that scope, give nothing; the service validates at write time, and
    this keeps a stale row from ever widening access. ``accounts`` are those the
    user belongs to: a grant inside any other account gives nothing either, and
    grants reaching into them from above stop there (the module docstring).

    ``ranked`` memoises each role's grants as (area ref, rank) across calls; pass the
    same dict only with the same ``roles`` and ``areas`` (a loaded model keeps one).
    """
    # A tree without accounts skips every account rule.
    coverage = Coverage(tree, accounts) if tree.has_accounts else None
    local: dict[str, dict[str, int]] = {}
    reach: dict[str, dict[str, int]] = {}
    if ranked is None:
        ranked = {}
    for assignment in assignments:
        if user_id is None:
            user_id = assignment.user_id
        role = roles.get(assignment.role_key)
        if role is None or not assignment_applies(role, assignment, tree, coverage):
            continue
        grants = ranked.get(assignment.role_key)
        if grants is None:
            grants = ranked[assignment.role_key] = _ranked_grants(role, areas)
        target = (reach if role.reaches_descendants else local).setdefault(assignment.scope_id, {})
        for area_key, rank in grants:
            if rank > target.get(area_key, -1):
                target[area_key] = rank

    fences: frozenset[str] = frozenset()
    if coverage is not None and reach:
        fences = coverage.fences(reach)
        if fences:
            _carry_past_fences(reach, fences, coverage.accounts, tree)

    scopes: dict[str, dict[str, AreaGrant]] = {}
    used: set[str] = set()
    # Grants are immutable values and most are alike ("granted", inherited), so
    # one object per distinct value saves building hundreds of equal ones.
    interned: dict[_GrantKey, AreaGrant] = {}
    for sid in local.keys() | reach.keys():
        here = local.get(sid, {})
        down = reach.get(sid, {})
        grants_here: dict[str, AreaGrant] = {}
        for area_key in here.keys() | down.keys():
            levels = areas[area_key].levels
            r_local = here.get(area_key, -1)
            r_down = down.get(area_key, -1)
            if r_down < 0:
                key: _GrantKey = (levels[r_local], False, None)
            elif r_local > r_down:
                key = (levels[r_local], True, levels[r_down])
            else:
                key = (levels[r_down], True, None)
            grant = interned.get(key)
            if grant is None:
                grant = interned[key] = AreaGrant(*key)
            grants_here[area_key] = grant
        used.update(grants_here)
        scopes[sid] = grants_here
    return EffectivePermissions(
        user_id=user_id,
        levels={a: areas[a].levels for a in sorted(used)},
        scopes=scopes,
        fences=fences,
    )


def _carry_past_fences(
    reach: dict[str, dict[str, int]],
    fences: frozenset[str],
    accounts: frozenset[str],
    tree: ScopeTree,
) -> None:
    """Give each of the user's accounts below a fence, as a grant of its own, what it
    inherits from above: readers stop at the fence, and the account is covered."""
    carried: dict[str, dict[str, int]] = {}
    for account in accounts:
        if account not in tree:
            continue
        chain = tree.ancestors(account)
        if not any(sid in fences for sid in chain):
            continue
        best: dict[str, int] = {}
        for sid in chain:
            for area_key, rank in reach.get(sid, {}).items():
                if rank > best.get(area_key, -1):
                    best[area_key] = rank
        if best:
            carried[account] = best
    for account, best in carried.items():
        target = reach.setdefault(account, {})
        for area_key, rank in best.items():
            if rank > target.get(area_key, -1):
                target[area_key] = rank
