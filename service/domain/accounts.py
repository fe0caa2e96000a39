"""Account rules (seed 001): who may belong to which accounts, and what membership
is needed for a grant to take effect.

Membership. A user may belong to several accounts, but

- all of them must be of one account type ("mixed_account_types"),
- none may be an ancestor of another: they must not share a vertical hierarchy
  ("same_vertical_hierarchy"), and
- their type must fit the user's type ("user_type_mismatch"): producer users
  belong to producer accounts (to log in to the Producer Portal), customer users
  to customer accounts, partner users to partner accounts and self-registered
  users to self-registered accounts (the End-User Portal). Seed 001 ties producer
  users to producer accounts and customers/partners to the End-User Portal; the
  one-to-one pairing is this module's reading of it, and a tenant can widen it
  through :class:`AccountRules`.

Requests come from direct admin assignments and from mappings with
``assign_account``. A request that breaks a rule is not made; an
:class:`AccountConflict` records which request, which rule, and what it clashed
with, naming both origins (:class:`Origin`: a direct assignment, or a mapping and
the group through which it applies). Nothing is stored about the refusal itself:
conflicts are recomputed from the current requests each time, so when the cause
goes away (the clashing mapping is deleted, the user leaves the group, the account
moves) the conflict goes too.

Which of two clashing requests wins: the earlier one, so that nobody loses an
account because of something that happened later. What "earlier" can mean is
limited by what is recorded:

- An admin's direct request is checked when it is made against every account the
  user then holds, whatever their origin (:func:`account_clash`; the use case
  answers 409). So a direct request that stands was made before any account that
  collides with it was held: direct requests come first.
- A mapped request begins when the mapping exists *and* the user is in its group.
  The SCIM tables record when a group was created, but not when a member joined it
  (``scim_group_members`` has no time), so the best time known is the latest of the
  mapping's ``created_at`` and the creation of every group on the user's path to
  it. That is right when a mapping was made before the IdP pushed its group (a
  mapping by displayName may), which the mapping's age alone gets wrong. It is
  still a lower bound: a user who joins a long-existing group later than another
  mapped account arrived looks earlier than it is. A membership time per group
  member would make this exact; until one is recorded the rule stays this one.
- Then by origin and account id, so ties still have one answer and recomputing
  never flips a user between accounts.

Effect on permissions. A grant at a scope inside an account (the nearest account
at or above it) takes effect only for a user who belongs to that account or to an
account above it: the user is "covered" there (:class:`Coverage`). Otherwise it
grants nothing and is a listed conflict ("not_a_member"). A grant made outside
every account that reaches its descendants stops at every account below it that
the user is not covered for. Tenants without accounts are untouched by either rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from service.domain.scopes import AccountType, ScopeTree

DIRECT = "direct"
MAPPING = "mapping"


class UserType(StrEnum):
    """Seed 001's four kinds of user."""

    CUSTOMER = "customer"
    PRODUCER = "producer"
    PARTNER = "partner"
    SELF_REGISTERED = "self_registered"


class ConflictRule(StrEnum):
    MIXED_ACCOUNT_TYPES = "mixed_account_types"
    SAME_VERTICAL_HIERARCHY = "same_vertical_hierarchy"
    USER_TYPE_MISMATCH = "user_type_mismatch"
    NOT_AN_ACCOUNT = "not_an_account"
    # A grant inside an account the user does not belong to (nor to one above it).
    NOT_A_MEMBER = "not_a_member"


