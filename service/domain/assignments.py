"""Assignments: a user holding a role at a scope, and how they are derived.

Three sources feed a user's assignments:

- ``direct``: made by an admin (for example by a bulk invite); stored as such.
- ``mapping``: derived from the user's transitive groups and the tenant's
  mappings; never stored as edits, always recomputed by
  :func:`derive_user_assignments`.
- ``default``: a product's default role (seed 003: View for every invited user),
  held at every scope where the user holds another role of that product, or
  belongs to an account the default role may be granted at. That is where the
  user was invited to or placed, which is what seed 003 means by "applies to any
  User when invited" (inviting is done at an organization, folder or report). A
  user with no assignment at all gets nothing: the default widens access where
  there is some, it never creates it; and one product's default never follows
  from a role of another product (a usage-analytics user holds no reporting View).

Account rules decide which of them take effect (:mod:`service.domain.accounts`): an
assignment whose own account membership was refused, or one inside an account the
user is not covered for ("not_a_member"), is refused: kept aside with its conflict,
for explain and the conflict listing, and granting nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.domain.accounts import (
    DIRECT,
    SEED_001_RULES,
    AccountConflict,
    AccountRequest,
    AccountRules,
    ConflictRule,
    Coverage,
    Origin,
    UserType,
    latest,
    resolve_account_assignments,
)
from service.domain.errors import ValidationFailed
from service.domain.groups import GroupGraph, GroupRecord
from service.domain.mappings import Mapping, MappingIndex
from service.domain.products import split_ref
from service.domain.roles import Role
from service.domain.scopes import ScopeTree


class AssignmentSource(StrEnum):
    DIRECT = "direct"
    MAPPING = "mapping"
    DEFAULT = "default"


SOURCE_PRECEDENCE = {
    AssignmentSource.DIRECT: 0,
    AssignmentSource.MAPPING: 1,
    AssignmentSource.DEFAULT: 2,
}


@dataclass(frozen=True, slots=True)
class Assignment:
    """``user_id`` holds ``role_key`` (the role's ref, product/key) at ``scope_id``.

    For a mapped assignment, ``mapping_id`` names the mapping and ``via_groups``
    the group path that made it apply (direct group first, mapped group last). A
    direct one may carry its row's ``assignment_id``, so that a refusal can name it.
    """

    user_id: str
    role_key: str
    scope_id: str
    source: AssignmentSource = AssignmentSource.DIRECT
    mapping_id: str | None = None
    via_groups: tuple[str, ...] = ()
    assignment_id: str | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "source", AssignmentSource(self.source))
        except ValueError:
            raise ValidationFailed(
                "invalid_value", f"unknown assignment source {self.source!r}", "source"
            ) from None
        object.__setattr__(self, "via_groups", tuple(self.via_groups))
        if (self.source is AssignmentSource.MAPPING) != (self.mapping_id is not None):
            raise ValidationFailed(
                "invalid_value",
                "a mapped assignment names its mapping, and only a mapped one does",
                "mapping_id",
            )

    def sort_key(self) -> tuple[int, str, str, str]:
        return (SOURCE_PRECEDENCE[self.source], self.mapping_id or "", self.scope_id, self.role_key)

    def to_dict(self) -> dict[str, object]:
        product, role_key = split_ref(self.role_key)
        return {
            "user_id": self.user_id,
            "product": product,
            "role_key": role_key,
            "scope_id": self.scope_id,
            "source": self.source.value,
            "mapping_id": self.mapping_id,
            "via_groups": list(self.via_groups),
            "assignment_id": self.assignment_id,
        }

    def origin(self, group_names: MappingOf[str, str] | None = None) -> Origin:
        """Where the assignment comes from, naming the mapped group when it is known."""
        if self.source is AssignmentSource.MAPPING:
            assert self.mapping_id is not None
            group = self.via_groups[-1] if self.via_groups else None
            name = None if group is None else (group_names or {}).get(group)
            return Origin.mapping(self.mapping_id, group, name or None)
        return Origin(self.source.value, self.assignment_id)


def not_a_member(
    assignment: Assignment,
    account_id: str,
    tree: ScopeTree,
    group_names: MappingOf[str, str] | None = None,
) -> AccountConflict:
    """The conflict of a grant that takes no effect at ``account_id`` (or below it),
    because the user belongs neither to that account nor to one above it."""
    origin = assignment.origin(group_names)
    account = tree.get(account_id)
    where = tree.find(assignment.scope_id)
    at = assignment.scope_id if where is None else where.name
    return AccountConflict(
        account_id,
        origin.key,
        ConflictRule.NOT_A_MEMBER,
        f"role {assignment.role_key!r} at {at!r} ({origin.describe()}) grants nothing at "
        f"{account.name!r}: the user belongs neither to that account nor to one above it",
        via=origin,
        role_key=assignment.role_key,
        scope_id=assignment.scope_id,
    )


@dataclass(frozen=True, slots=True)
class RefusedAssignment:
    """An assignment that grants nothing: its account membership was refused, or the
    user is not a member where it was granted."""

    assignment: Assignment
    conflict: AccountConflict


@dataclass(frozen=True)
class UserAssignments:
    """Everything derivation decided for one user, ready to store and to explain."""

    user_id: str
    assignments: tuple[Assignment, ...]
    accounts: tuple[AccountRequest, ...]
    conflicts: tuple[AccountConflict, ...]
    refused: tuple[RefusedAssignment, ...]

    @property
    def account_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.account_id for r in self.accounts))


def applicable_mappings(
    direct_group_ids: Iterable[str],
    groups: MappingOf[str, GroupRecord],
    graph: GroupGraph,
    mappings: MappingIndex,
) -> dict[str, tuple[Mapping, tuple[str, ...]]]:
    """The mappings that apply to a user in these groups, each with its group path."""
    mapped: dict[str, tuple[Mapping, tuple[str, ...]]] = {}
    # Shortest paths first, so a mapping reached through two groups is explained
    # by the closer one.
    paths = graph.memberships(direct_group_ids)
    for gid, path in sorted(paths.items(), key=lambda item: (len(item[1]), item[0])):
        record = groups.get(gid) or GroupRecord(id=gid, display_name="")
        for mapping in mappings.for_group(record):
            mapped.setdefault(mapping.id, (mapping, path))
    return mapped


def _mapped_request(
    mapping: Mapping,
    path: tuple[str, ...],
    groups: MappingOf[str, GroupRecord],
    mapping_since: MappingOf[str, datetime],
    group_since: MappingOf[str, datetime],
) -> AccountRequest:
    # The request began once the mapping and every group on the path existed; when
    # the user joined them is not recorded (see service.domain.accounts).
    since = latest([mapping_since.get(mapping.id), *(group_since.get(g) for g in path)])
    mapped_group = path[-1] if path else None
    record = None if mapped_group is None else groups.get(mapped_group)
    name = None if record is None else record.display_name or None
    return AccountRequest(
        mapping.scope_id, mapping.id, since, Origin.mapping(mapping.id, mapped_group, name)
    )


def mapped_account_requests(
    *,
    direct_group_ids: Iterable[str],
    groups: MappingOf[str, GroupRecord],
    graph: GroupGraph,
    mappings: MappingIndex | Iterable[Mapping],
    mapping_since: MappingOf[str, datetime] | None = None,
    group_since: MappingOf[str, datetime] | None = None,
) -> list[AccountRequest]:
    """The account requests a user's groups make through mappings with ``assign_account``,
    dated as :func:`derive_user_assignments` dates them."""
    index = mappings if isinstance(mappings, MappingIndex) else MappingIndex(mappings)
    mapped = applicable_mappings(direct_group_ids, groups, graph, index)
    return [
        _mapped_request(m, path, groups, mapping_since or {}, group_since or {})
        for m, path in mapped.values()
        if m.assign_account
    ]


def derive_user_assignments(
    user_id: str,
    *,
    tree: ScopeTree,
    roles: MappingOf[str, Role],
    user_type: UserType | None = None,
    direct_group_ids: Iterable[str] = (),
    groups: MappingOf[str, GroupRecord] | None = None,
    graph: GroupGraph | None = None,
    mappings: MappingIndex | Iterable[Mapping] = (),
    direct: Iterable[Assignment] = (),
    direct_accounts: Iterable[AccountRequest] = (),
    default_roles: Iterable[str] = (),
    account_rules: AccountRules = SEED_001_RULES,
    mapping_since: MappingOf[str, datetime] | None = None,
    group_since: MappingOf[str, datetime] | None = None,
) -> UserAssignments:
    """Compute a user's assignments, account memberships and conflicts from scratch.

    ``groups`` holds the records of the groups known to the tenant (a group seen
    only as an id still matches mappings by id). ``mapping_since`` and
    ``group_since`` give each mapping's and group's creation time, which date the
    account requests mappings make (the earlier request wins a conflict).
    ``default_roles`` are the refs of the products' default roles.
    """
    index = mappings if isinstance(mappings, MappingIndex) else MappingIndex(mappings)
    records = groups or {}
    mapped = applicable_mappings(direct_group_ids, records, graph or GroupGraph(), index)

    account_requests = list(direct_accounts)
    for mapping, path in mapped.values():
        if mapping.assign_account:
            account_requests.append(
                _mapped_request(mapping, path, records, mapping_since or {}, group_since or {})
            )
    resolution = resolve_account_assignments(user_type, account_requests, tree, account_rules)
    # A direct assignment whose own membership request was refused, by its row id.
    refused_direct = {
        c.via.id: c
        for c in resolution.conflicts
        if c.origin == DIRECT and c.via is not None and c.via.id is not None
    }

    candidates: list[tuple[Assignment, AccountConflict | None]] = []
    for a in direct:
        if a.user_id != user_id:
            raise ValidationFailed(
                "invalid_value", f"assignment for {a.user_id!r} given for {user_id!r}", "user_id"
            )
        own = None if a.assignment_id is None else refused_direct.get(a.assignment_id)
        candidates.append((a, own))
    for mapping_id in sorted(mapped):
        mapping, path = mapped[mapping_id]
        assignment = Assignment(
            user_id,
            mapping.role_key,
            mapping.scope_id,
            AssignmentSource.MAPPING,
            mapping.id,
            path,
        )
        own = (
            resolution.conflict_for(mapping.scope_id, mapping.id)
            if mapping.assign_account
            else None
        )
        candidates.append((assignment, own))

    coverage = Coverage(tree, resolution.account_ids) if tree.has_accounts else None
    kept: list[Assignment] = []
    refused: list[RefusedAssignment] = []
    unmet: list[AccountConflict] = []
    for assignment, own in candidates:
        if own is None and coverage is not None:
            account = coverage.uncovered_account(assignment.scope_id)
            if account is not None:
                # Only the mapped group's name is needed, and only here.
                names = {g: records[g].display_name for g in assignment.via_groups if g in records}
                own = not_a_member(assignment, account, tree, names)
                unmet.append(own)
        if own is None:
            kept.append(assignment)
        else:
            refused.append(RefusedAssignment(assignment, own))

    for role_ref in default_roles:
        kept.extend(_default_assignments(user_id, role_ref, kept, resolution.accepted, roles, tree))
    kept = list(dict.fromkeys(kept))
    kept.sort(key=Assignment.sort_key)
    return UserAssignments(
        user_id=user_id,
        assignments=tuple(kept),
        accounts=resolution.accepted,
        conflicts=(*resolution.conflicts, *unmet),
        refused=tuple(refused),
    )


def _default_assignments(
    user_id: str,
    role_ref: str,
    held: list[Assignment],
    accounts: Iterable[AccountRequest],
    roles: MappingOf[str, Role],
    tree: ScopeTree,
) -> list[Assignment]:
    role = roles.get(role_ref)
    if role is None:
        return []
    already = {a.scope_id for a in held if a.role_key == role_ref}
    # Only the product's own roles place its default (see the module docstring).
    same_product = [
        a.scope_id
        for a in held
        if a.source is not AssignmentSource.DEFAULT
        and (other := roles.get(a.role_key)) is not None
        and other.product == role.product
    ]
    scope_ids = dict.fromkeys([*same_product, *(r.account_id for r in accounts)])
    out: list[Assignment] = []
    for sid in scope_ids:
        scope = tree.find(sid)
        if sid in already or scope is None or not role.is_grantable_at(scope, tree):
            continue
        out.append(Assignment(user_id, role_ref, sid, AssignmentSource.DEFAULT))
    return out
