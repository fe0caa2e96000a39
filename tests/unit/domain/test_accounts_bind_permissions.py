"""Seed 001: account membership decides where a user's grants take effect.

"What a user can see and do in the End-User portal is dependent on the permissions
granted them and their location in the hierarchy." A grant at an account, or inside
one, holds only for a member of that account or of an account above it; a grant made
above every account that reaches below stops at the accounts the user is not in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from service.domain import (
    AccountRequest,
    Assignment,
    AssignmentSource,
    Catalog,
    ConflictRule,
    EffectivePermissions,
    Explanation,
    GroupGraph,
    GroupRecord,
    GroupRef,
    GroupRefKind,
    Mapping,
    Origin,
    Outcome,
    PermissionArea,
    Role,
    Scope,
    ScopeTree,
    UserAssignments,
    UserType,
    ValidationFailed,
    account_clash,
    compute_effective_permissions,
    derive_user_assignments,
    explain,
    mapped_account_requests,
)
from service.domain.scopes import AccountType

ENTITLEMENTS = "end_user_portal.entitlements"
CUSTOMER = AccountType.CUSTOMER


@pytest.fixture
def holdings() -> ScopeTree:
    """Seed 001's Acme accounts (tests/unit/domain/conftest.py) under an organization
    that is no account, with a workspace inside Acme Boston."""
    return ScopeTree(
        [
            Scope("org", "organization", "Acme Holdings"),
            Scope("na", "account", "Acme North America", "org", CUSTOMER),
            Scope("east", "account", "Acme East", "na", CUSTOMER),
            Scope("ma", "account", "Acme Massachusetts", "east", CUSTOMER),
            Scope("boston", "account", "Acme Boston", "ma", CUSTOMER),
            Scope("boston-ws", "workspace", "Boston licenses", "boston"),
            Scope("ny", "account", "Acme New York", "east", CUSTOMER),
            Scope("special", "account", "Special Operations", "org", CUSTOMER),
        ]
    )


@pytest.fixture
def roles(licensing: Catalog) -> dict[str, Role]:
    """The licensing portal's roles, and a support desk granted at the organization
    that sees entitlements everywhere below it (as far as the account rules let it)."""
    desk = Role(
        "support_desk",
        "Support desk",
        {ENTITLEMENTS: "view"},
        frozenset({"organization"}),
        reaches_descendants=True,
    )
    return {**licensing.roles_by_key, desk.key: desk}


def derive(
    tree: ScopeTree, roles: dict[str, Role], accounts: list[str], grants: list[tuple[str, str]]
) -> UserAssignments:
    return derive_user_assignments(
        "u",
        tree=tree,
        roles=roles,
        user_type=UserType.CUSTOMER,
        direct=[
            Assignment("u", role, scope, AssignmentSource.DIRECT, assignment_id=f"a-{i}")
            for i, (role, scope) in enumerate(grants)
        ],
        direct_accounts=[AccountRequest.direct(a, None, f"acct-{a}") for a in accounts],
    )


def compute(
    derived: UserAssignments, roles: dict[str, Role], licensing: Catalog, tree: ScopeTree
) -> EffectivePermissions:
    return compute_effective_permissions(
        derived.assignments,
        roles,
        licensing.areas_by_key,
        tree,
        accounts=derived.account_ids,
    )


def seen(perms: EffectivePermissions, tree: ScopeTree) -> set[str]:
    """Where the user sees entitlements, asked as an app asks: with ancestor id chains."""
    return {
        s.id for s in tree if perms.allows(s.id, ENTITLEMENTS, "view", list(tree.ancestors(s.id)))
    }


# -- grants inside accounts ------------------------------------------------------------


def test_a_grant_at_an_account_the_user_is_not_in_grants_nothing_and_is_a_listed_conflict(
    holdings: ScopeTree, roles: dict[str, Role], licensing: Catalog
):
    """Seed 001: what a user sees "is dependent on the permissions granted them and their
    location in the hierarchy": portal_user at Acme East, without membership, is nothing."""
    derived = derive(holdings, roles, [], [("portal_user", "east")])
    perms = compute(derived, roles, licensing, holdings)

    assert derived.assignments == ()
    (refused,) = derived.refused
    assert refused.assignment.role_key == "portal_user"
    conflict = refused.conflict
    assert (conflict.rule, conflict.account_id, conflict.origin) == (
        ConflictRule.NOT_A_MEMBER,
        "east",
        "direct",
    )
    assert conflict.via == Origin.direct("a-0")
    assert (conflict.role_key, conflict.scope_id) == ("portal_user", "east")
    assert "'Acme East'" in conflict.message
    assert derived.conflicts == (conflict,)
    assert not perms