@dataclass(frozen=True)
class AccountRules:
    """The account rules a tenant runs with; the defaults are seed 001's."""

    account_types_for_user_type: Mapping[UserType, frozenset[AccountType]] = field(
        default_factory=lambda: {
            UserType.CUSTOMER: frozenset({AccountType.CUSTOMER}),
            UserType.PRODUCER: frozenset({AccountType.PRODUCER}),
            UserType.PARTNER: frozenset({AccountType.PARTNER}),
            UserType.SELF_REGISTERED: frozenset({AccountType.SELF_REGISTERED}),
        },
        hash=False,
    )
    single_account_type: bool = True
    disjoint_hierarchies: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "account_types_for_user_type": {
                u.value: sorted(a.value for a in types)
                for u, types in sorted(self.account_types_for_user_type.items())
            },
            "single_account_type": self.single_account_type,
            "disjoint_hierarchies": self.disjoint_hierarchies,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> AccountRules:
        raw = data.get("account_types_for_user_type")
        default = cls()
        pairs = (
            default.account_types_for_user_type
            if not isinstance(raw, Mapping)
            else {
                UserType(str(u)): frozenset(AccountType(str(a)) for a in accounts)
                for u, accounts in raw.items()
            }
        )
        return cls(
            account_types_for_user_type=pairs,
            single_account_type=bool(data.get("single_account_type", True)),
            disjoint_hierarchies=bool(data.get("disjoint_hierarchies", True)),
        )


SEED_001_RULES = AccountRules()


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request or a grant comes from: a direct assignment (``id`` is its id,
    when known), a mapping (``id``) and the group it names, which the user is in, or
    (for a grant, never a request) a product's default role."""

    source: str
    id: str | None = None
    group_id: str | None = None
    group_name: str | None = None

    @classmethod
    def direct(cls, assignment_id: str | None = None) -> Origin:
        return cls(DIRECT, assignment_id)

    @classmethod
    def mapping(
        cls, mapping_id: str, group_id: str | None = None, group_name: str | None = None
    ) -> Origin:
        return cls(MAPPING, mapping_id, group_id, group_name)

    @property
    def key(self) -> str:
        """The mapping id, else the source (``"direct"``): the short form conflicts
        carry as ``origin`` and are filtered by."""
        return str(self.id) if self.source == MAPPING else self.source

    def describe(self) -> str:
        if self.source == MAPPING:
            group = self.group_name or self.group_id
            return f"mapping {self.id}" + (f" (group {group!r})" if group else "")
        if self.source == DIRECT:
            return "direct assignment" + (f" {self.id}" if self.id else "")
        return f"{self.source} role"

    def to_dict(self) -> dict[str, str | None]:
        return {
            "source": self.source,
            "assignment_id": self.id if self.source == DIRECT else None,
            "mapping_id": self.id if self.source == MAPPING else None,
            "group_id": self.group_id,
            "group_name": self.group_name,
        }


def _origin_of(key: str) -> Origin:
    # A request or conflict made without its details: only the short form is known.
    return Origin.direct() if key == DIRECT else Origin.mapping(key)


@dataclass(frozen=True, slots=True)
class AccountRequest:
    """A wish to make the user a member of an account.

    ``origin`` is ``"direct"`` for an admin's assignment, else the mapping id;
    ``via`` says more when known (the assignment's id, the mapping's group).
    ``since`` is when the request began, if known; earlier requests win.
    """

    account_id: str
    origin: str = DIRECT
    since: datetime | None = None
    via: Origin | None = None

    @classmethod
    def direct(
        cls, account_id: str, since: datetime | None = None, assignment_id: str | None = None
    ) -> AccountRequest:
        return cls(account_id, DIRECT, since, Origin.direct(assignment_id))

    @property
    def is_direct(self) -> bool:
        return self.origin == DIRECT

    @property
    def detail(self) -> Origin:
        return self.via or _origin_of(self.origin)


@dataclass(frozen=True, slots=True)
class AccountConflict:
    """A refused account request, or a grant refused for want of membership: which
    account, from where, the broken rule, and what it clashed with.

    For a ``not_a_member`` refusal, ``role_key`` and ``scope_id`` name the grant
    that takes no effect; ``account_id`` is the account the user would need."""

    account_id: str
    origin: str
    rule: ConflictRule
    message: str
    blocking_account_id: str | None = None
    blocking_origin: str | None = None
    via: Origin | None = None
    blocking_via: Origin | None = None
    role_key: str | None = None
    scope_id: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "account_id": self.account_id,
            "origin": self.origin,
            "origin_detail": (self.via or _origin_of(self.origin)).to_dict(),
            "rule": self.rule.value,
            "message": self.message,
            "blocking_account_id": self.blocking_account_id,
            "blocking_origin": self.blocking_origin,
            "blocking_origin_detail": None
            if self.blocking_origin is None
            else (self.blocking_via or _origin_of(self.blocking_origin)).to_dict(),
            "role_key": self.role_key,
            "scope_id": self.scope_id,
        }


