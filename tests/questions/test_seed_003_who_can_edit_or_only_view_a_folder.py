"""Seed 003 asked the other way round: not "what may this user do in Folder 2" but
"who may Edit in Folder 2, and who may only View there", with rights held at the
organization, at folders and at reports, directly and through IdP groups."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.permissions.conftest import Admin, Directory
from tests.questions.conftest import Questions


@dataclass
class Reeport:
    org: str
    folder_1: str
    folder_2: str
    report_1: str
    report_2: str


@pytest.fixture
def reeport(admin: Admin, directory: Directory) -> Reeport:
    """The seed's organization with Folder 1 (Report 1) and Folder 2 (Report 2), and
    people holding rights at each level:

    - org.viewer: View at the organization, through the IdP group "Org Viewers";
    - org.editor: Edit at the organization, directly;
    - mixed: "View in Folder 1 + Edit in Folder 2", directly;
    - f2.manager: Manage at Folder 2, through the group "F2 Managers" nested in "Leads";
    - f1.viewer: View at Folder 1 only; r2.editor: Edit at Report 2 only.
    """
    admin.load("reporting")
    org = admin.scope("organization", "Reeport Org")
    folder_1 = admin.scope("folder", "Folder 1", org)
    folder_2 = admin.scope("folder", "Folder 2", org)
    place = Reeport(
        org,
        folder_1,
        folder_2,
        admin.scope("report", "Report 1", folder_1),
        admin.scope("report", "Report 2", folder_2),
    )
    for name in ("org.viewer", "org.editor", "mixed", "f2.manager", "f1.viewer", "r2.editor"):
        directory.user(name)
    directory.group("Org Viewers", users=[_id(admin, "org.viewer")])
    managers = directory.group("F2 Managers", users=[_id(admin, "f2.manager")])
    directory.group("Leads", groups=[managers])
    admin.map("Org Viewers", "view", org)
    admin.map("Leads", "manage", folder_2)
    admin.assign("org.editor", "edit", org)
    admin.assign("mixed", "view", folder_1)
    admin.assign("mixed", "edit", folder_2)
    admin.assign("f1.viewer", "view", folder_1)
    admin.assign("r2.editor", "edit", place.report_2)
    return place


def _id(admin: Admin, user_name: str) -> str:
    return admin.permissions(user_name)["user_id"]


def test_who_can_edit_in_folder_2_are_the_organization_editor_and_the_folder_2_editor(
    ask: Questions, reeport: Reeport
) -> None:
    """Seed 003: "View in Folder 1 + Edit in Folder 2 = the User can only view Reports
    under Folder 1 and create/edit/delete all Reports under Folder 2." and "Access rights
    granted at the Organization level apply to all Folders and Reports": Edit in Folder
    2 is held by the organization's editor (inherited) and by the user with Edit in
    Folder 2; not by the Report 2 editor (rights go down, never up)."""
    assert ask.names_who_can(reeport.folder_2, "edit", "granted") == {"org.editor", "mixed"}


def test_who_can_only_view_in_folder_2_is_the_view_set_without_the_edit_set(
    ask: Questions, reeport: Reeport
) -> None:
    """Seed 003: "View in Folder 1 + Edit in Folder 2 = the User can only view Reports
    under Folder 1 ..." turned around: who only views Folder 2 are those who view it and
    cannot edit it: the organization's viewer (through its group) and the Folder 2
    manager (Manage includes View); Folder 1's viewer sees nothing of Folder 2."""
    viewers = ask.names_who_can(reeport.folder_2, "view", "granted")
    editors = ask.names_who_can(reeport.folder_2, "edit", "granted")

    assert viewers == {"org.viewer", "org.editor", "mixed", "f2.manager"}
    assert viewers - editors == {"org.viewer", "f2.manager"}
    assert "f1.viewer" not in viewers
    assert ask.names_who_can(reeport.folder_1, "view", "granted") == {
        "org.viewer",
        "org.editor",
        "mixed",
        "f1.viewer",
    }


def test_each_answer_names_its_chain_group_mapping_direct_or_default(
    ask: Questions, reeport: Reeport
) -> None:
    """Seed 003: "View ... The default access right of any invited User": each user in
    the answer comes with the chain that grants it: the nested group path and its
    mapping, a direct assignment, or the product's default role."""
    entries = {e["user_name"]: e for e in ask.who_can(reeport.folder_2, "view", "granted")}

    viewer = entries["org.viewer"]["chains"]
    assert [(c["source"], c["role_key"], c["granted_at"], c["inherited"]) for c in viewer] == [
        ("mapping", "view", reeport.org, True)
    ]
    assert viewer[0]["via_group_names"] == ["Org Viewers"]
    manager = entries["f2.manager"]["chains"]
    assert manager[0]["source"] == "mapping" and manager[0]["role_key"] == "manage"
    assert manager[0]["via_group_names"] == ["F2 Managers", "Leads"]
    assert manager[0]["inherited"] is False
    editor = entries["org.editor"]["chains"]
    assert [(c["source"], c["role_key"], c["granted_at"]) for c in editor] == [
        ("default", "view", reeport.org)
    ]
    assert all(e["level"] == "granted" for e in entries.values())

    edit = {e["user_name"]: e for e in ask.who_can(reeport.folder_2, "edit", "granted")}
    assert [(c["source"], c["granted_at"]) for c in edit["mixed"]["chains"]] == [
        ("direct", reeport.folder_2)
    ]


def test_where_can_edit_is_folder_2_and_everything_below_it(
    ask: Questions, reeport: Reeport
) -> None:
    """Seed 003: "... create/edit/delete all Reports under Folder 2": where the mixed
    user may Edit is one entry, Folder 2 and everything below it; expanded, Folder 2
    and Report 2."""
    entries = ask.where_can("mixed", "edit", "granted")

    assert [(e["scope_id"], e["subtree"], e["except_below"]) for e in entries] == [
        (reeport.folder_2, True, [])
    ]
    assert entries[0]["path"] == "Reeport Org > Folder 2"
    expanded = ask.where_can("mixed", "edit", "granted", expand="true")
    assert [e["scope_id"] for e in expanded] == [reeport.folder_2, reeport.report_2]
    assert not any(e["subtree"] for e in expanded)
