"""Several products in one tenant: the four presets side by side, each with its own
areas, roles, default role and settings, and checks that answer per product.

Seeds 000, 001 and 002 describe products of one vendor and a customer commonly holds
several of them; seed 003 and seed 004 are products of their own. Each test names the
sentence it proves.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory

PRESETS = ("usage-analytics", "licensing-portal", "reporting", "data-platform")
USER = "ada@example.com"


@pytest.fixture
def all_four(admin: Admin) -> dict[str, dict[str, Any]]:
    return {key: admin.load(key) for key in PRESETS}


def refusal(response: Any) -> tuple[int, str, list[str]]:
    """Status, reason code and the fields an error names."""
    return response.status_code, response.json["reason"], sorted(response.json["errors"])


def check(client: FlaskClient, tenant: TenantKeys, *checks: dict[str, str]) -> list[dict]:
    response = client.post(
        "/api/v1/check", json={"checks": list(checks)}, headers=tenant.auth("read")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["results"]


def test_all_four_presets_load_side_by_side_and_a_second_load_changes_nothing(
    admin: Admin, all_four: dict[str, dict[str, Any]]
) -> None:
    """Issue: "Load usage-analytics, then data-platform, into one tenant: 409
    catalog_conflict (both declare an area user_management)" - no longer."""
    assert all(plan["changed"] for plan in all_four.values())
    again = [admin.load(key) for key in PRESETS]
    assert [plan["changed"] for plan in again] == [False] * 4

    products = {p["key"]: p for p in admin.ok(admin.get("/products"))}
    assert sorted(products) == sorted(PRESETS)
    assert products["reporting"]["default_role"] == "view"
    assert products["data-platform"]["group_only"] is True
    listed = admin.ok(admin.get("/areas", key_prefix="user_management", page_size=500))
    both = [a["product"] for a in listed if a["key"] == "user_management"]
    assert sorted(both) == ["data-platform", "usage-analytics"]


def test_loading_reporting_gives_only_the_reporting_product_a_default_role(
    admin: Admin, directory: Directory, all_four: dict[str, dict[str, Any]]
) -> None:
    """Issue: "Loading reporting also sets the tenant's default role to view, so a Usage
    Intelligence user silently holds the reporting tool's view at the organization." """
    org = admin.scope("organization", "Vendor")
    directory.user(USER)
    admin.assign(USER, "billing", org, product="usage-analytics")

    assert admin.at_refs(USER, org) == {"usage-analytics/billing": "full"}
    assert admin.ok(admin.get("/settings/permissions"))["default_role"] is None


def test_a_user_holds_roles_of_two_products_and_each_check_answers_from_its_own(
    admin: Admin,
    directory: Directory,
    client: FlaskClient,
    tenant: TenantKeys,
    all_four: dict[str, dict[str, Any]],
) -> None:
    """Seed 000: "Permission to view the User Management pages, invite new users, and
    update/delete current users available only to product administrators"; seed 004's
    "User management: View and manage users" is another product's area of the same key."""
    org = admin.scope("organization", "Vendor")
    root = admin.scope("workspace", "Root workspace", org)
    ada = directory.user(USER)
    admin.assign(USER, "user_management_read_only", org, product="usage-analytics")
    directory.group("Platform admins", users=[ada])
    admin.map("Platform admins", "administrator", root, product="data-platform")

    held = admin.at_refs(USER, root)
    assert held["usage-analytics/user_management"] == "read_only"
    assert held["data-platform/user_management"] == "View and manage users"

    results = check(
        client,
        tenant,
        {
            "user": USER,
            "product": "usage-analytics",
            "area": "user_management",
            "level": "full",
            "scope": root,
        },
        {
            "user": USER,
            "area": "data-platform/user_management",
            "level": "View and manage users",
            "scope": root,
        },
        {"user": USER, "area": "user_management", "level": "read_only", "scope": root},
    )
    assert [r.get("allowed") for r in results] == [False, True, False]
    assert results[0]["area"] == "usage-analytics/user_management"
    assert results[1]["area"] == "data-platform/user_management"
    # The key alone is ambiguous for a user who holds it in two products: named, not guessed.
    assert "usage-analytics" in results[2]["reason"] and "data-platform" in results[2]["reason"]


def test_a_key_in_one_product_only_needs_no_product_name(
    admin: Admin, directory: Directory, client: FlaskClient, tenant: TenantKeys
) -> None:
    """Existing clients of a one-product tenant keep working: bare keys resolve."""
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    directory.user(USER)
    admin.assign(USER, "edit", org)

    [result] = check(
        client, tenant, {"user": USER, "area": "edit", "level": "granted", "scope": org}
    )
    assert (result["allowed"], result["area"]) == (True, "reporting/edit")


