"""The scope tree: where in a tenant's resources a role is granted.

A scope is a node of one tenant's tree (an organization, an account, a folder, ...).
Permissions are granted at a scope and, when the role says so, reach the scopes
below it. The tree is read far more often than it changes (every permission
lookup walks up from a scope), so :class:`ScopeTree` is an immutable snapshot with
the parent map and child lists precomputed; a change builds a new snapshot after
``validate_new`` / ``validate_move`` / ``plan_delete`` have approved it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from service.domain.errors import Conflict, NotFound, ValidationFailed
from service.domain.keys import check_key

BUILTIN_SCOPE_TYPES: frozenset[str] = frozenset(
    {"organization", "account", "workspace", "folder", "report"}
)
ACCOUNT = "account"


class AccountType(StrEnum):
    """Seed 001: every account is of exactly one of these types."""

    CUSTOMER = "customer"
    PRODUCER = "producer"
    PARTNER = "partner"
    SELF_REGISTERED = "self_registered"


@dataclass(frozen=True, slots=True)
class Scope:
    id: str
    type: str
    name: str
    parent_id: str | None = None
    account_type: AccountType | None = None

    @property
    def is_account(self) -> bool:
        return self.type == ACCOUNT


class HasScope(Protocol):
    """Anything attached to a scope: an assignment, a mapping."""

    @property
    def scope_id(self) -> str: ...


T = TypeVar("T", bound=HasScope)


@dataclass(frozen=True)
class DeletePlan(Generic[T]):
    """What deleting a scope removes, so the service layer can apply and audit it.

    ``scope_ids`` lists the deleted scopes deepest first, an order in which rows
    can be removed without breaking a parent foreign key.
    """

    scope_ids: tuple[str, ...]
    removed: tuple[T, ...]

    def __contains__(self, scope_id: object) -> bool:
        return scope_id in self.scope_ids


class ScopeTree:
    """An immutable snapshot of one tenant's scopes.

    Construction checks the whole snapshot (unknown types, dangling parents,
    cycles) in O(n), because every later walk up the tree relies on it ending.
    """

    __slots__ = (
        "_account_of",
        "_ancestors",
        "_by_id",
        "_children",
        "_depth",
        "_top_accounts",
        "has_accounts",
        "types",
    )

    def __init__(self, scopes: Iterable[Scope], declared_types: Iterable[str] = ()) -> None:
        declared = frozenset(check_key(t, "scope_types") for t in declared_types)
        self.types: frozenset[str] = BUILTIN_SCOPE_TYPES | declared
        by_id: dict[str, Scope] = {}
        for scope in scopes:
            if scope.id in by_id:
                raise Conflict("duplicate", f"scope {scope.id!r} appears twice", "id")
            self._check_shape(scope)
            by_id[scope.id] = scope
        children: dict[str, list[str]] = {}
        for scope in by_id.values():
            if scope.parent_id is None:
                continue
            if scope.parent_id not in by_id:
                raise ValidationFailed(
                    "unknown_parent",
                    f"scope {scope.id!r} names parent {scope.parent_id!r}, which does not exist",
                    "parent_id",
                )
            children.setdefault(scope.parent_id, []).append(scope.id)
        self._by_id = by_id
        self._children = {k: tuple(sorted(v)) for k, v in children.items()}
        self._depth = self._depths()
        # Filled on first use: most lookups touch few distinct scopes, and a
        # tuple per scope for all 10,000 up front would be wasted work.
        self._ancestors: dict[str, tuple[str, ...]] = {}
        # Seed 001's account rules cost nothing in a tree without accounts: every
        # account lookup answers from this flag first.
        self.has_accounts: bool = any(s.is_account for s in by_id.values())
        self._account_of: dict[str, str | None] = {}
        self._top_accounts: dict[str, tuple[str, ...]] = {}

    def _depths(self) -> dict[str, int]:
        # Breadth-first from the roots: a scope never reached sits on a cycle,
        # since every scope has a known parent by now.
        depth: dict[str, int] = {}
        frontier = [s.id for s in self._by_id.values() if s.parent_id is None]
        for sid in frontier:
            depth[sid] = 0
        while frontier:
            nxt: list[str] = []
            for sid in frontier:
                for child in self._children.get(sid, ()):
                    depth[child] = depth[sid] + 1
                    nxt.append(child)
            frontier = nxt
        if len(depth) != len(self._by_id):
            stuck = sorted(set(self._by_id) - set(depth))
            raise ValidationFailed(
                "cycle", f"scopes {stuck[:5]} form a cycle and reach no root", "parent_id"
            )
        return depth

    def _check_shape(self, scope: Scope) -> None:
        if not scope.id or not scope.name:
            raise ValidationFailed(
                "invalid_value",
                "a scope needs a non-empty id and name",
                "id" if not scope.id else "name",
            )
        if scope.type not in self.types:
            raise ValidationFailed(
                "unknown_scope_type",
                f"scope type {scope.type!r} is neither built in nor declared by the tenant "
                f"(known: {', '.join(sorted(self.types))})",
                "type",
            )
        if scope.is_account and scope.account_type is None:
            raise ValidationFailed(
                "account_type_required",
                "an account must carry an account_type "
                f"({', '.join(t.value for t in AccountType)})",
                "account_type",
            )
        if not scope.is_account and scope.account_type is not None:
            raise ValidationFailed(
                "account_type_not_allowed",
                f"only accounts carry an account_type; {scope.id!r} is a {scope.type}",
                "account_type",
            )

    # -- reading -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, scope_id: object) -> bool:
        return scope_id in self._by_id

    def __iter__(self) -> Iterator[Scope]:
        return iter(self._by_id.values())

    def get(self, scope_id: str) -> Scope:
        try:
            return self._by_id[scope_id]
        except KeyError:
            raise NotFound("not_found", f"scope {scope_id!r} does not exist", "scope_id") from None

    def find(self, scope_id: str) -> Scope | None:
        return self._by_id.get(scope_id)

    def parent(self, scope_id: str) -> str | None:
        return self.get(scope_id).parent_id

    def children(self, scope_id: str) -> tuple[str, ...]:
        self.get(scope_id)
        return self._children.get(scope_id, ())

    def roots(self) -> tuple[str, ...]:
        return tuple(sorted(s.id for s in self._by_id.values() if s.parent_id is None))

    def depth(self, scope_id: str) -> int:
        self.get(scope_id)
        return self._depth[scope_id]

    def ancestors(self, scope_id: str) -> tuple[str, ...]:
        """The scopes above ``scope_id``, nearest first; O(depth) the first time."""
        cached = self._ancestors.get(scope_id)
        if cached is not None:
            return cached
        by_id = self._by_id
        scope = self.get(scope_id)
        chain: list[str] = []
        parent = scope.parent_id
        while parent is not None:
            chain.append(parent)
            parent = by_id[parent].parent_id
        result = tuple(chain)
        self._ancestors[scope_id] = result
        return result

    def descendants(self, scope_id: str) -> tuple[str, ...]:
        """Every scope below ``scope_id``, breadth first (nearest levels first)."""
        self.get(scope_id)
        out: list[str] = []
        frontier = list(self._children.get(scope_id, ()))
        while frontier:
            out.extend(frontier)
            frontier = [c for sid in frontier for c in self._children.get(sid, ())]
        return tuple(out)

    def account_of(self, scope_id: str) -> str | None:
        """The nearest account at or above ``scope_id``; None when it lies in no account."""
        if not self.has_accounts:
            return None
        if scope_id in self._account_of:
            return self._account_of[scope_id]
        found = None
        for sid in (scope_id, *self.ancestors(scope_id)):
            if self._by_id[sid].is_account:
                found = sid
                break
        self._account_of[scope_id] = found
        return found

    def top_accounts_below(self, scope_id: str) -> tuple[str, ...]:
        """The accounts strictly below ``scope_id`` with no account between them and it."""
        if not self.has_accounts:
            return ()
        cached = self._top_accounts.get(scope_id)
        if cached is not None:
            return cached
        found: list[str] = []
        frontier = list(self.children(scope_id))
        while frontier:
            deeper: list[str] = []
            for sid in frontier:
                if self._by_id[sid].is_account:
                    found.append(sid)
                else:
                    deeper.extend(self._children.get(sid, ()))
            frontier = deeper
        result = tuple(sorted(found))
        self._top_accounts[scope_id] = result
        return result

    def is_ancestor(self, ancestor_id: str, scope_id: str) -> bool:
        """True when ``ancestor_id`` is strictly above ``scope_id``."""
        self.get(ancestor_id)
        # Comparing depths first answers most negative cases without a walk.
        if self._depth[ancestor_id] >= self.depth(scope_id):
            return False
        return ancestor_id in self.ancestors(scope_id)

    def path(self, scope_id: str) -> tuple[Scope, ...]:
        """From the root down to ``scope_id`` inclusive, for breadcrumbs and explain."""
        ids = (*reversed(self.ancestors(scope_id)), scope_id)
        return tuple(self._by_id[i] for i in ids)

    def path_names(self, scope_id: str) -> str:
        return " > ".join(s.name for s in self.path(scope_id))

    # -- validating changes --------------------------------------------------

    def validate_new(self, scope: Scope) -> None:
        """Raise unless ``scope`` can be added to this tree as it stands."""
        if scope.id in self._by_id:
            raise Conflict("duplicate", f"scope {scope.id!r} already exists", "id")
        self._check_shape(scope)
        if scope.parent_id is not None:
            if scope.parent_id == scope.id:
                raise ValidationFailed("cycle", "a scope cannot be its own parent", "parent_id")
            if scope.parent_id not in self._by_id:
                raise ValidationFailed(
                    "unknown_parent",
                    f"parent scope {scope.parent_id!r} does not exist",
                    "parent_id",
                )

    def validate_move(self, scope_id: str, new_parent_id: str | None) -> None:
        """Raise unless the subtree at ``scope_id`` may hang under ``new_parent_id``.

        Moving is allowed to create account-rule conflicts for users (two of a
        user's accounts may end up in one vertical hierarchy): those are not
        errors of the tree, and the recompute that follows a move records them
        as conflicts, exactly as it would for a new mapping.
        """
        self.get(scope_id)
        if new_parent_id is None:
            return
        if new_parent_id not in self._by_id:
            raise ValidationFailed(
                "unknown_parent", f"parent scope {new_parent_id!r} does not exist", "parent_id"
            )
        if new_parent_id == scope_id or self.is_ancestor(scope_id, new_parent_id):
            raise ValidationFailed(
                "cycle",
                f"moving {scope_id!r} under {new_parent_id!r} would put it below itself",
                "parent_id",
            )

    def plan_delete(
        self, scope_id: str, *, cascade: bool = False, attached: Iterable[T] = ()
    ) -> DeletePlan[T]:
        """Decide what deleting ``scope_id`` removes.

        The rule: a scope with children is refused unless ``cascade`` is true,
        because silently dropping a subtree (and every permission granted in it)
        is the kind of mistake an admin cannot see until users complain. With
        ``cascade`` the whole subtree goes. Whatever is attached to a deleted
        scope (direct assignments, mappings, account memberships: pass them as
        ``attached``) goes with it, since it would point at nothing; derived
        assignments need no listing, they disappear at the next recompute.
        """
        self.get(scope_id)
        below = self.descendants(scope_id)
        if below and not cascade:
            raise Conflict(
                "has_children",
                f"scope {scope_id!r} has {len(below)} scope(s) below it; "
                "delete with cascade to remove the whole subtree",
                "cascade",
            )
        doomed = (scope_id, *below)
        doomed_set = frozenset(doomed)
        removed = tuple(item for item in attached if item.scope_id in doomed_set)
        return DeletePlan(scope_ids=tuple(reversed(doomed)), removed=removed)