class AccountResolution(NamedTuple):
    accepted: tuple[AccountRequest, ...]
    conflicts: tuple[AccountConflict, ...]

    @property
    def account_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.account_id for r in self.accepted))

    def conflict_for(self, account_id: str, origin: str) -> AccountConflict | None:
        for c in self.conflicts:
            if c.account_id == account_id and c.origin == origin:
                return c
        return None


_LATEST = datetime.max


def _naive_utc(moment: datetime) -> datetime:
    # Compare aware and naive times on one clock: the service stores UTC.
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def latest(moments: Iterable[datetime | None]) -> datetime | None:
    """The latest of the known times (None when none is known)."""
    known = [_naive_utc(m) for m in moments if m is not None]
    return max(known) if known else None


def _precedence(request: AccountRequest) -> tuple[bool, datetime, str, str]:
    since = _LATEST if request.since is None else _naive_utc(request.since)
    return (not request.is_direct, since, request.origin, request.account_id)


def resolve_account_assignments(
    user_type: UserType | None,
    requested: Iterable[AccountRequest | tuple[str, str]],
    tree: ScopeTree,
    rules: AccountRules = SEED_001_RULES,
) -> AccountResolution:
    """Split requests into the accounts the user gets and the conflicts.

    ``user_type`` may be ``None`` for a user whose type is not known yet (an IdP
    that sends no type): then only the other two rules apply, and the first
    accepted account fixes the type the rest must share.
    """
    requests = [r if isinstance(r, AccountRequest) else AccountRequest(*r) for r in requested]
    requests.sort(key=_precedence)
    fitting = None if user_type is None else rules.account_types_for_user_type.get(user_type)
    accepted: list[AccountRequest] = []
    conflicts: list[AccountConflict] = []
    for req in requests:
        conflict = _check(req, user_type, fitting, accepted, tree, rules)
        if conflict is None:
            accepted.append(req)
        else:
            conflicts.append(conflict)
    return AccountResolution(tuple(accepted), tuple(conflicts))


def account_clash(
    user_type: UserType | None,
    held: Sequence[AccountRequest],
    new: AccountRequest,
    tree: ScopeTree,
    rules: AccountRules = SEED_001_RULES,
) -> AccountConflict | None:
    """Why ``new`` may not be made, given every request the user has now; None if it may.

    It may not when it would be refused itself, or when the user would lose an
    account it holds now, whatever that account's origin: an admin's request never
    silently evicts an account that came from the IdP (or from another admin). The
    conflict names the held account and its origin as the blocking one.
    """
    before = resolve_account_assignments(user_type, held, tree, rules)
    after = resolve_account_assignments(user_type, [*held, new], tree, rules)
    if new.account_id not in after.account_ids:
        return next(c for c in after.conflicts if c.account_id == new.account_id)
    for lost in before.accepted:
        if lost.account_id not in after.account_ids:
            clash = _pair_clash(new, lost, tree, rules)
            if clash is not None:
                return clash
    return None


def _check(
    req: AccountRequest,
    user_type: UserType | None,
    fitting: frozenset[AccountType] | None,
    accepted: list[AccountRequest],
    tree: ScopeTree,
    rules: AccountRules,
) -> AccountConflict | None:
    scope = tree.find(req.account_id)
    if scope is None or not scope.is_account or scope.account_type is None:
        what = "does not exist" if scope is None else f"is a {scope.type}, not an account"
        return AccountConflict(
            req.account_id,
            req.origin,
            ConflictRule.NOT_AN_ACCOUNT,
            f"scope {req.account_id!r} {what}",
            via=req.detail,
        )
    if user_type is not None and (fitting is None or scope.account_type not in fitting):
        return AccountConflict(
            req.account_id,
            req.origin,
            ConflictRule.USER_TYPE_MISMATCH,
            f"a {user_type.value} user cannot belong to {scope.account_type.value} account "
            f"{scope.name!r}",
            via=req.detail,
        )
    for held in accepted:
        if held.account_id == req.account_id:
            # The same account asked for twice (say, by a mapping and directly)
            # is one membership with two reasons, not a clash.
            return None
    for held in accepted:
        clash = _pair_clash(req, held, tree, rules)
        if clash is not None:
            return clash
    return None