def test_a_role_key_in_two_products_must_name_its_product(
    admin: Admin, directory: Directory, all_four: dict[str, dict[str, Any]]
) -> None:
    org = admin.scope("organization", "Vendor")
    directory.user(USER)
    # "reporting" is a role of usage-analytics; "view" is one of reporting only.
    admin.ok(admin.post("/roles", {"product": "reporting", "key": "reporting", "name": "R"}), 201)

    refused = admin.post("/assignments", {"user": USER, "role_key": "reporting", "scope_id": org})
    assert refusal(refused) == (409, "ambiguous", ["product"])
    assert "reporting, usage-analytics" in refused.json["message"]
    admin.assign(USER, "reporting", org, product="usage-analytics")
    assert admin.at_refs(USER, org) == {"usage-analytics/reporting": "granted"}
    assert admin.ok(admin.get("/roles/reporting", product="reporting"))["product"] == "reporting"
    assert admin.get("/roles/reporting").status_code == 409


def test_an_area_or_role_created_without_a_product_goes_to_the_default_product(
    admin: Admin,
) -> None:
    admin.load("reporting")
    area = admin.ok(admin.post("/areas", {"key": "exports", "name": "Exports"}), 201)
    role = admin.ok(
        admin.post(
            "/roles", {"key": "exporter", "name": "Exporter", "grants": {"exports": "granted"}}
        ),
        201,
    )

    assert (area["product"], role["product"]) == ("default", "default")
    settings = admin.ok(admin.get("/settings/permissions"))
    assert settings["default_product"] == "default"
    # A role grants areas of its own product only: reporting's "view" is not default's.
    refused = admin.post("/roles", {"key": "v", "name": "V", "grants": {"view": "granted"}})
    assert refusal(refused) == (422, "unknown_area", ["grants.view"])


def test_a_group_only_product_refuses_direct_assignments_naming_the_setting(
    admin: Admin, directory: Directory, all_four: dict[str, dict[str, Any]]
) -> None:
    """Seed 004: "In Adverity, user permissions are controlled by the groups to which a
    user is assigned." """
    org = admin.scope("organization", "Vendor")
    root = admin.scope("workspace", "Root workspace", org)
    ada = directory.user(USER)

    refused = admin.post("/assignments", {"user": USER, "role_key": "viewer", "scope_id": root})
    assert refusal(refused) == (409, "group_only_product", ["group_only"])
    assert "data-platform" in refused.json["message"]
    # Through a group it is granted, as the seed says.
    directory.group("Viewers", users=[ada])
    admin.map("Viewers", "viewer", root)
    assert admin.at(USER, root, product="data-platform")["workspaces"] == "View"


def test_a_product_setting_can_be_changed_and_is_audited(admin: Admin) -> None:
    admin.load("reporting")
    changed = admin.ok(
        admin.patch("/products/reporting", {"group_only": True, "default_role": "edit"})
    )
    assert (changed["group_only"], changed["default_role"]) == (True, "edit")
    unknown = admin.patch("/products/reporting", {"default_role": "nope"})
    assert refusal(unknown) == (422, "unknown_role", ["default_role"])
    events = admin.ok(admin.get("/audit", action="product.update"))
    assert events[0]["after"]["group_only"] is True


def test_products_of_another_tenant_are_not_seen(
    admin: Admin, client: FlaskClient, make_tenant: Any
) -> None:
    admin.load("reporting")
    other = make_tenant("other")
    listed = client.get("/api/v1/products", headers=other.auth("admin"))
    assert listed.status_code == 200 and listed.json == []
    assert client.get("/api/v1/products/reporting", headers=other.auth("admin")).status_code == 404


def test_a_scope_change_that_would_void_a_grant_of_any_product_is_refused(
    admin: Admin, directory: Directory, all_four: dict[str, dict[str, Any]]
) -> None:
    """The guards that keep a grant from silently granting nothing see every product's
    roles: portal_user belongs on customer, partner and self-registered accounts."""
    acme = admin.scope("account", "Acme", None, "customer")
    directory.user(USER, user_type="Customer")
    admin.assign(USER, "portal_user", acme, assign_account=True)

    refused = admin.patch(f"/scopes/{acme}", {"account_type": "producer"})
    assert refusal(refused)[:2] == (409, "in_use")
    assert "licensing-portal/portal_user" in refused.json["message"]
