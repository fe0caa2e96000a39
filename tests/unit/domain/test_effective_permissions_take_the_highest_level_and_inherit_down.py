"""Effective permissions: highest level wins, inheritance only where the role reaches."""

from __future__ import annotations

import json

import pytest

from service.domain import (
    AreaGrant,
    Assignment,
    AssignmentSource,
    EffectivePermissions,
    GroupGraph,
    GroupRecord,
    GroupRef,
    GroupRefKind,
    Mapping,
    PermissionArea,
    Role,
    Scope,
    ScopeTree,
    ValidationFailed,
    compute_effective_permissions,
    derive_user_assignments,
)

AREAS = {
    "licenses": PermissionArea("licenses", "Licenses", ("view", "manage", "delete")),
    "billing": PermissionArea("billing", "Billing", ("read_only", "full")),
}
ROLES = {
    "viewer": Role("viewer", "Viewer", {"licenses": "view"}, reaches_descendants=True),
    "manager": Role("manager", "Manager", {"licenses": "manage"}, reaches_descendants=True),
    "local_deleter": Role("local_deleter", "Local deleter", {"licenses": "delete"}),
    "biller": Role("biller", "Biller", {"billing": "full"}, frozenset({"organization"}), True),
}


@pytest.fixture
def tree() -> ScopeTree:
    return ScopeTree(
        [
            Scope("org", "organization", "Org"),
            Scope("ws", "workspace", "WS", "org"),
            Scope("f", "folder", "F", "ws"),
            Scope("other", "workspace", "Other", "org"),
        ]
    )


def mapped(role: str, scope: str, mapping_id: str) -> Mapping:
    return Mapping(mapping_id, GroupRef(GroupRefKind.ID, f"g-{mapping_id}"), role, scope)


def test_the_highest_level_wins_across_groups(tree: ScopeTree):
    derived = derive_user_assignments(
        "u",
        tree=tree,
        roles=ROLES,
        direct_group_ids=["g-m1", "g-m2"],
        mappings=[mapped("viewer", "ws", "m1"), mapped("manager", "ws", "m2")],
    )

    perms = compute_effective_permissions(derived.assignments, ROLES, AREAS, tree)

    assert perms.level_at("ws", "licenses", tree) == "manage"
    assert perms.allows("f", "licenses", "view", tree)
    assert not perms.allows("f", "licenses", "delete", tree)


def test_a_role_that_reaches_descendants_holds_below_and_not_above(tree: ScopeTree):
    perms = compute_effective_permissions([Assignment("u", "viewer", "ws")], ROLES, AREAS, tree)

    assert [perms.level_at(s, "licenses", tree) for s in ("org", "ws", "f", "other")] == [
        None,
        "view",
        "view",
        None,
    ]


def test_a_role_that_does_not_reach_descendants_holds_only_at_its_scope(tree: ScopeTree):
    perms = compute_effective_permissions(
        [Assignment("u", "local_deleter", "ws")], ROLES, AREAS, tree
    )

    assert perms.level_at("ws", "licenses", tree) == "delete"
    assert perms.level_at("f", "licenses", tree) is None


def test_a_local_grant_and_an_inherited_one_at_one_scope_keep_their_own_reach(tree: ScopeTree):
    perms = compute_effective_permissions(
        [Assignment("u", "local_deleter", "ws"), Assignment("u", "viewer", "ws")],
        ROLES,
        AREAS,
        tree,
    )

    assert perms.grants_at("ws")["licenses"] == AreaGrant("delete", True, "view")
    assert perms.level_at("ws", "licenses", tree) == "delete"
    assert perms.level_at("f", "licenses", tree) == "view"


def test_an_inherited_grant_and_a_higher_local_one_lower_down_combine_by_the_max(
    tree: ScopeTree,
):
    perms = compute_effective_permissions(
        [Assignment("u", "manager", "org"), Assignment("u", "viewer", "f")], ROLES, AREAS, tree
    )

    assert perms.level_at("f", "licenses", tree) == "manage"
    assert perms.for_scope("f", tree) == {"licenses": "manage"}


def test_nested_groups_grant_through_every_level_even_in_a_cycle(tree: ScopeTree):
    graph = GroupGraph([("team", "eng"), ("eng", "all"), ("all", "team")])
    mapping = Mapping("m1", GroupRef(GroupRefKind.DISPLAY_NAME, "Everyone"), "manager", "org")

    derived = derive_user_assignments(
        "u",
        tree=tree,
        roles=ROLES,
        direct_group_ids=["team"],
        groups={"all": GroupRecord("all", "everyone")},
        graph=graph,
        mappings=[mapping],
    )
    perms = compute_effective_permissions(derived.assignments, ROLES, AREAS, tree)

    (assignment,) = derived.assignments
    assert assignment.source is AssignmentSource.MAPPING
    assert assignment.via_groups == ("team", "eng", "all")
    assert perms.level_at("f", "licenses", tree) == "manage"


