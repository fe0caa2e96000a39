"""Seed 003 through the API: the reporting tool's four access rights (View, Edit, Share,
Manage), granted at an organization, a folder or a report, inherited downwards and
combined across scopes, as the seed's definitions and its three examples say.

Rights are granted with the admin API and read back as apps read them (the admin
permissions answer, explain, and the read API's checks). Each test quotes the sentence
it proves.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory

USER = "user@reeport.example"
RIGHTS = {"view", "edit", "share", "manage"}


@dataclass
class Org:
    """The seed's examples: an organization with Folder 1 (Report 1) and Folder 2 (Report 2)."""

    org: str
    folder_1: str
    folder_2: str
    report_1: str
    report_2: str


@pytest.fixture
def org(admin: Admin, directory: Directory) -> Org:
    admin.load("reporting")
    org = admin.scope("organization", "Reeport Org")
    folder_1 = admin.scope("folder", "Folder 1", org)
    folder_2 = admin.scope("folder", "Folder 2", org)
    directory.user(USER)
    return Org(
        org,
        folder_1,
        folder_2,
        admin.scope("report", "Report 1", folder_1),
        admin.scope("report", "Report 2", folder_2),
    )


def rights(admin: Admin, scope: str, user: str = USER) -> set[str]:
    """The four rights the user holds at ``scope`` (the admin permissions answer)."""
    return set(admin.at(user, scope)) & RIGHTS


