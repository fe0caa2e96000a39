"""Seed 003: View, Edit, Share and Manage, granted at organization, folder or report."""

from __future__ import annotations

import pytest

from service.domain import (
    Assignment,
    AssignmentSource,
    Catalog,
    EffectivePermissions,
    Scope,
    ScopeTree,
    ValidationFailed,
    compute_effective_permissions,
    derive_user_assignments,
)

RIGHTS = ("view", "edit", "share", "manage")


@pytest.fixture
def tree() -> ScopeTree:
    return ScopeTree(
        [
            Scope("org", "organization", "Reeport Org"),
            Scope("folder-1", "folder", "Folder 1", "org"),
            Scope("folder-2", "folder", "Folder 2", "org"),
            Scope("report-1", "report", "Report 1", "folder-1"),
            Scope("report-2", "report", "Report 2", "folder-2"),
        ]
    )


def invite(reporting: Catalog, tree: ScopeTree, *grants: tuple[str, str]) -> EffectivePermissions:
    """Direct assignments as an invitation makes them, plus the reporting product's default role."""
    derived = derive_user_assignments(
        "user",
        tree=tree,
        roles=reporting.roles_by_key,
        direct=[Assignment("user", role, scope) for role, scope in grants],
        default_roles=[reporting.default_role],
    )
    return compute_effective_permissions(
        derived.assignments, reporting.roles_by_key, reporting.areas_by_key, tree
    )


def rights_at(perms: EffectivePermissions, scope_id: str, tree: ScopeTree) -> set[str]:
    return {r for r in RIGHTS if perms.allows(scope_id, r, "granted", tree)}


def test_view_is_the_reporting_products_default_role(reporting: Catalog):
    assert reporting.default_role == "view"


def test_view_plus_share_for_folder_1_lets_the_user_view_reports_and_manage_broadcasts_there(
    reporting: Catalog, tree: ScopeTree
):
    perms = invite(reporting, tree, ("share", "folder-1"))

    assert rights_at(perms, "folder-1", tree) == {"view", "share"}
    assert rights_at(perms, "report-1", tree) == {"view", "share"}
    assert rights_at(perms, "folder-2", tree) == set()
    assert rights_at(perms, "org", tree) == set()


def test_view_in_folder_1_plus_edit_in_folder_2_keeps_each_right_to_its_folder(
    reporting: Catalog, tree: ScopeTree
):
    perms = invite(reporting, tree, ("view", "folder-1"), ("edit", "folder-2"))

    assert rights_at(perms, "report-1", tree) == {"view"}
    assert "edit" in rights_at(perms, "report-2", tree)
    assert not perms.allows("report-1", "edit", "granted", tree)
    assert rights_at(perms, "org", tree) == set()


def test_manage_for_the_organization_views_every_report_and_manages_users(
    reporting: Catalog, tree: ScopeTree
):
    perms = invite(reporting, tree, ("manage", "org"))

    for scope in tree:
        assert rights_at(perms, scope.id, tree) == {"view", "manage"}, scope.id


def test_the_default_view_is_held_where_the_user_was_invited_and_nowhere_else(
    reporting: Catalog, tree: ScopeTree
):
    derived = derive_user_assignments(
        "user",
        tree=tree,
        roles=reporting.roles_by_key,
        direct=[Assignment("user", "share", "report-2")],
        default_roles=["view"],
    )

    defaults = [a for a in derived.assignments if a.source is AssignmentSource.DEFAULT]
    assert [(a.role_key, a.scope_id) for a in defaults] == [("view", "report-2")]


def test_a_user_with_no_assignment_gets_no_default(reporting: Catalog, tree: ScopeTree):
    derived = derive_user_assignments(
        "user", tree=tree, roles=reporting.roles_by_key, default_roles=["view"]
    )

    assert derived.assignments == ()


def test_rights_inherit_from_organization_to_folder_to_report(reporting: Catalog, tree: ScopeTree):
    perms = invite(reporting, tree, ("edit", "org"))

    assert [perms.allows(s, "edit", "granted", tree) for s in ("folder-1", "report-1")] == [
        True,
        True,
    ]


def test_admin_status_is_granted_only_for_the_organization(reporting: Catalog, tree: ScopeTree):
    admin = reporting.roles_by_key["admin"]

    admin.check_grantable_at(tree.get("org"), tree)
    with pytest.raises(ValidationFailed) as err:
        admin.check_grantable_at(tree.get("folder-1"), tree)
    assert err.value.code == "scope_type_not_allowed"