def test_assignments_to_missing_roles_missing_scopes_or_disallowed_types_grant_nothing(
    tree: ScopeTree,
):
    perms = compute_effective_permissions(
        [
            Assignment("u", "deleted_role", "ws"),
            Assignment("u", "viewer", "deleted_scope"),
            Assignment("u", "biller", "ws"),
        ],
        ROLES,
        AREAS,
        tree,
    )

    assert not perms
    assert perms.to_dict() == {"user_id": "u", "areas": {}, "scopes": {}}


def test_a_grant_whose_level_the_area_lost_is_dropped(tree: ScopeTree):
    shrunk = {**AREAS, "licenses": PermissionArea("licenses", "Licenses", ("view",))}

    perms = compute_effective_permissions([Assignment("u", "manager", "ws")], ROLES, shrunk, tree)

    assert perms.level_at("ws", "licenses", tree) is None


def test_lookups_accept_an_ancestor_list_instead_of_the_tree(tree: ScopeTree):
    perms = compute_effective_permissions([Assignment("u", "manager", "org")], ROLES, AREAS, tree)

    assert perms.level_at("f", "licenses", ["ws", "org"]) == "manage"
    assert perms.level_at("f", "licenses", []) is None


def test_asking_for_a_level_the_area_lacks_is_an_error_not_a_no(tree: ScopeTree):
    perms = compute_effective_permissions([Assignment("u", "viewer", "ws")], ROLES, AREAS, tree)

    with pytest.raises(ValidationFailed) as err:
        perms.allows("ws", "licenses", "admin", tree)
    assert err.value.field == "level"
    assert perms.allows("ws", "billing", "full", tree) is False


def test_the_cached_form_is_compact_json_that_round_trips(tree: ScopeTree):
    perms = compute_effective_permissions(
        [
            Assignment("u", "viewer", "ws"),
            Assignment("u", "local_deleter", "ws"),
            Assignment("u", "biller", "org"),
        ],
        ROLES,
        AREAS,
        tree,
    )

    data = perms.to_dict()
    again = EffectivePermissions.from_dict(json.loads(json.dumps(data)))

    assert data == {
        "user_id": "u",
        "areas": {"billing": ["read_only", "full"], "licenses": ["view", "manage", "delete"]},
        "scopes": {
            "org": {"billing": {"level": "full", "inherits": True}},
            "ws": {"licenses": {"level": "delete", "inherits": True, "inherited_level": "view"}},
        },
    }
    assert again == perms
    assert again.for_scope("f", tree) == {"billing": "full", "licenses": "view"}


def test_reading_only_the_checked_scopes_answers_checks_there_alike(tree: ScopeTree):
    perms = compute_effective_permissions(
        [Assignment("u", "viewer", "ws"), Assignment("u", "biller", "org")], ROLES, AREAS, tree
    )
    data = json.loads(json.dumps(perms.to_dict()))
    chain = tree.ancestors("f")

    partial = EffectivePermissions.from_dict(data, {"f", *chain})

    assert set(partial.scopes) == {"org", "ws"} & {"f", *chain}
    assert partial.for_scope("f", chain) == perms.for_scope("f", chain)
    assert EffectivePermissions.from_dict(data, {"elsewhere"}).scopes == {}


def test_a_cached_set_that_names_an_unlisted_level_is_refused():
    with pytest.raises(ValidationFailed):
        EffectivePermissions.from_dict(
            {"areas": {"a": ["x"]}, "scopes": {"s": {"a": {"level": "y"}}}}
        )


def test_a_grant_at_the_top_of_ten_thousand_scopes_costs_one_entry():
    scopes = [Scope("s0", "organization", "Root")]
    scopes += [Scope(f"s{i}", "folder", f"F{i}", f"s{(i - 1) // 10}") for i in range(1, 10_000)]
    tree = ScopeTree(scopes)

    perms = compute_effective_permissions([Assignment("u", "viewer", "s0")], ROLES, AREAS, tree)

    assert list(perms.scopes) == ["s0"]
    assert perms.level_at("s9999", "licenses", tree) == "view"
    assert len(perms.scopes_allowing("licenses", "view", tree)) == 10_000
