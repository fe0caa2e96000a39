"""Seed 003 end to end: View, Edit, Share and Manage combined across scopes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.permissions.conftest import Admin, Directory

RIGHTS = {"view", "edit", "share", "manage"}


@dataclass
class Org:
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
    directory.user("user@reeport.example")
    return Org(
        org,
        folder_1,
        folder_2,
        admin.scope("report", "Report 1", folder_1),
        admin.scope("report", "Report 2", folder_2),
    )


def rights(admin: Admin, scope: str) -> set[str]:
    return set(admin.at("user@reeport.example", scope)) & RIGHTS


def test_view_is_the_reporting_products_default_role_after_loading_the_catalog(
    admin: Admin, org: Org
) -> None:
    """Seed 003: "View ... is the default access right which applies to any User when
    invited": the reporting product's default role, not the tenant's."""
    assert admin.ok(admin.get("/products/reporting"))["default_role"] == "view"


def test_view_plus_share_for_folder_1(admin: Admin, org: Org) -> None:
    admin.assign("user@reeport.example", "share", org.folder_1)

    assert rights(admin, org.folder_1) == {"view", "share"}
    assert rights(admin, org.report_1) == {"view", "share"}
    assert rights(admin, org.folder_2) == set()
    assert rights(admin, org.org) == set()


def test_view_in_folder_1_plus_edit_in_folder_2(admin: Admin, org: Org) -> None:
    admin.assign("user@reeport.example", "view", org.folder_1)
    admin.assign("user@reeport.example", "edit", org.folder_2)

    assert rights(admin, org.report_1) == {"view"}
    assert rights(admin, org.report_2) == {"view", "edit"}
    assert rights(admin, org.org) == set()
    why_not = admin.explain("user@reeport.example", "edit", "granted", org.report_1)
    assert why_not["allowed"] is False
    assert why_not["outcome"] == "no_assignment_reaches_scope"


def test_manage_for_the_organization_views_everything_and_manages_users(
    admin: Admin, org: Org
) -> None:
    admin.assign("user@reeport.example", "manage", org.org)

    for scope in (org.org, org.folder_1, org.folder_2, org.report_1, org.report_2):
        assert rights(admin, scope) == {"view", "manage"}
    why = admin.explain("user@reeport.example", "manage", "granted", org.report_2)
    assert why["allowed"] is True
    assert why["granting"][0]["granted_at"] == org.org
    assert why["granting"][0]["inherited"] is True


def test_admin_status_is_refused_below_the_organization(admin: Admin, org: Org) -> None:
    refused = admin.post(
        "/assignments",
        {"user": "user@reeport.example", "role_key": "admin", "scope_id": org.folder_1},
    )

    assert refused.status_code == 422
    assert refused.json["reason"] == "scope_type_not_allowed"
    assert "scope_id" in refused.json["errors"]