def _pair_clash(
    req: AccountRequest, held: AccountRequest, tree: ScopeTree, rules: AccountRules
) -> AccountConflict | None:
    """The rule ``req`` breaks beside ``held``, which the user belongs to; None if none."""
    scope = tree.get(req.account_id)
    other = tree.get(held.account_id)
    through = f"through {held.detail.describe()}"
    if rules.single_account_type and other.account_type != scope.account_type:
        rule = ConflictRule.MIXED_ACCOUNT_TYPES
        text = (
            f"{scope.name!r} is a {scope.account_type} account but the user already "
            f"belongs to {other.account_type} account {other.name!r}, {through}"
        )
    elif rules.disjoint_hierarchies and (
        tree.is_ancestor(other.id, scope.id) or tree.is_ancestor(scope.id, other.id)
    ):
        rule = ConflictRule.SAME_VERTICAL_HIERARCHY
        text = (
            f"{scope.name!r} and {other.name!r} are in the same vertical hierarchy; the "
            f"user already belongs to {other.name!r}, {through}"
        )
    else:
        return None
    return AccountConflict(
        req.account_id,
        req.origin,
        rule,
        text,
        held.account_id,
        held.origin,
        via=req.detail,
        blocking_via=held.detail,
    )


class Coverage:
    """Where one user's grants may take effect, given the accounts the user belongs to.

    The user is covered at an account it belongs to and at every account below one.
    A grant at a scope takes effect when the nearest account at or above that scope
    is covered, or when the scope lies in no account. A grant made outside every
    account that reaches its descendants stops at the *fences*: the topmost accounts
    below it that are not covered (below a fence, only accounts the user belongs to
    are covered again).
    """

    __slots__ = ("_covered", "accounts", "tree")

    def __init__(self, tree: ScopeTree, accounts: Iterable[str]) -> None:
        self.tree = tree
        self.accounts = frozenset(accounts)
        self._covered: dict[str, bool] = {}

    def covers(self, account_id: str) -> bool:
        """Whether the user belongs to ``account_id`` or to an account above it."""
        hit = self._covered.get(account_id)
        if hit is None:
            accounts = self.accounts
            hit = account_id in accounts or any(
                a in accounts for a in self.tree.ancestors(account_id)
            )
            self._covered[account_id] = hit
        return hit

    def uncovered_account(self, scope_id: str) -> str | None:
        """The account that keeps a grant at ``scope_id`` from taking effect, if any."""
        if not self.tree.has_accounts or scope_id not in self.tree:
            return None
        account = self.tree.account_of(scope_id)
        if account is None or self.covers(account):
            return None
        return account

    def fences(self, reaching_scope_ids: Iterable[str]) -> frozenset[str]:
        """Where grants that reach descendants from these scopes stop."""
        tree = self.tree
        if not tree.has_accounts:
            return frozenset()
        out: set[str] = set()
        for sid in reaching_scope_ids:
            # A grant inside a covered account reaches only covered accounts below it
            # (and one inside an uncovered account is refused): only grants made
            # outside every account meet accounts the user is not covered for.
            if sid in tree and tree.account_of(sid) is None:
                out.update(a for a in tree.top_accounts_below(sid) if a not in self.accounts)
        return frozenset(out)

    def stop_between(self, scope_id: str, granted_at: str) -> str | None:
        """The account where a grant at ``granted_at`` (an ancestor of ``scope_id``) that
        reaches descendants stops on its way down to ``scope_id``; None if it gets there."""
        if self.uncovered_account(scope_id) is None:
            return None
        top = None
        for sid in (scope_id, *self.tree.ancestors(scope_id)):
            if sid == granted_at:
                break
            if self.tree.get(sid).is_account:
                top = sid
        return top