def checked(client: FlaskClient, tenant: TenantKeys, scope: str, user: str = USER) -> set[str]:
    """The rights and the Admin status the read API allows at ``scope``, as an app asks."""
    asked = sorted(RIGHTS | {"admin"})
    checks = [{"user": user, "area": a, "level": "granted", "scope": scope} for a in asked]
    response = client.post("/api/v1/check", json={"checks": checks}, headers=tenant.auth("read"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return {area for area, r in zip(asked, response.json["results"], strict=True) if r["allowed"]}


def test_view_is_the_reporting_products_default_role_after_loading_the_catalog(
    admin: Admin, org: Org
) -> None:
    """Seed 003: "View ... is the default access right which applies to any User when
    invited": the reporting product's default role, not the tenant's."""
    assert admin.ok(admin.get("/products/reporting"))["default_role"] == "view"


def test_a_user_can_be_granted_several_rights_at_once(admin: Admin, org: Org) -> None:
    """Seed 003: "Each User can be granted various types of access rights, namely:" -
    all four at one folder are held together there and below, and nowhere else."""
    for right in sorted(RIGHTS):
        admin.assign(USER, right, org.folder_1)

    assert rights(admin, org.folder_1) == RIGHTS
    assert rights(admin, org.report_1) == RIGHTS
    assert rights(admin, org.folder_2) == set()


@pytest.mark.parametrize(
    ("right", "held"),
    [
        ("share", {"view", "share"}),
        ("manage", {"view", "manage"}),
        ("edit", {"view", "edit"}),
        ("view", {"view"}),
    ],
    ids=["share", "manage", "edit", "view"],
)
def test_each_right_grants_what_its_definition_says_and_none_of_the_others(
    admin: Admin, client: FlaskClient, tenant: TenantKeys, org: Org, right: str, held: set[str]
) -> None:
    """Seed 003, the four definitions and the table's rows:
    "Share - Create, edit, delete and (de)activate a Broadcast." (rows "Create/Edit/Delete
    a Broadcast", "Activate/Deactivate a Broadcast");
    "Manage - Invite users to the given Organization and edit their access rights" (rows
    "Invite Users", "Edit other Users' access rights");
    "Edit - Create, edit and delete a Report (and all its Components) under a given Folder
    or Organization." (row "Create/Edit/Delete a Report");
    "View - View Reports under a given Folder or Organization (note that this is the
    default access right which applies to any User when invited)." (row "Access Viewer
    mode").
    Each right is an area of its own; View comes with any of them as the default right."""
    admin.assign(USER, right, org.folder_1)

    assert checked(client, tenant, org.report_1) == held
    assert checked(client, tenant, org.folder_2) == set()


def test_edit_covers_a_report_and_all_its_components_under_a_folder(
    admin: Admin, client: FlaskClient, tenant: TenantKeys, org: Org
) -> None:
    """Seed 003: "Edit - Create, edit and delete a Report (and all its Components) under a
    given Folder or Organization." A tenant that keeps a report's components as scopes
    (a type it declares) finds Edit there too."""
    admin.ok(admin.post("/scope-types", {"key": "component"}), 201)
    chart = admin.scope("component", "Installs chart", org.report_1)
    other_chart = admin.scope("component", "Revenue chart", org.report_2)
    admin.assign(USER, "edit", org.folder_1)

    assert checked(client, tenant, chart) == {"view", "edit"}
    assert checked(client, tenant, other_chart) == set()


def test_view_for_the_organization_views_the_reports_of_every_folder(
    admin: Admin, client: FlaskClient, tenant: TenantKeys, org: Org
) -> None:
    """Seed 003: "View - View Reports under a given Folder or Organization"."""
    admin.assign(USER, "view", org.org)

    for report in (org.report_1, org.report_2):
        assert checked(client, tenant, report) == {"view"}


def test_view_plus_share_for_folder_1(admin: Admin, org: Org) -> None:
    """Seed 003: "View + Share for Folder 1 = the User can view any Report and manage all
    Broadcasts for a given Folder." """
    admin.assign(USER, "share", org.folder_1)

    assert rights(admin, org.folder_1) == {"view", "share"}
    assert rights(admin, org.report_1) == {"view", "share"}
    assert rights(admin, org.folder_2) == set()
    assert rights(admin, org.org) == set()


def test_view_in_folder_1_plus_edit_in_folder_2(admin: Admin, org: Org) -> None:
    """Seed 003: "View in Folder 1 + Edit in Folder 2 = the User can only view Reports
    under Folder 1 and create/edit/delete all Reports under Folder 2." """
    admin.assign(USER, "view", org.folder_1)
    admin.assign(USER, "edit", org.folder_2)

    assert rights(admin, org.report_1) == {"view"}
    assert rights(admin, org.report_2) == {"view", "edit"}
    assert rights(admin, org.org) == set()
    why_not = admin.explain(USER, "edit", "granted", org.report_1)
    assert why_not["allowed"] is False
    assert why_not["outcome"] == "no_assignment_reaches_scope"


def test_rights_from_an_idp_group_and_from_an_admin_combine_across_folders(
    admin: Admin, directory: Directory, org: Org
) -> None:
    """Seed 003: "View in Folder 1 + Edit in Folder 2 = ...", with View in Folder 1 from
    an IdP group mapped there and Edit in Folder 2 granted directly."""
    user_id = admin.permissions(USER)["user_id"]
    directory.group("Folder 1 viewers", users=[user_id])
    admin.map("Folder 1 viewers", "view", org.folder_1)
    admin.assign(USER, "edit", org.folder_2)

    assert rights(admin, org.report_1) == {"view"}
    assert rights(admin, org.report_2) == {"view", "edit"}
    [viewing] = admin.explain(USER, "view", "granted", org.report_1)["granting"]
    [editing] = admin.explain(USER, "edit", "granted", org.report_2)["granting"]
    assert (viewing["source"], viewing["granted_at"]) == ("mapping", org.folder_1)
    assert (editing["source"], editing["granted_at"]) == ("direct", org.folder_2)


def test_manage_for_the_organization_views_everything_and_manages_users(
    admin: Admin, client: FlaskClient, tenant: TenantKeys, org: Org
) -> None:
    """Seed 003: "Manage for Organization = the User can view all Reports and invite Users
    to the Organization as well as manage their access rights." """
    admin.assign(USER, "manage", org.org)

    for scope in (org.org, org.folder_1, org.folder_2, org.report_1, org.report_2):
        assert rights(admin, scope) == {"view", "manage"}
    assert checked(client, tenant, org.org) == {"view", "manage"}
    why = admin.explain(USER, "manage", "granted", org.report_2)
    assert why["allowed"] is True
    assert why["granting"][0]["granted_at"] == org.org
    assert why["granting"][0]["inherited"] is True
