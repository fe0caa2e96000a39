"""Explain: why a user has (or lacks) an area at a level on a scope.

An admin asking "why can U edit S?" wants every chain that grants it, not just
the first: removing one group membership may not be enough when a second path
grants the same thing. "Why not?" gets the nearest miss: a weaker grant that does
reach the scope, a grant above it whose role stops at its own scope, or a role
refused by the account rules: its account membership broke one, or the user is not
a member where it was granted or where it would be inherited ("not_a_member").

This module applies the same rules as :mod:`service.domain.permissions`
(``assignment_applies`` with the user's account coverage, inheritance only for
roles that reach descendants and only into accounts the user is covered for), so
its ``effective_level`` always equals ``EffectivePermissions.level_at``.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass
from enum import StrEnum

from service.domain.accounts import AccountConflict, Coverage
from service.domain.areas import PermissionArea
from service.domain.assignments import (
    SOURCE_PRECEDENCE,
    Assignment,
    AssignmentSource,
    RefusedAssignment,
    not_a_member,
)
from service.domain.errors import NotFound, ValidationFailed
from service.domain.permissions import assignment_applies
from service.domain.products import split_ref
from service.domain.roles import Role
from service.domain.scopes import ScopeTree


class Outcome(StrEnum):
    GRANTED = "granted"
    LEVEL_TOO_LOW = "level_too_low"
    REFUSED_BY_ACCOUNT_CONFLICT = "refused_by_account_conflict"
    NO_ASSIGNMENT_REACHES_SCOPE = "no_assignment_reaches_scope"


@dataclass(frozen=True, slots=True)
class Chain:
    """One path from the user to a grant of the area.

    ``level`` is what the role grants in the area; ``granted_at`` is where the
    role is held; ``inherited`` is true when that is an ancestor of the scope
    asked about.
    """

    source: AssignmentSource
    role_key: str  # the role's ref, product/key
    role_name: str
    granted_at: str
    level: str
    inherited: bool
    mapping_id: str | None = None
    via_groups: tuple[str, ...] = ()

    def describe(
        self, tree: ScopeTree | None = None, group_names: MappingOf[str, str] | None = None
    ) -> str:
        names = group_names or {}
        where = self.granted_at
        if tree is not None and self.granted_at in tree:
            where = tree.path_names(self.granted_at)
        if self.source is AssignmentSource.MAPPING:
            groups = " -> ".join(f"group {names.get(g, g)!r}" for g in self.via_groups)
            start = f"{groups} -> mapping {self.mapping_id!r}"
        elif self.source is AssignmentSource.DIRECT:
            start = "direct assignment"
        else:
            start = "product default role"
        tail = " (inherited)" if self.inherited else ""
        return f"{start} -> role {self.role_name!r} ({self.level}) -> at {where}{tail}"

    def to_dict(self) -> dict[str, object]:
        product, role_key = split_ref(self.role_key)
        return {
            "source": self.source.value,
            "product": product,
            "role_key": role_key,
            "role_name": self.role_name,
            "granted_at": self.granted_at,
            "level": self.level,
            "inherited": self.inherited,
            "mapping_id": self.mapping_id,
            "via_groups": list(self.via_groups),
        }


@dataclass(frozen=True, slots=True)
class RefusedChain:
    """A chain that would have reached the scope, had its account not been refused."""

    chain: Chain
    conflict: AccountConflict

    def to_dict(self) -> dict[str, object]:
        return {"chain": self.chain.to_dict(), "conflict": self.conflict.to_dict()}


@dataclass(frozen=True)
class Explanation:
    user_id: str
    area: str
    level: str
    scope_id: str
    outcome: Outcome
    effective_level: str | None
    granting: tuple[Chain, ...]
    weaker: tuple[Chain, ...]
    not_reaching: tuple[Chain, ...]
    refused: tuple[RefusedChain, ...]
    summary: str

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.GRANTED

    def to_dict(self) -> dict[str, object]:
        return {
            "user_id": self.user_id,
            "area": self.area,
            "level": self.level,
            "scope_id": self.scope_id,
            "allowed": self.allowed,
            "outcome": self.outcome.value,
            "effective_level": self.effective_level,
            "granting": [c.to_dict() for c in self.granting],
            "weaker": [c.to_dict() for c in self.weaker],
            "not_reaching": [c.to_dict() for c in self.not_reaching],
            "refused": [r.to_dict() for r in self.refused],
            "summary": self.summary,
        }


def explain(
    user_id: str,
    area: str,
    level: str,
    scope_id: str,
    *,
    assignments: Iterable[Assignment],
    roles: MappingOf[str, Role],
    areas: MappingOf[str, PermissionArea],
    tree: ScopeTree,
    refused: Iterable[RefusedAssignment] = (),
    group_names: MappingOf[str, str] | None = None,
    accounts: Iterable[str] = (),
) -> Explanation:
    """Answer "why does ``user_id`` (not) have ``area`` at ``level`` on ``scope_id``".

    ``accounts`` are the accounts the user belongs to (``UserAssignments.account_ids``).
    """
    the_area = areas.get(area)
    if the_area is None:
        raise ValidationFailed("unknown_area", f"area {area!r} does not exist", "area")
    wanted = the_area.rank(level, "level")
    if scope_id not in tree:
        raise NotFound("not_found", f"scope {scope_id!r} does not exist", "scope")
    above = set(tree.ancestors(scope_id))
    coverage = Coverage(tree, accounts) if tree.has_accounts else None

    def chain_for(a: Assignment, check: Coverage | None) -> tuple[Chain, bool] | None:
        # Returns the chain and whether it reaches the scope; None when the
        # assignment has nothing to say about this area at this scope.
        role = roles.get(a.role_key)
        if role is None or not assignment_applies(role, a, tree, check):
            return None
        # ``area`` is a ref; a role grants only areas of its own product.
        granted = role.grants.get(the_area.key) if role.product == the_area.product else None
        if granted is None or not the_area.has_level(granted):
            return None
        at_scope = a.scope_id == scope_id
        if not at_scope and a.scope_id not in above:
            return None
        chain = Chain(
            a.source,
            role.ref,
            role.name,
            a.scope_id,
            granted,
            not at_scope,
            a.mapping_id,
            a.via_groups,
        )
        return chain, at_scope or role.reaches_descendants

    granting: list[Chain] = []
    weaker: list[Chain] = []
    not_reaching: list[Chain] = []
    refused_chains: list[RefusedChain] = []
    for a in assignments:
        found = chain_for(a, coverage)
        if found is None:
            continue
        chain, reaches = found
        stop = None
        if reaches and chain.inherited and coverage is not None:
            stop = coverage.stop_between(scope_id, a.scope_id)
        if stop is not None:
            # Granted outside every account, it stops at an account the user is not in.
            conflict = not_a_member(a, stop, tree, group_names)
            refused_chains.append(RefusedChain(chain, conflict))
        elif not reaches:
            not_reaching.append(chain)
        elif the_area.rank(chain.level) >= wanted:
            granting.append(chain)
        else:
            weaker.append(chain)
    for r in refused:
        # Refused assignments are explained as if they had been made, to show what
        # they would have granted here.
        found = chain_for(r.assignment, None)
        if found is not None and found[1]:
            refused_chains.append(RefusedChain(found[0], r.conflict))

    def order(c: Chain) -> tuple[int, int, str, str]:
        return (
            -tree.depth(c.granted_at),
            SOURCE_PRECEDENCE[c.source],
            c.mapping_id or "",
            c.role_key,
        )

    granting.sort(key=order)
    weaker.sort(key=order)
    not_reaching.sort(key=order)
    refused_chains.sort(key=lambda r: order(r.chain))

    reaching = granting + weaker
    effective = None
    if reaching:
        effective = the_area.levels[max(the_area.rank(c.level) for c in reaching)]
    if granting:
        outcome = Outcome.GRANTED
    elif any(the_area.rank(r.chain.level) >= wanted for r in refused_chains):
        outcome = Outcome.REFUSED_BY_ACCOUNT_CONFLICT
    elif weaker:
        outcome = Outcome.LEVEL_TOO_LOW
    else:
        outcome = Outcome.NO_ASSIGNMENT_REACHES_SCOPE

    summary = _summary(
        user_id,
        the_area,
        level,
        scope_id,
        tree,
        outcome,
        effective,
        granting,
        weaker,
        not_reaching,
        refused_chains,
        group_names,
    )
    return Explanation(
        user_id,
        area,
        level,
        scope_id,
        outcome,
        effective,
        tuple(granting),
        tuple(weaker),
        tuple(not_reaching),
        tuple(refused_chains),
        summary,
    )


def _summary(
    user_id: str,
    area: PermissionArea,
    level: str,
    scope_id: str,
    tree: ScopeTree,
    outcome: Outcome,
    effective: str | None,
    granting: list[Chain],
    weaker: list[Chain],
    not_reaching: list[Chain],
    refused: list[RefusedChain],
    group_names: MappingOf[str, str] | None,
) -> str:
    where = tree.path_names(scope_id)
    what = f"{area.name} at {level!r}"

    def chains(cs: Iterable[Chain]) -> str:
        return "; ".join(c.describe(tree, group_names) for c in cs)

    if outcome is Outcome.GRANTED:
        return f"{user_id} has {what} on {where} (holds {effective!r}) through: {chains(granting)}"
    if outcome is Outcome.REFUSED_BY_ACCOUNT_CONFLICT:
        reasons = "; ".join(
            f"{r.chain.describe(tree, group_names)}, refused: {r.conflict.message}" for r in refused
        )
        return f"{user_id} lacks {what} on {where}: it would come from {reasons}"
    if outcome is Outcome.LEVEL_TOO_LOW:
        return (
            f"{user_id} lacks {what} on {where}: the best level reaching it is {effective!r}, "
            f"through: {chains(weaker)}"
        )
    text = f"{user_id} lacks {what} on {where}: no assignment reaches it"
    if not_reaching:
        text += f"; granted above but not inherited: {chains(not_reaching)}"
    return text
