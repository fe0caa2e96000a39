"""Seed 001: users A and B in the Acme hierarchy, and the account rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from service.domain import (
    AccountRequest,
    Assignment,
    AssignmentSource,
    Catalog,
    ConflictRule,
    GroupGraph,
    GroupRecord,
    GroupRef,
    GroupRefKind,
    Mapping,
    ScopeTree,
    UserType,
    compute_effective_permissions,
    derive_user_assignments,
    resolve_account_assignments,
)

ENTITLEMENTS = "end_user_portal.entitlements"


@pytest.mark.parametrize("ancestor", ["ma", "east", "na"])
def test_user_b_cannot_join_an_account_above_acme_boston(acme_tree: ScopeTree, ancestor: str):
    accepted, conflicts = resolve_account_assignments(
        UserType.CUSTOMER,
        [AccountRequest("boston", "direct"), AccountRequest(ancestor, "map-1")],
        acme_tree,
    )

    assert [r.account_id for r in accepted] == ["boston"]
    assert len(conflicts) == 1
    assert conflicts[0].account_id == ancestor
    assert conflicts[0].origin == "map-1"
    assert conflicts[0].rule is ConflictRule.SAME_VERTICAL_HIERARCHY
    assert conflicts[0].blocking_account_id == "boston"


def test_a_sub_account_is_refused_too_when_the_parent_came_first(acme_tree: ScopeTree):
    _, conflicts = resolve_account_assignments(
        UserType.CUSTOMER, [("ma", "direct"), ("boston", "map-1")], acme_tree
    )

    assert [(c.account_id, c.rule) for c in conflicts] == [
        ("boston", ConflictRule.SAME_VERTICAL_HIERARCHY)
    ]


def test_user_b_can_join_special_operations_beside_acme_boston(acme_tree: ScopeTree):
    accepted, conflicts = resolve_account_assignments(
        UserType.CUSTOMER, [("boston", "direct"), ("special", "direct")], acme_tree
    )

    assert sorted(r.account_id for r in accepted) == ["boston", "special"]
    assert conflicts == ()


def test_sibling_accounts_are_not_in_one_vertical_hierarchy(acme_tree: ScopeTree):
    accepted, conflicts = resolve_account_assignments(
        UserType.CUSTOMER, [("ma", "map-a"), ("ny", "map-b")], acme_tree
    )

    assert [r.account_id for r in accepted] == ["ma", "ny"]
    assert conflicts == ()


def test_accounts_of_mixed_types_are_refused(acme_tree: ScopeTree):
    accepted, conflicts = resolve_account_assignments(
        None, [("boston", "direct"), ("reseller", "map-1")], acme_tree
    )

    assert [r.account_id for r in accepted] == ["boston"]
    assert conflicts[0].rule is ConflictRule.MIXED_ACCOUNT_TYPES
    assert conflicts[0].blocking_account_id == "boston"


@pytest.mark.parametrize(
    ("user_type", "account", "fits"),
    [
        (UserType.CUSTOMER, "boston", True),
        (UserType.CUSTOMER, "vendor", False),
        (UserType.PRODUCER, "vendor", True),
        (UserType.PRODUCER, "boston", False),
        (UserType.PARTNER, "reseller", True),
        (UserType.SELF_REGISTERED, "boston", False),
    ],
)
def test_a_user_type_must_fit_the_account_type(
    acme_tree: ScopeTree, user_type: UserType, account: str, fits: bool
):
    accepted, conflicts = resolve_account_assignments(user_type, [(account, "direct")], acme_tree)

    assert bool(accepted) is fits
    if not fits:
        assert conflicts[0].rule is ConflictRule.USER_TYPE_MISMATCH


def test_direct_requests_win_over_mappings_and_older_mappings_over_newer(acme_tree: ScopeTree):
    old = datetime(2024, 1, 1, tzinfo=UTC)
    new = datetime(2024, 6, 1, tzinfo=UTC)

    by_age = resolve_account_assignments(
        UserType.CUSTOMER,
        [AccountRequest("ma", "map-z", old), AccountRequest("boston", "map-a", new)],
        acme_tree,
    )
    direct_first = resolve_account_assignments(
        UserType.CUSTOMER,
        [AccountRequest("ma", "map-z", old), AccountRequest("boston", "direct", new)],
        acme_tree,
    )

    assert [r.account_id for r in by_age.accepted] == ["ma"]
    assert [r.account_id for r in direct_first.accepted] == ["boston"]


def test_the_same_account_from_two_origins_is_one_membership(acme_tree: ScopeTree):
    resolution = resolve_account_assignments(
        UserType.CUSTOMER, [("boston", "direct"), ("boston", "map-1")], acme_tree
    )

    assert resolution.account_ids == ("boston",)
    assert resolution.conflicts == ()


def test_a_request_for_a_scope_that_is_no_account_is_a_conflict_not_a_crash(
    acme_tree: ScopeTree,
):
    _, conflicts = resolve_account_assignments(UserType.CUSTOMER, [("gone", "map-1")], acme_tree)

    assert conflicts[0].rule is ConflictRule.NOT_AN_ACCOUNT


def _portal_mapping(mapping_id: str, group: str, role: str, account: str) -> Mapping:
    return Mapping(mapping_id, GroupRef(GroupRefKind.DISPLAY_NAME, group), role, account, True)


def test_user_a_as_portal_administrator_sees_sub_account_entitlements(
    acme_tree: ScopeTree, licensing: Catalog
):
    mappings = [
        _portal_mapping("m-ma", "MA admins", "portal_administrative_user", "ma"),
        _portal_mapping("m-ny", "NY admins", "portal_administrative_user", "ny"),
    ]
    derived = derive_user_assignments(
        "user-a",
        tree=acme_tree,
        roles=licensing.roles_by_key,
        user_type=UserType.CUSTOMER,
        direct_group_ids=["g-ma", "g-ny"],
        groups={
            "g-ma": GroupRecord("g-ma", "MA Admins"),
            "g-ny": GroupRecord("g-ny", "NY Admins"),
        },
        mappings=mappings,
    )
    perms = compute_effective_permissions(
        derived.assignments,
        licensing.roles_by_key,
        licensing.areas_by_key,
        acme_tree,
        accounts=derived.account_ids,
    )

    assert derived.account_ids == ("ma", "ny")
    assert derived.conflicts == ()
    assert perms.scopes_allowing(ENTITLEMENTS, "view", acme_tree) == {"ma", "boston", "ny"}
    assert perms.level_at("boston", ENTITLEMENTS, acme_tree) == "manage"
    assert perms.level_at("east", ENTITLEMENTS, acme_tree) is None


def test_user_b_as_portal_user_sees_only_acme_boston_and_special_operations(
    acme_tree: ScopeTree, licensing: Catalog
):
    direct = [
        Assignment("user-b", "portal_user", "boston", AssignmentSource.DIRECT),
        Assignment("user-b", "portal_user", "special", AssignmentSource.DIRECT),
    ]
    derived = derive_user_assignments(
        "user-b",
        tree=acme_tree,
        roles=licensing.roles_by_key,
        user_type=UserType.CUSTOMER,
        direct=direct,
        direct_accounts=[AccountRequest("boston"), AccountRequest("special")],
    )
    perms = compute_effective_permissions(
        derived.assignments,
        licensing.roles_by_key,
        licensing.areas_by_key,
        acme_tree,
        accounts=derived.account_ids,
    )

    assert perms.scopes_allowing(ENTITLEMENTS, "view", acme_tree) == {"boston", "special"}
    assert perms.scopes_allowing(ENTITLEMENTS, "manage", acme_tree) == frozenset()
    visible = {s.id for s in acme_tree if perms.for_scope(s.id, acme_tree)}
    assert visible == {"boston", "special"}


def test_a_refused_account_also_withholds_the_mapped_role_and_recovers_when_the_cause_goes(
    acme_tree: ScopeTree, licensing: Catalog
):
    mappings = [
        _portal_mapping("m-boston", "Boston users", "portal_user", "boston"),
        _portal_mapping("m-ma", "MA admins", "portal_administrative_user", "ma"),
    ]
    since = {
        "m-boston": datetime(2024, 1, 1, tzinfo=UTC),
        "m-ma": datetime(2024, 2, 1, tzinfo=UTC),
    }
    groups = {
        "g-boston": GroupRecord("g-boston", "Boston Users"),
        "g-ma": GroupRecord("g-ma", "MA Admins"),
    }

    def derive(direct_groups: list[str]):
        return derive_user_assignments(
            "user-b",
            tree=acme_tree,
            roles=licensing.roles_by_key,
            user_type=UserType.CUSTOMER,
            direct_group_ids=direct_groups,
            groups=groups,
            graph=GroupGraph(),
            mappings=mappings,
            mapping_since=since,
        )

    both = derive(["g-boston", "g-ma"])
    after_leaving_boston = derive(["g-ma"])

    assert both.account_ids == ("boston",)
    assert [(c.account_id, c.origin, c.rule) for c in both.conflicts] == [
        ("ma", "m-ma", ConflictRule.SAME_VERTICAL_HIERARCHY)
    ]
    assert [r.assignment.role_key for r in both.refused] == ["portal_administrative_user"]
    assert {a.role_key for a in both.assignments} == {"portal_user"}

    assert after_leaving_boston.account_ids == ("ma",)
    assert after_leaving_boston.conflicts == ()
    assert {a.role_key for a in after_leaving_boston.assignments} == {"portal_administrative_user"}


def test_moving_an_account_into_another_s_subtree_creates_a_conflict_and_moving_it_back_clears_it(
    acme_tree: ScopeTree,
):
    requests = [("boston", "direct"), ("special", "map-1")]
    acme_tree.validate_move("special", "boston")
    moved = ScopeTree(replace(s, parent_id="boston") if s.id == "special" else s for s in acme_tree)

    in_moved_tree = resolve_account_assignments(UserType.CUSTOMER, requests, moved)
    moved_back = resolve_account_assignments(UserType.CUSTOMER, requests, acme_tree)

    assert [(c.account_id, c.rule) for c in in_moved_tree.conflicts] == [
        ("special", ConflictRule.SAME_VERTICAL_HIERARCHY)
    ]
    assert moved_back.conflicts == ()
