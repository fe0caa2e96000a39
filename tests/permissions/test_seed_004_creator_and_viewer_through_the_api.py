"""Seed 004 end to end: permissions only through groups; Creator vs Viewer on every area."""

from __future__ import annotations

import pytest

from tests.permissions.conftest import Admin, Directory
from tests.unit.domain.test_seed_004_creator_and_viewer_differ_per_area import CREATOR, VIEWER


@pytest.fixture
def workspaces(admin: Admin, directory: Directory) -> tuple[str, str]:
    admin.load("data-platform")
    root = admin.scope("workspace", "Root workspace")
    marketing = admin.scope("workspace", "Marketing", root)
    creator = directory.user("creator@example.com")
    viewer = directory.user("viewer@example.com")
    directory.group("Adverity Creators", external_id="grp-creators", users=[creator])
    directory.group("Adverity Viewers", users=[viewer])
    admin.map("grp-creators", "creator", root, kind="externalId")
    admin.map("adverity viewers", "viewer", root)
    return root, marketing


def expected(levels: dict[str, str | None]) -> dict[str, str]:
    return {area: level for area, level in levels.items() if level is not None}


@pytest.mark.parametrize("where", [0, 1], ids=["root", "child workspace"])
def test_creator_and_viewer_hold_the_seed_s_level_in_every_area(
    admin: Admin, workspaces: tuple[str, str], where: int
) -> None:
    """Seed 004, "User permissions associated with each group": the "Creator" row
    ("Workspaces: View", "User management: No access", "Datastreams: View and manage" ...)
    and the "Viewer" row ("Workspaces: View", "User management: No access", "Datastreams:
    View" ...), area by area, "No access" being no grant; each group mapped in the root
    workspace (one by externalId, one by displayName) gives its row there and in a child
    workspace."""
    scope = workspaces[where]

    assert admin.at("creator@example.com", scope) == expected(CREATOR)
    assert admin.at("viewer@example.com", scope) == expected(VIEWER)


def test_explain_names_the_group_and_mapping_and_says_why_the_viewer_cannot_manage(
    admin: Admin, workspaces: tuple[str, str]
) -> None:
    """Seed 004: "In Adverity, user permissions are controlled by the groups to which a
    user is assigned.": explain names the group and the mapping a permission comes
    from, and why the Viewer's group gives "View" and not "View and manage"."""
    root, marketing = workspaces

    granted = admin.explain("creator@example.com", "datastreams", "View and manage", marketing)
    denied = admin.explain("viewer@example.com", "datastreams", "View and manage", marketing)

    assert granted["allowed"] is True
    assert "Adverity Creators" in granted["summary"]
    assert granted["granting"][0]["role_key"] == "creator"
    assert granted["granting"][0]["granted_at"] == root
    assert denied["outcome"] == "level_too_low"
    assert denied["effective_level"] == "View"


def test_a_user_in_no_group_has_nothing(admin: Admin, directory: Directory, workspaces) -> None:
    """Seed 004: "In Adverity, user permissions are controlled by the groups to which a
    user is assigned.": a user in no group holds nothing."""
    directory.user("nobody@example.com")

    perms = admin.permissions("nobody@example.com")

    assert perms["scopes"] == {} and perms["assignments"] == []