def test_membership_of_an_account_above_covers_every_account_and_scope_below_it(
    holdings: ScopeTree, roles: dict[str, Role], licensing: Catalog
):
    """Seed 001: User A "can see all the entitlements associated with the Acme
    Massachusetts account and its sub-accounts": a member of Massachusetts is covered at
    Boston and at a workspace inside it, not at Acme East above it."""
    derived = derive(
        holdings,
        roles,
        ["ma"],
        [("portal_user", "boston"), ("portal_user", "boston-ws"), ("portal_user", "east")],
    )

    assert {a.scope_id for a in derived.assignments} == {"boston", "boston-ws"}
    assert [(c.account_id, c.scope_id) for c in derived.conflicts] == [("east", "east")]


def test_a_grant_inside_an_account_names_the_nearest_account_the_user_would_need(
    holdings: ScopeTree, roles: dict[str, Role]
):
    derived = derive(holdings, roles, ["special"], [("portal_user", "boston-ws")])

    (conflict,) = derived.conflicts
    assert (conflict.account_id, conflict.scope_id) == ("boston", "boston-ws")


def test_a_mapped_grant_without_membership_names_the_mapping_and_its_group(
    holdings: ScopeTree, roles: dict[str, Role]
):
    derived = derive_user_assignments(
        "u",
        tree=holdings,
        roles=roles,
        direct_group_ids=["g-team"],
        graph=GroupGraph([("g-team", "g-east")]),
        groups={"g-east": GroupRecord("g-east", "East Viewers")},
        mappings=[
            Mapping("m-east", GroupRef(GroupRefKind.ID, "g-east"), "portal_user", "east"),
        ],
    )

    (conflict,) = derived.conflicts
    assert (conflict.rule, conflict.origin) == (ConflictRule.NOT_A_MEMBER, "m-east")
    assert conflict.via == Origin.mapping("m-east", "g-east", "East Viewers")
    assert conflict.to_dict()["origin_detail"] == {
        "source": "mapping",
        "assignment_id": None,
        "mapping_id": "m-east",
        "group_id": "g-east",
        "group_name": "East Viewers",
    }


def test_the_default_role_lands_only_where_a_grant_took_effect(
    holdings: ScopeTree, roles: dict[str, Role]
):
    view = Role("view", "View", {ENTITLEMENTS: "view"})
    derived = derive_user_assignments(
        "u",
        tree=holdings,
        roles={**roles, "view": view},
        direct=[Assignment("u", "portal_user", "east"), Assignment("u", "portal_user", "special")],
        direct_accounts=[AccountRequest("special")],
        default_roles=["view"],
    )

    assert {(a.role_key, a.scope_id) for a in derived.assignments} == {
        ("portal_user", "special"),
        ("view", "special"),
    }


def test_a_direct_grant_whose_own_membership_was_refused_is_withheld_with_that_conflict(
    holdings: ScopeTree, roles: dict[str, Role]
):
    """Seed 001: "User B can not be assigned to Acme Massachusetts ... because they are all
    in the same vertical hierarchy": the role that came with that assignment goes too."""
    derived = derive_user_assignments(
        "u",
        tree=holdings,
        roles=roles,
        user_type=UserType.CUSTOMER,
        direct=[
            Assignment("u", "portal_user", "boston", assignment_id="a-boston"),
            Assignment("u", "portal_administrative_user", "ma", assignment_id="a-ma"),
        ],
        direct_accounts=[
            AccountRequest.direct("boston", datetime(2024, 1, 1, tzinfo=UTC), "a-boston"),
            AccountRequest.direct("ma", datetime(2024, 2, 1, tzinfo=UTC), "a-ma"),
        ],
    )

    (refused,) = derived.refused
    assert refused.assignment.assignment_id == "a-ma"
    assert refused.conflict.rule is ConflictRule.SAME_VERTICAL_HIERARCHY
    assert refused.conflict.blocking_via == Origin.direct("a-boston")
    assert derived.conflicts == (refused.conflict,)


# -- grants reaching into accounts from above ------------------------------------------


def test_user_b_sees_boston_and_special_operations_through_a_grant_from_above(
    holdings: ScopeTree, roles: dict[str, Role], licensing: Catalog
):
    """Seed 001: "User B can only see the entitlements in the Acme Boston and Special
    Operations accounts": a support desk role at the organization reaches B's two
    accounts and stops at every other one."""
    derived = derive(
        holdings,
        roles,
        ["boston", "special"],
        [("portal_user", "boston"), ("portal_user", "special"), ("support_desk", "org")],
    )
    perms = compute(derived, roles, licensing, holdings)

    assert derived.conflicts == ()
    assert perms.fences == {"na"}
    assert seen(perms, holdings) == {"org", "special", "boston", "boston-ws"}
    assert perms.scopes_allowing(ENTITLEMENTS, "view", holdings) == {
        "org",
        "special",
        "boston",
        "boston-ws",
    }
    assert perms.for_scope("ny", holdings) == {}
    assert perms.for_scope("boston-ws", holdings) == {ENTITLEMENTS: "view"}


