"""Seed 004: groups as roles with per-area levels, in a root workspace."""

from __future__ import annotations

import pytest

from service.domain import (
    Catalog,
    GroupRecord,
    GroupRef,
    GroupRefKind,
    Mapping,
    Scope,
    ScopeTree,
    ValidationFailed,
    compute_effective_permissions,
    derive_user_assignments,
)

# Straight from the seed; None is "No access".
CREATOR = {
    "workspaces": "View",
    "user_management": None,
    "datastreams": "View and manage",
    "datastream_templates": "View and manage",
    "authorizations": "View and manage",
    "transformations": "View and manage",
    "mapping_tables": "View and manage",
    "value_tables": "View and manage",
    "data_dictionary": "View and manage",
    "data_explorer": "Analyze data and add widgets to dashboards",
    "dashboards": "View and manage user's own dashboards",
    "destinations": "View and manage",
    "notifications": None,
    "data_conversations": None,
}
VIEWER = {
    "workspaces": "View",
    "user_management": None,
    "datastreams": "View",
    "datastream_templates": "View",
    "authorizations": "View",
    "transformations": "View",
    "mapping_tables": "View",
    "value_tables": "View",
    "data_dictionary": "View",
    "data_explorer": "Analyze data",
    "dashboards": "View",
    "destinations": "View",
    "notifications": None,
    "data_conversations": None,
}


@pytest.fixture
def tree() -> ScopeTree:
    return ScopeTree(
        [
            Scope("root", "workspace", "Root workspace"),
            Scope("marketing", "workspace", "Marketing", "root"),
        ]
    )


def levels_through_group(catalog: Catalog, tree: ScopeTree, group: str, at: str, scope: str):
    """Every area's level at ``scope`` for a user whose only group maps to ``group``."""
    role_key = next(r.key for r in catalog.roles if r.name == group)
    derived = derive_user_assignments(
        "user",
        tree=tree,
        roles=catalog.roles_by_key,
        direct_group_ids=["g1"],
        groups={"g1": GroupRecord("g1", f"Adverity {group}")},
        mappings=[Mapping("m1", GroupRef(GroupRefKind.ID, "g1"), role_key, at)],
    )
    perms = compute_effective_permissions(
        derived.assignments, catalog.roles_by_key, catalog.areas_by_key, tree
    )
    return {area.key: perms.level_at(scope, area.key, tree) for area in catalog.areas}


def test_creator_has_the_seed_s_level_in_every_area(data_platform: Catalog, tree: ScopeTree):
    assert levels_through_group(data_platform, tree, "Creator", "root", "root") == CREATOR


def test_viewer_has_the_seed_s_level_in_every_area(data_platform: Catalog, tree: ScopeTree):
    assert levels_through_group(data_platform, tree, "Viewer", "root", "root") == VIEWER


def test_creator_holds_at_least_viewer_s_level_in_every_area_and_more_in_most(
    data_platform: Catalog, tree: ScopeTree
):
    creator = levels_through_group(data_platform, tree, "Creator", "root", "root")
    viewer = levels_through_group(data_platform, tree, "Viewer", "root", "root")
    higher = []
    for area in data_platform.areas:
        c, v = creator[area.key], viewer[area.key]
        if v is not None:
            assert c is not None and area.implies(c, v), area.key
        if c is not None and (v is None or not area.implies(v, c)):
            higher.append(area.key)

    assert higher == [
        "datastreams",
        "datastream_templates",
        "authorizations",
        "transformations",
        "mapping_tables",
        "value_tables",
        "data_dictionary",
        "data_explorer",
        "dashboards",
        "destinations",
    ]


def test_a_group_in_the_root_workspace_also_holds_in_child_workspaces(
    data_platform: Catalog, tree: ScopeTree
):
    assert levels_through_group(data_platform, tree, "Viewer", "root", "marketing") == VIEWER


def test_levels_are_ordered_as_the_seed_lists_them(data_platform: Catalog):
    areas = data_platform.areas_by_key

    assert areas["data_dictionary"].levels == (
        "View",
        "View and manage",
        "View, manage, and delete",
    )
    assert areas["dashboards"].implies("View and manage all dashboards", "View")
    assert not areas["data_explorer"].implies(
        "Analyze data", "Analyze data and add widgets to dashboards"
    )


def test_no_access_is_the_absence_of_a_grant(data_platform: Catalog):
    conversations = data_platform.roles_by_key["conversations_manager"]

    assert "No access" not in {lv for a in data_platform.areas for lv in a.levels}
    assert set(conversations.grants) == {"workspaces", "data_dictionary", "data_conversations"}


def test_only_the_root_workspace_admin_may_delete_from_the_data_dictionary(
    data_platform: Catalog, tree: ScopeTree
):
    root_admin = levels_through_group(
        data_platform, tree, "Administrator in root workspace", "root", "root"
    )
    admin = levels_through_group(data_platform, tree, "Administrator", "root", "root")

    assert root_admin["data_dictionary"] == "View, manage, and delete"
    assert admin["data_dictionary"] == "View and manage"


def test_the_root_workspace_administrator_cannot_be_granted_in_a_child_workspace(
    data_platform: Catalog, tree: ScopeTree
):
    role = data_platform.roles_by_key["administrator_in_root_workspace"]

    with pytest.raises(ValidationFailed) as err:
        role.check_grantable_at(tree.get("marketing"), tree)
    assert err.value.code == "root_only"


def test_all_nine_groups_are_roles(data_platform: Catalog):
    assert [r.name for r in data_platform.roles] == [
        "Administrator in root workspace",
        "Administrator",
        "Creator",
        "Datastream manager",
        "Mapping table manager",
        "Dashboard manager",
        "Notifications administrator",
        "Conversations manager",
        "Viewer",
    ]
