"""Seed 003 through the API: the Admin status, held for the whole organization on top
of the four access rights, and what non-Admin users with Edit hold instead.

What an Admin may do in the tool (rename the organization, manage any dataset ...) is
one area, `admin`, that the tool's app checks; which data sources, tokens or templates a
user created is the app's to know (see tests/permissions/SEEDS.md). Each test quotes
the sentence it proves.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.permissions.test_seed_003_reporting_rights_through_the_api import (
    USER,
    Org,
    checked,
)
from tests.permissions.test_seed_003_reporting_rights_through_the_api import (
    org as org,  # the fixture
)


def test_the_admin_status_is_held_in_addition_to_the_access_rights(
    admin: Admin, client: FlaskClient, tenant: TenantKeys, org: Org
) -> None:
    """Seed 003: "In addition to the default users rights, an Admin status is available to
    ensure your Organization is well managed." The status holds for the whole
    organization; it is not a right, and gives none of Edit, Share or Manage, which are
    granted beside it."""
    admin.assign(USER, "admin", org.org)

    for scope in (org.org, org.folder_1, org.report_2):
        assert checked(client, tenant, scope) == {"admin", "view"}

    admin.assign(USER, "edit", org.folder_1)

    assert checked(client, tenant, org.report_1) == {"admin", "view", "edit"}
    assert checked(client, tenant, org.report_2) == {"admin", "view"}


def test_the_admin_status_is_refused_below_the_organization(admin: Admin, org: Org) -> None:
    """Seed 003: "... an Admin status is available to ensure your Organization is well
    managed." It is held for an Organization, so a folder is no place to grant it."""
    refused = admin.post(
        "/assignments", {"user": USER, "role_key": "admin", "scope_id": org.folder_1}
    )

    assert refused.status_code == 422
    assert refused.json["reason"] == "scope_type_not_allowed"
    assert "scope_id" in refused.json["errors"]


@pytest.mark.parametrize("right", ["edit", "share", "manage"])
def test_what_admins_can_do_is_the_admins_alone(
    admin: Admin, directory: Directory, client: FlaskClient, tenant: TenantKeys, org: Org,
    right: str,
) -> None:  # fmt: skip
    """Seed 003: "Admins can: rename an Organization; change the Organization's avatar;
    rename any data source (even those created by other users); manage any dataset (even
    those created by other users); access to all the features available under the
    "Admin" tab; add/delete another Admin". An app allows these to whoever the read API
    says holds `admin` at the organization: the Admin, and no holder of a right, even
    Manage at the organization (which edits access rights, not the Admin status)."""
    directory.user("admin@reeport.example")
    admin.assign("admin@reeport.example", "admin", org.org)
    admin.assign(USER, right, org.org)

    assert "admin" in checked(client, tenant, org.org, "admin@reeport.example")
    assert "admin" not in checked(client, tenant, org.org)


def test_a_non_admin_with_edit_holds_edit_and_not_the_admin_status(
    admin: Admin, client: FlaskClient, tenant: TenantKeys, org: Org
) -> None:
    """Seed 003: "On the other hand, non-Admin users with the "edit" right can: edit data
    sources they created; edit tokens they created; access the Monitoring section
    (available under the "Admin" tab); edit templates they created; create/edit/delete
    color palettes". The app allows these on `edit` without `admin`, and keeps "they
    created" to itself."""
    admin.assign(USER, "edit", org.org)

    for scope in (org.org, org.report_1, org.report_2):
        assert checked(client, tenant, scope) == {"view", "edit"}
    why_not = admin.explain(USER, "admin", "granted", org.org)
    assert (why_not["allowed"], why_not["outcome"]) == (False, "no_assignment_reaches_scope")