def test_user_a_sees_massachusetts_its_sub_accounts_and_new_york_and_no_more(
    holdings: ScopeTree, roles: dict[str, Role], licensing: Catalog
):
    """Seed 001: User A "can see all the entitlements associated with the Acme Massachusetts
    account and its sub-accounts as well as Acme New York", also with a grant from above."""
    derived = derive(
        holdings,
        roles,
        ["ma", "ny"],
        [
            ("portal_administrative_user", "ma"),
            ("portal_administrative_user", "ny"),
            ("support_desk", "org"),
        ],
    )
    perms = compute(derived, roles, licensing, holdings)

    assert perms.fences == {"na", "special"}
    assert seen(perms, holdings) == {"org", "ma", "boston", "boston-ws", "ny"}
    chain = list(holdings.ancestors("boston"))
    assert perms.level_at("boston", ENTITLEMENTS, chain) == "manage"
    assert perms.level_at("east", ENTITLEMENTS, list(holdings.ancestors("east"))) is None


def test_a_grant_from_above_only_reaches_non_account_scopes_for_a_user_in_no_account(
    holdings: ScopeTree, roles: dict[str, Role], licensing: Catalog
):
    derived = derive(holdings, roles, [], [("support_desk", "org")])
    perms = compute(derived, roles, licensing, holdings)

    assert perms.fences == {"na", "special"}
    assert seen(perms, holdings) == {"org"}


def test_an_app_reading_the_cached_json_gets_the_same_answers(
    holdings: ScopeTree, roles: dict[str, Role], licensing: Catalog
):
    """What apps read is the set's JSON and the scope's ancestor ids: fences included, the
    answers are the computed set's, also when only the scopes of one check are read."""
    derived = derive(
        holdings,
        roles,
        ["boston", "special"],
        [("portal_user", "boston"), ("support_desk", "org")],
    )
    perms = compute(derived, roles, licensing, holdings)

    data = json.loads(json.dumps(perms.to_dict()))
    assert data["fences"] == ["na"]
    for scope in holdings:
        chain = list(holdings.ancestors(scope.id))
        read = EffectivePermissions.from_dict(data, {scope.id, *chain})
        assert read.level_at(scope.id, ENTITLEMENTS, chain) == perms.level_at(
            scope.id, ENTITLEMENTS, holdings
        )
        assert read.for_scope(scope.id, chain) == perms.for_scope(scope.id, holdings)


def test_a_tenant_without_accounts_has_no_fences_in_its_sets():
    tree = ScopeTree([Scope("org", "organization", "Org"), Scope("ws", "workspace", "WS", "org")])
    area = PermissionArea("reports", "Reports", ("view", "edit"))
    viewer = Role("viewer", "Viewer", {"reports": "view"}, reaches_descendants=True)

    perms = compute_effective_permissions(
        [Assignment("u", "viewer", "org")], {"viewer": viewer}, {"reports": area}, tree
    )

    assert "fences" not in perms.to_dict()
    assert perms.allows("ws", "reports", "view", ["org"])


def test_a_fence_list_that_is_not_a_list_is_refused_when_read():
    with pytest.raises(ValidationFailed, match="fences"):
        EffectivePermissions.from_dict({"areas": {}, "scopes": {}, "fences": "na"})


# -- explain agrees -------------------------------------------------------------------------


def why(
    derived: UserAssignments,
    roles: dict[str, Role],
    licensing: Catalog,
    tree: ScopeTree,
    level: str,
    scope_id: str,
) -> Explanation:
    return explain(
        "u",
        ENTITLEMENTS,
        level,
        scope_id,
        assignments=derived.assignments,
        roles=roles,
        areas=licensing.areas_by_key,
        tree=tree,
        refused=derived.refused,
        accounts=derived.account_ids,
    )


@pytest.mark.parametrize(
    ("accounts", "grants"),
    [
        (["boston", "special"], [("portal_user", "boston"), ("support_desk", "org")]),
        (["ma", "ny"], [("portal_administrative_user", "ma"), ("support_desk", "org")]),
        ([], [("support_desk", "org"), ("portal_user", "east")]),
    ],
)
def test_explain_agrees_with_the_set_on_every_scope_and_level(
    holdings: ScopeTree,
    roles: dict[str, Role],
    licensing: Catalog,
    accounts: list[str],
    grants: list[tuple[str, str]],
):
    derived = derive(holdings, roles, accounts, grants)
    perms = compute(derived, roles, licensing, holdings)

    for scope in holdings:
        for level in licensing.areas_by_key[ENTITLEMENTS].levels:
            answer = why(derived, roles, licensing, holdings, level, scope.id)
            assert answer.effective_level == perms.level_at(scope.id, ENTITLEMENTS, holdings)
            assert answer.allowed == perms.allows(scope.id, ENTITLEMENTS, level, holdings)


