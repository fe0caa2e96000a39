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
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.domain.accounts import (
    SEED_001_RULES,
    AccountConflict,
    AccountRequest,
    AccountRules,
    UserType,
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
    the group path that made it apply (direct group first, mapped group last).
    """

    user_id: str
    role_key: str
    scope_id: str
    source: AssignmentSource = AssignmentSource.DIRECT
    mapping_id: str | None = None
    via_groups: tuple[str, ...] = ()

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
        }


@dataclass(frozen=True, slots=True)
class RefusedAssignment:
    """A mapped assignment not made because its account membership was refused."""

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
) -> UserAssignments:
    """Compute a user's assignments, account memberships and conflicts from scratch.

    ``groups`` holds the records of the groups known to the tenant (a group seen
    only as an id still matches mappings by id). ``mapping_since`` gives each
    mapping's creation time so that older mappings win account conflicts.
    ``default_roles`` are the refs of the products' default roles.
    """
    index = mappings if isinstance(mappings, MappingIndex) else MappingIndex(mappings)
    records = groups or {}
    paths = (graph or GroupGraph()).memberships(direct_group_ids)
    since = mapping_since or {}

    mapped: dict[str, tuple[Mapping, tuple[str, ...]]] = {}
    # Shortest paths first, so a mapping reached through two groups is explained
    # by the closer one.
    for gid, path in sorted(paths.items(), key=lambda item: (len(item[1]), item[0])):
        record = records.get(gid) or GroupRecord(id=gid, display_name="")
        for mapping in index.for_group(record):
            mapped.setdefault(mapping.id, (mapping, path))

    account_requests = list(direct_accounts)
    for mapping, _ in mapped.values():
        if mapping.assign_account:
            account_requests.append(
                AccountRequest(mapping.scope_id, mapping.id, since.get(mapping.id))
            )
    resolution = resolve_account_assignments(user_type, account_requests, tree, account_rules)

    kept: list[Assignment] = []
    for a in direct:
        if a.user_id != user_id:
            raise ValidationFailed(
                "invalid_value", f"assignment for {a.user_id!r} given for {user_id!r}", "user_id"
            )
        kept.append(a)
    refused: list[RefusedAssignment] = []
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
        conflict = (
            resolution.conflict_for(mapping.scope_id, mapping.id)
            if mapping.assign_account
            else None
        )
        if conflict is None:
            kept.append(assignment)
        else:
            refused.append(RefusedAssignment(assignment, conflict))

    for role_ref in default_roles:
        kept.extend(_default_assignments(user_id, role_ref, kept, resolution.accepted, roles, tree))
    kept = list(dict.fromkeys(kept))
    kept.sort(key=Assignment.sort_key)
    return UserAssignments(
        user_id=user_id,
        assignments=tuple(kept),
        accounts=resolution.accepted,
        conflicts=resolution.conflicts,
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
