"""Seed 004 through the API: "In Adverity, user permissions are controlled by the groups to
which a user is assigned." The data platform is a group-only product: its roles come from
IdP group mappings, and every other way of granting one is refused naming the setting.

A direct assignment (tests/permissions/test_several_products_in_one_tenant.py) and a single
invitation (tests/invitations/test_invitations_at_a_scope.py) are refused; here, a bulk
invitation's row, and a product made group-only after a direct assignment was made.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.permissions.test_seed_004_creator_and_viewer_through_the_api import expected
from tests.permissions.test_seed_004_groups_give_the_seed_s_rows_through_the_api import read
from tests.unit.domain.test_seed_004_creator_and_viewer_differ_per_area import VIEWER

USER = "ada@example.com"


@pytest.fixture
def root(admin: Admin) -> str:
    """The data platform's root workspace, at the top of an organization."""
    admin.load("data-platform")
    return admin.scope("workspace", "Acme root", admin.scope("organization", "Acme"))


def test_a_bulk_invitation_row_with_a_role_of_the_data_platform_is_refused_naming_the_setting(
    admin: Admin, root: str
) -> None:
    """Seed 004: "In Adverity, user permissions are controlled by the groups to which a
    user is assigned.": a bulk invitation's row naming a data platform role is invalid,
    its reason naming the group_only setting, and nobody is invited."""
    rows = [{"email": USER, "scope_id": root, "role": "data-platform/viewer"}]

    job = admin.ok(admin.post("/invitations/bulk", {"rows": rows}), 202)

    assert (job["totals"]["rows"], job["totals"]["invalid"]) == (1, 1)
    (row,) = job["errors"]
    assert (row["email"], row["status"]) == (USER, "invalid")
    assert row["reason"].startswith("group_only:")
    assert admin.ok(admin.get("/invitations"))["total"] == 0


def test_a_product_is_not_made_group_only_while_its_roles_are_held_directly(
    admin: Admin, directory: Directory, client: FlaskClient, tenant: TenantKeys, root: str
) -> None:
    """Seed 004: "In Adverity, user permissions are controlled by the groups to which a
    user is assigned." A tenant turns the setting off, assigns Viewer directly, and turns
    it on again: refused (409 naming group_only) while that assignment exists, so the
    product is never group-only with a user holding Viewer through no group."""
    directory.user(USER)
    admin.ok(admin.patch("/products/data-platform", {"group_only": False}))
    assignment = admin.assign(USER, "viewer", root)
    assert read(client, tenant, USER, root) == expected(VIEWER)

    refused = admin.patch("/products/data-platform", {"group_only": True})

    assert (refused.status_code, refused.json["reason"]) == (409, "in_use")
    assert "group_only" in refused.json["errors"]
    assert admin.ok(admin.get("/products/data-platform"))["group_only"] is False
    admin.ok(admin.delete(f"/assignments/{assignment}"), 204)
    assert admin.ok(admin.patch("/products/data-platform", {"group_only": True}))["group_only"]
    assert read(client, tenant, USER, root) == {}