def test_explain_says_where_a_grant_from_above_stops(
    holdings: ScopeTree, roles: dict[str, Role], licensing: Catalog
):
    derived = derive(holdings, roles, ["boston"], [("support_desk", "org")])

    answer = why(derived, roles, licensing, holdings, "view", "ny")

    assert answer.outcome is Outcome.REFUSED_BY_ACCOUNT_CONFLICT
    (refused,) = answer.refused
    assert (refused.chain.role_key, refused.chain.granted_at) == ("support_desk", "org")
    assert (refused.conflict.rule, refused.conflict.account_id) == (
        ConflictRule.NOT_A_MEMBER,
        "na",
    )
    assert "Acme North America" in answer.summary


# -- no silent eviction ----------------------------------------------------------------------


def boston_from_the_idp() -> AccountRequest:
    return AccountRequest(
        "boston", "m-boston", None, Origin.mapping("m-boston", "g-boston", "Boston Users")
    )


def test_a_direct_request_that_would_evict_an_account_from_the_idp_clashes_with_it(
    holdings: ScopeTree,
):
    """Seed 001: "User B can not be assigned to Acme Massachusetts ... same vertical
    hierarchy", whatever the origin of B's Boston."""
    clash = account_clash(
        UserType.CUSTOMER, [boston_from_the_idp()], AccountRequest.direct("ma"), holdings
    )

    assert clash is not None
    assert clash.rule is ConflictRule.SAME_VERTICAL_HIERARCHY
    assert (clash.account_id, clash.blocking_account_id) == ("ma", "boston")
    assert clash.blocking_via == Origin.mapping("m-boston", "g-boston", "Boston Users")
    assert "mapping m-boston (group 'Boston Users')" in clash.message


def test_a_direct_request_refused_itself_names_the_direct_assignment_it_meets(
    holdings: ScopeTree,
):
    held = [AccountRequest.direct("boston", datetime(2024, 1, 1, tzinfo=UTC), "a-boston")]

    clash = account_clash(UserType.CUSTOMER, held, AccountRequest.direct("east"), holdings)

    assert clash is not None
    assert clash.blocking_via == Origin.direct("a-boston")
    assert "direct assignment a-boston" in clash.message


@pytest.mark.parametrize("account", ["special", "boston"])
def test_a_request_beside_or_equal_to_what_is_held_is_no_clash(holdings: ScopeTree, account: str):
    """Seed 001: "User B can be assigned to Special Operations because it is not a
    sub-account of Acme North America"; and asking again for Boston changes nothing."""
    clash = account_clash(
        UserType.CUSTOMER, [boston_from_the_idp()], AccountRequest.direct(account), holdings
    )

    assert clash is None


def test_a_mapped_request_begins_when_its_mapping_and_its_groups_all_exist():
    """A mapping made in January for a group the IdP pushed in June asks from June on."""
    january = datetime(2024, 1, 1, tzinfo=UTC)
    june = datetime(2024, 6, 1, tzinfo=UTC)

    (request,) = mapped_account_requests(
        direct_group_ids=["g-boston"],
        groups={"g-boston": GroupRecord("g-boston", "Boston Users")},
        graph=GroupGraph(),
        mappings=[
            Mapping(
                "m-boston",
                GroupRef(GroupRefKind.DISPLAY_NAME, "boston users"),
                "portal_user",
                "boston",
                assign_account=True,
            )
        ],
        mapping_since={"m-boston": january},
        group_since={"g-boston": june},
    )

    assert request.since == june.replace(tzinfo=None)
    assert request.via == Origin.mapping("m-boston", "g-boston", "Boston Users")


def test_explain_names_the_default_role_when_it_stops_at_an_account(
    holdings: ScopeTree, roles: dict[str, Role], licensing: Catalog
):
    """Seed 003's default "applies to any User when invited", at the organization here;
    seed 001 still stops it at Acme North America, which the user is not in."""
    everywhere = Role("everywhere", "Everywhere", {ENTITLEMENTS: "view"}, reaches_descendants=True)
    all_roles = {**roles, everywhere.key: everywhere}
    derived = derive_user_assignments(
        "u",
        tree=holdings,
        roles=all_roles,
        direct=[Assignment("u", "support_desk", "org")],
        default_roles=["everywhere"],
    )

    answer = why(derived, all_roles, licensing, holdings, "view", "ny")

    assert answer.allowed is False
    origins = {(r.chain.source, r.conflict.origin) for r in answer.refused}
    assert origins == {(AssignmentSource.DIRECT, "direct"), (AssignmentSource.DEFAULT, "default")}
    assert "default role" in answer.summary
