"""Account membership rules (seed 001).

A user may belong to several accounts, but

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
with. Nothing is stored about the refusal itself: conflicts are recomputed from
the current requests each time, so when the cause goes away (the clashing mapping
is deleted, the user leaves the group, the account moves) the conflict goes too.

Which of two clashing requests wins is fixed, so that recomputing never flips a
user between accounts: direct assignments first (an admin's explicit choice beats
an IdP group), then the older request (``since``; a new mapping cannot evict an
account a user already had), then by origin and account id, so ties still have
one answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from service.domain.scopes import AccountType, ScopeTree

DIRECT = "direct"


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
class AccountRequest:
    """A wish to make the user a member of an account.

    ``origin`` is ``"direct"`` for an admin's assignment, else the mapping id.
    ``since`` is when the request first existed, if known; older requests win.
    """

    account_id: str
    origin: str = DIRECT
    since: datetime | None = None

    @property
    def is_direct(self) -> bool:
        return self.origin == DIRECT


@dataclass(frozen=True, slots=True)
class AccountConflict:
    """A refused account request: which account, from where, and the broken rule."""

    account_id: str
    origin: str
    rule: ConflictRule
    message: str
    blocking_account_id: str | None = None
    blocking_origin: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "account_id": self.account_id,
            "origin": self.origin,
            "rule": self.rule.value,
            "message": self.message,
            "blocking_account_id": self.blocking_account_id,
            "blocking_origin": self.blocking_origin,
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


def _precedence(request: AccountRequest) -> tuple[bool, datetime, str, str]:
    since = request.since
    if since is None:
        since = _LATEST
    elif since.tzinfo is not None:
        # Compare aware and naive times on one clock: the service stores UTC.
        since = since.astimezone(UTC).replace(tzinfo=None)
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
        )
    if user_type is not None and (fitting is None or scope.account_type not in fitting):
        return AccountConflict(
            req.account_id,
            req.origin,
            ConflictRule.USER_TYPE_MISMATCH,
            f"a {user_type.value} user cannot belong to {scope.account_type.value} account "
            f"{scope.name!r}",
        )
    for held in accepted:
        if held.account_id == req.account_id:
            # The same account asked for twice (say, by a mapping and directly)
            # is one membership with two reasons, not a clash.
            return None
    for held in accepted:
        other = tree.get(held.account_id)
        if rules.single_account_type and other.account_type != scope.account_type:
            return AccountConflict(
                req.account_id,
                req.origin,
                ConflictRule.MIXED_ACCOUNT_TYPES,
                f"{scope.name!r} is a {scope.account_type.value} account but the user already "
                f"belongs to {other.account_type} account {other.name!r}",
                held.account_id,
                held.origin,
            )
        if rules.disjoint_hierarchies and (
            tree.is_ancestor(other.id, scope.id) or tree.is_ancestor(scope.id, other.id)
        ):
            return AccountConflict(
                req.account_id,
                req.origin,
                ConflictRule.SAME_VERTICAL_HIERARCHY,
                f"{scope.name!r} and {other.name!r}, which the user already belongs to, "
                "are in the same vertical hierarchy",
                held.account_id,
                held.origin,
            )
    return None
