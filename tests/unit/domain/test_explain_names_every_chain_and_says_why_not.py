"""Explain: every chain that grants, and the nearest miss when nothing does."""

from __future__ import annotations

import pytest

from service.domain import (
    AccountRequest,
    AccountType,
    Assignment,
    AssignmentSource,
    ConflictRule,
    GroupGraph,
    GroupRecord,
    GroupRef,
    GroupRefKind,
    Mapping,
    NotFound,
    Outcome,
    PermissionArea,
    Role,
    Scope,
    ScopeTree,
    UserType,
    ValidationFailed,
    compute_effective_permissions,
    derive_user_assignments,
    explain,
)

AREAS = {"licenses": PermissionArea("licenses", "Licenses", ("view", "manage", "delete"))}
ROLES = {
    "viewer": Role("viewer", "Viewer", {"licenses": "view"}, reaches_descendants=True),
    "manager": Role("manager", "Manager", {"licenses": "manage"}, reaches_descendants=True),
    "local_manager": Role("local_manager", "Local manager", {"licenses": "manage"}),
}


@pytest.fixture
def tree() -> ScopeTree:
    return ScopeTree(
        [
            Scope("org", "organization", "Org"),
            Scope("east", "account", "East", "org", AccountType.CUSTOMER),
            Scope("boston", "account", "Boston", "east", AccountType.CUSTOMER),
        ]
    )


def derive(tree: ScopeTree, **kwargs):
    """The user belongs to East (so to Boston below it), unless a test says otherwise:
    seed 001's grants at accounts hold for their members."""
    kwargs.setdefault("direct_accounts", [AccountRequest("east")])
    return derive_user_assignments("u", tree=tree, roles=ROLES, **kwargs)


def ask(tree, derived, level, scope="boston", area="licenses"):
    return explain(
        "u",
        area,
        level,
        scope,
        assignments=derived.assignments,
        roles=ROLES,
        areas=AREAS,
        tree=tree,
        refused=derived.refused,
        group_names={"g-team": "Team", "g-eng": "Engineering"},
        accounts=derived.account_ids,
    )


def test_every_granting_chain_is_named_with_its_group_path(tree: ScopeTree):
    derived = derive(
        tree,
        direct_group_ids=["g-team"],
        graph=GroupGraph([("g-team", "g-eng")]),
        groups={"g-eng": GroupRecord("g-eng", "Engineering")},
        mappings=[
            Mapping("m1", GroupRef(GroupRefKind.DISPLAY_NAME, "engineering"), "manager", "org")
        ],
        direct=[Assignment("u", "viewer", "boston")],
    )

    answer = ask(tree, derived, "view")

    assert answer.allowed
    assert answer.effective_level == "manage"
    assert [(c.source, c.role_key, c.granted_at, c.inherited) for c in answer.granting] == [
        (AssignmentSource.DIRECT, "viewer", "boston", False),
        (AssignmentSource.MAPPING, "manager", "org", True),
    ]
    assert answer.granting[1].via_groups == ("g-team", "g-eng")
    assert answer.granting[1].mapping_id == "m1"
    assert (
        "group 'Team' -> group 'Engineering' -> mapping 'm1' -> role 'Manager' (manage)"
        " -> at Org (inherited)" in answer.summary
    )


def test_why_not_names_the_best_lower_level_that_reaches(tree: ScopeTree):
    derived = derive(tree, direct=[Assignment("u", "viewer", "org")])

    answer = ask(tree, derived, "delete")

    assert answer.outcome is Outcome.LEVEL_TOO_LOW
    assert answer.effective_level == "view"
    assert [c.role_key for c in answer.weaker] == ["viewer"]
    assert "the best level reaching it is 'view'" in answer.summary


def test_why_not_says_when_no_assignment_reaches_and_points_at_one_that_stops_above(
    tree: ScopeTree,
):
    derived = derive(tree, direct=[Assignment("u", "local_manager", "east")])

    answer = ask(tree, derived, "view")

    assert answer.outcome is Outcome.NO_ASSIGNMENT_REACHES_SCOPE
    assert answer.effective_level is None
    assert [(c.role_key, c.granted_at) for c in answer.not_reaching] == [("local_manager", "east")]
    assert "granted above but not inherited" in answer.summary


def test_why_not_names_a_role_refused_by_an_account_conflict(tree: ScopeTree):
    # The user was placed in Boston directly, so East (its parent) is refused.
    derived = derive_user_assignments(
        "u",
        tree=tree,
        roles=ROLES,
        user_type=UserType.CUSTOMER,
        direct_group_ids=["g-team"],
        mappings=[
            Mapping(
                "m-east",
                GroupRef(GroupRefKind.ID, "g-team"),
                "manager",
                "east",
                assign_account=True,
            )
        ],
        direct_accounts=[AccountRequest("boston")],
        direct=[Assignment("u", "viewer", "boston")],
    )

    answer = ask(tree, derived, "manage")

    assert answer.outcome is Outcome.REFUSED_BY_ACCOUNT_CONFLICT
    (refused,) = answer.refused
    assert refused.chain.mapping_id == "m-east"
    assert refused.conflict.rule is ConflictRule.SAME_VERTICAL_HIERARCHY
    assert "same vertical hierarchy" in answer.summary


def test_explain_agrees_with_the_computed_set_on_every_scope_and_level(tree: ScopeTree):
    derived = derive(
        tree,
        direct=[Assignment("u", "viewer", "org"), Assignment("u", "local_manager", "east")],
    )
    perms = compute_effective_permissions(
        derived.assignments, ROLES, AREAS, tree, accounts=derived.account_ids
    )

    for scope in tree:
        for level in AREAS["licenses"].levels:
            answer = ask(tree, derived, level, scope.id)
            assert answer.effective_level == perms.level_at(scope.id, "licenses", tree)
            assert answer.allowed == perms.allows(scope.id, "licenses", level, tree)


def test_explain_refuses_unknown_areas_levels_and_scopes(tree: ScopeTree):
    derived = derive(tree)

    with pytest.raises(ValidationFailed) as area:
        ask(tree, derived, "view", area="nope")
    with pytest.raises(ValidationFailed) as level:
        ask(tree, derived, "admin")
    with pytest.raises(NotFound) as scope:
        ask(tree, derived, "view", scope="nowhere")

    assert (area.value.field, level.value.field, scope.value.field) == ("area", "level", "scope")


def test_an_explanation_serialises_for_the_api(tree: ScopeTree):
    derived = derive(tree, direct=[Assignment("u", "viewer", "org")])

    data = ask(tree, derived, "view").to_dict()

    assert data["allowed"] is True
    assert data["outcome"] == "granted"
    assert data["granting"][0]["granted_at"] == "org"
