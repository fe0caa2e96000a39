"""Seed 004: "The Administrator in root workspace role refers to a user who is assigned to
the Administrator group in your root workspace (the top-level workspace in your
organization)."

A role marked ``root_only`` may be granted only at the root scope of its product: a scope
with no ancestor of a type the role may be granted at. For a workspace role that is the
top-level workspace, even when an organization sits above it; for a role allowed at any
type, a scope without a parent. Granting, computing, defaults and explain share the rule.
"""

from __future__ import annotations

import pytest

from service.domain import (
    Assignment,
    AssignmentSource,
    PermissionArea,
    Role,
    Scope,
    ScopeTree,
    ValidationFailed,
    check_grantable,
    compute_effective_permissions,
    derive_user_assignments,
    explain,
)

AREAS = {"api_keys": PermissionArea("api_keys", "Management API keys", ("generate",))}
WORKSPACE_ROOT_ADMIN = Role(
    "root_admin",
    "Administrator in root workspace",
    {"api_keys": "generate"},
    frozenset({"workspace"}),
    root_only=True,
)
ROLES = {WORKSPACE_ROOT_ADMIN.key: WORKSPACE_ROOT_ADMIN}


@pytest.fixture
def tree() -> ScopeTree:
    """An organization above the root workspace; a folder between two workspaces."""
    return ScopeTree(
        [
            Scope("org", "organization", "Acme"),
            Scope("root", "workspace", "Root workspace", "org"),
            Scope("marketing", "workspace", "Marketing", "root"),
            Scope("reports", "folder", "Reports", "marketing"),
            Scope("emea", "workspace", "EMEA", "reports"),
            Scope("other", "organization", "Other"),
            Scope("elsewhere", "workspace", "Elsewhere", "other"),
        ]
    )


def test_the_top_level_workspace_in_an_organization_is_the_root_workspace(tree: ScopeTree):
    """ "your root workspace (the top-level workspace in your organization)": the
    organization above it is no workspace, so it does not make the workspace a child."""
    assert WORKSPACE_ROOT_ADMIN.is_grantable_at(tree.get("root"), tree)
    assert check_grantable(WORKSPACE_ROOT_ADMIN, "root", tree).id == "root"


@pytest.mark.parametrize("child", ["marketing", "emea"])
def test_a_workspace_below_another_workspace_is_not_the_root(tree: ScopeTree, child: str):
    """ "the Administrator group in your root workspace": not in a child workspace,
    however far below (EMEA sits under a folder of a child workspace)."""
    assert not WORKSPACE_ROOT_ADMIN.is_grantable_at(tree.get(child), tree)
    with pytest.raises(ValidationFailed) as err:
        check_grantable(WORKSPACE_ROOT_ADMIN, child, tree)

    assert (err.value.code, err.value.field) == ("root_only", "scope_id")
    assert "root" in err.value.message and "workspace" in err.value.message


def test_every_organization_has_its_own_root_workspace(tree: ScopeTree):
    """ "the top-level workspace in your organization": each organization's own."""
    assert WORKSPACE_ROOT_ADMIN.is_grantable_at(tree.get("elsewhere"), tree)


def test_a_root_role_allowed_at_every_type_holds_only_at_a_scope_without_parent(
    tree: ScopeTree,
):
    anywhere = Role("top", "Top", root_only=True)

    assert anywhere.is_grantable_at(tree.get("org"), tree)
    assert not anywhere.is_grantable_at(tree.get("root"), tree)


def test_the_root_is_counted_among_the_types_the_role_may_be_granted_at(tree: ScopeTree):
    """Allowed at organizations too, the role's root is the organization, and the
    workspace below it is not a root any more."""
    both = Role("top", "Top", allowed_scope_types=frozenset({"organization", "workspace"}))
    rooted = Role(
        "top", "Top", allowed_scope_types=frozenset({"organization", "workspace"}), root_only=True
    )

    assert both.is_grantable_at(tree.get("root"), tree)
    assert rooted.is_grantable_at(tree.get("org"), tree)
    assert not rooted.is_grantable_at(tree.get("root"), tree)


def test_a_stale_assignment_below_the_root_grants_nothing_and_explain_agrees(tree: ScopeTree):
    """A row written before the scope moved under a workspace gives nothing, and
    "why" says so, from the same rule."""
    at_root = Assignment("u", "root_admin", "root")
    below = Assignment("u", "root_admin", "marketing")

    perms = compute_effective_permissions([at_root, below], ROLES, AREAS, tree)
    why = explain(
        "u",
        "api_keys",
        "generate",
        "marketing",
        assignments=[below],
        roles=ROLES,
        areas=AREAS,
        tree=tree,
    )

    assert perms.level_at("root", "api_keys", tree) == "generate"
    assert perms.level_at("marketing", "api_keys", tree) is None
    assert set(perms.scopes) == {"root"}
    assert not why.allowed and why.granting == () and why.not_reaching == ()


def test_a_root_role_as_default_is_held_only_at_the_root(tree: ScopeTree):
    """The default role is added where the user holds something, if it may be held there."""
    local = Role("member", "Member", {}, frozenset({"workspace"}))

    derived = derive_user_assignments(
        "u",
        tree=tree,
        roles={**ROLES, local.key: local},
        direct=[Assignment("u", "member", "root"), Assignment("u", "member", "marketing")],
        default_roles=["root_admin"],
    )

    defaults = [a.scope_id for a in derived.assignments if a.source is AssignmentSource.DEFAULT]
    assert defaults == ["root"]
