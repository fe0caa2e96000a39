"""Seed 004 asked the other way round: which workspaces a Creator can manage, when
permissions come only through groups and a role held at a workspace holds in its child
workspaces."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.permissions.conftest import Admin, Directory
from tests.questions.conftest import Questions


@dataclass
class Workspaces:
    root: str
    marketing: str
    marketing_eu: str
    sales: str
    finance: str


@pytest.fixture
def workspaces(admin: Admin, directory: Directory) -> Workspaces:
    """A root workspace with Marketing (Marketing EU below it), Sales and Finance; the
    Creators group mapped to Creator at Marketing, the Sales Creators group (by
    externalId) at Sales, and the Viewers group to Viewer at the root workspace."""
    admin.load("data-platform")
    root = admin.scope("workspace", "Root workspace")
    marketing = admin.scope("workspace", "Marketing", root)
    place = Workspaces(
        root,
        marketing,
        admin.scope("workspace", "Marketing EU", marketing),
        admin.scope("workspace", "Sales", root),
        admin.scope("workspace", "Finance", root),
    )
    creator = directory.user("creator@example.com")
    viewer = directory.user("viewer@example.com")
    directory.group("Adverity Creators", users=[creator])
    directory.group("Sales Creators", external_id="grp-sales", users=[creator])
    directory.group("Adverity Viewers", users=[viewer])
    admin.map("Adverity Creators", "creator", marketing)
    admin.map("grp-sales", "creator", place.sales, kind="externalId")
    admin.map("Adverity Viewers", "viewer", root)
    return place


def test_a_creator_manages_datastreams_in_the_workspaces_its_groups_are_mapped_at_and_below(
    ask: Questions, workspaces: Workspaces
) -> None:
    """Seed 004: "In Adverity, user permissions are controlled by the groups to which a
    user is assigned." and the Creator row's "Datastreams: View and manage": the
    Creator manages datastreams in Marketing and everything below it, and in Sales,
    each through the group mapped there; not in the root workspace nor in Finance."""
    entries = ask.where_can("creator@example.com", "datastreams", "View and manage")

    assert [(e["scope_name"], e["subtree"]) for e in entries] == [
        ("Marketing", True),
        ("Sales", True),
    ]
    assert [c["via_group_names"] for c in entries[0]["chains"]] == [["Adverity Creators"]]
    assert [c["via_group_names"] for c in entries[1]["chains"]] == [["Sales Creators"]]
    expanded = ask.where_can("creator@example.com", "datastreams", "View and manage", expand=True)
    assert [e["scope_name"] for e in expanded] == ["Marketing", "Marketing EU", "Sales"]


def test_a_viewer_manages_no_workspace_and_views_them_all(
    ask: Questions, workspaces: Workspaces
) -> None:
    """Seed 004, the Viewer row: "Datastreams: View": a Viewer manages datastreams
    nowhere, and views them in the root workspace and every child workspace."""
    assert ask.where_can("viewer@example.com", "datastreams", "View and manage") == []
    (entry,) = ask.where_can("viewer@example.com", "datastreams", "View")
    assert (entry["scope_id"], entry["subtree"], entry["level"]) == (
        workspaces.root,
        True,
        "View",
    )


def test_who_manages_datastreams_in_a_child_workspace_is_the_creator_alone(
    ask: Questions, workspaces: Workspaces
) -> None:
    """Seed 004: "A role held at a workspace also holds in its child workspaces" (the
    catalog's reading of the root and child workspaces): in Marketing EU the Creator
    manages datastreams through Marketing; the Viewer only views them."""
    managers = ask.who_can(workspaces.marketing_eu, "datastreams", "View and manage")
    viewers = ask.names_who_can(workspaces.marketing_eu, "datastreams", "View")

    assert [(e["user_name"], e["level"]) for e in managers] == [
        ("creator@example.com", "View and manage")
    ]
    assert managers[0]["chains"][0]["granted_at"] == workspaces.marketing
    assert managers[0]["chains"][0]["inherited"] is True
    assert viewers == {"creator@example.com", "viewer@example.com"}
