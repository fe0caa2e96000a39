"""Seed 000 through the API: the usage-analytics dashboard's table of permissions.

Each row of the seed's table is an area of the usage-analytics product; a row with a
"Read-Only permission" sentence has the levels read_only < full, the others are on/off.
Roles are granted with the admin API at a product (a scope below the organization), and
what a user may do is read back as apps read it: the admin permissions answer, explain,
and the read API's checks. Each test quotes the sentence it proves.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory

PRODUCT = "usage-analytics"

# The seed's table, row by row: the permission's name and the levels its row states.
SEED_TABLE = {
    "Product Administrator": ["granted"],
    "User Management": ["read_only", "full"],
    "Reporting": ["granted"],
    "ReachOut": ["read_only", "full"],
    "Developer": ["read_only", "full"],
    "License Key Management": ["read_only", "full"],
    "License Key Filtering": ["granted"],
    "Quota Usage": ["granted"],
    "Billing": ["read_only", "full"],
    "Reporting API": ["granted"],
}


@dataclass
class Dashboard:
    """An organization with two of its products in the usage-analytics dashboard."""

    org: str
    app: str
    other_app: str


@pytest.fixture
def dashboard(admin: Admin) -> Dashboard:
    plan = admin.load(PRODUCT)
    assert plan["declare_scope_types"] == ["product"]
    org = admin.scope("organization", "Org")
    return Dashboard(
        org, admin.scope("product", "Our App", org), admin.scope("product", "Other App", org)
    )


def holder(admin: Admin, directory: Directory, role: str, scope: str) -> str:
    """A user (named after the role) who holds ``role`` at ``scope`` and nothing else."""
    user = f"{role}@example.com"
    directory.user(user)
    admin.assign(user, role, scope)
    return user


def allowed(
    client: FlaskClient, tenant: TenantKeys, user: str, scope: str, *asks: tuple[str, str]
) -> list[bool]:
    """The read API's answers, as an app gets them, to (area, level) at ``scope``."""
    checks = [{"user": user, "area": a, "level": lv, "scope": scope} for a, lv in asks]
    response = client.post("/api/v1/check", json={"checks": checks}, headers=tenant.auth("read"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [result["allowed"] for result in response.json["results"]]


def test_the_available_permissions_are_the_rows_of_the_seeds_table(
    admin: Admin, dashboard: Dashboard
) -> None:
    """Seed 000: "The following is a list of the available permissions:" - one area per
    row, with a Read-Only level below full where the row has a "Read-Only permission"
    sentence, and a single level where it has none."""
    areas = admin.ok(admin.get("/areas", product=PRODUCT, page_size=100))

    assert {area["name"]: area["levels"] for area in areas} == SEED_TABLE


def test_the_product_administrator_has_full_access_to_the_product(
    admin: Admin, directory: Directory, dashboard: Dashboard
) -> None:
    """Seed 000, Product Administrator: "Gives the user full access to the product,
    including permission to delete data and block clients / IP addresses." """
    user = holder(admin, directory, "product_administrator", dashboard.app)
    areas = admin.ok(admin.get("/areas", product=PRODUCT, page_size=100))

    assert admin.at(user, dashboard.app) == {a["key"]: a["levels"][-1] for a in areas}
    assert admin.at(user, dashboard.other_app) == {}


def test_full_user_management_is_available_only_to_product_administrators(
    admin: Admin, directory: Directory, client: FlaskClient, tenant: TenantKeys,
    dashboard: Dashboard,
) -> None:  # fmt: skip
    """Seed 000, User Management: "Permission to view the User Management pages, invite
    new users, and update/delete current users available only to product
    administrators." """
    granting = admin.ok(admin.get("/roles", product=PRODUCT, area="user_management"))
    full = [role["key"] for role in granting if role["grants"]["user_management"] == "full"]
    assert full == ["product_administrator"]

    user = holder(admin, directory, "product_administrator", dashboard.app)
    assert allowed(client, tenant, user, dashboard.app, ("user_management", "full")) == [True]


def test_read_only_user_management_lets_a_non_admin_view_users_without_changing_them(
    admin: Admin, directory: Directory, client: FlaskClient, tenant: TenantKeys,
    dashboard: Dashboard,
) -> None:  # fmt: skip
    """Seed 000, User Management: "Read-Only permission allows non-admin users to view
    current users without making changes or adding new users." """
    user = holder(admin, directory, "user_management_read_only", dashboard.app)

    assert admin.at(user, dashboard.app) == {"user_management": "read_only"}
    assert allowed(
        client, tenant, user, dashboard.app,
        ("user_management", "read_only"),
        ("user_management", "full"),
        ("product_administrator", "granted"),
    ) == [True, False, False]  # fmt: skip
    why_not = admin.explain(user, "user_management", "full", dashboard.app)
    assert (why_not["outcome"], why_not["effective_level"]) == ("level_too_low", "read_only")


@pytest.mark.parametrize(
    ("area", "full_role"),
    [
        ("user_management", "product_administrator"),
        ("reachout", "reachout"),
        ("developer", "developer"),
        ("license_key_management", "license_key_management"),
        ("billing", "billing"),
    ],
    ids=["user_management", "reachout", "developer", "license_key_management", "billing"],
)
def test_read_only_views_without_changing_and_full_includes_read_only(
    admin: Admin, directory: Directory, client: FlaskClient, tenant: TenantKeys,
    dashboard: Dashboard, area: str, full_role: str,
) -> None:  # fmt: skip
    """Seed 000, every row with a Read-Only variant:
    User Management: "Read-Only permission allows non-admin users to view current users
    without making changes or adding new users."
    ReachOut: "Read-Only permission allows users to view campaign details without making
    changes."
    Developer: "Read-Only permission allows users to view product settings without making
    changes."
    License Key Management: "Read-Only permission allows users to view the license keys and
    settings only."
    Billing: "Read-Only permission allows users to view billing info without making any
    changes."
    Read-only may view and not change; the full permission includes it."""
    viewer = holder(admin, directory, f"{area}_read_only", dashboard.app)
    changer = holder(admin, directory, full_role, dashboard.app)

    asks = ((area, "read_only"), (area, "full"))
    assert allowed(client, tenant, viewer, dashboard.app, *asks) == [True, False]
    assert allowed(client, tenant, changer, dashboard.app, *asks) == [True, True]
    assert admin.at(viewer, dashboard.app) == {area: "read_only"}


def test_reporting_opens_the_reporting_pages_and_nothing_else(
    admin: Admin, directory: Directory, dashboard: Dashboard
) -> None:
    """Seed 000, Reporting: "Permission to access all reporting and analytics pages,
    including exported data." One permission for all of them; the Reporting API is not
    part of it."""
    user = holder(admin, directory, "reporting", dashboard.app)

    assert admin.at(user, dashboard.app) == {"reporting": "granted"}


def test_developer_includes_full_reporting_and_its_read_only_variant_does_not(
    admin: Admin, directory: Directory, dashboard: Dashboard
) -> None:
    """Seed 000, Developer: "Permission to access product configuration settings and full
    reporting, including call home URL, AES key, and event allowed. Read-Only permission
    allows users to view product settings without making changes." """
    developer = holder(admin, directory, "developer", dashboard.app)
    read_only = holder(admin, directory, "developer_read_only", dashboard.app)

    assert admin.at(developer, dashboard.app) == {"developer": "full", "reporting": "granted"}
    assert admin.at(read_only, dashboard.app) == {"developer": "read_only"}


@pytest.mark.parametrize("role", ["license_key_filtering", "quota_usage", "reporting_api"])
def test_an_on_off_permission_is_granted_alone(
    admin: Admin, directory: Directory, dashboard: Dashboard, role: str
) -> None:
    """Seed 000, the rows without a Read-Only variant:
    License Key Filtering: "Allows users to view license keys in filters, reports, and
    ReachOut campaigns."
    Quota Usage: "Permission to view the quota usage information."
    Reporting API: "Permission to access the reports and analytics data via the Web API."
    Each is a permission of its own, held without any other."""
    user = holder(admin, directory, role, dashboard.app)

    assert admin.at(user, dashboard.app) == {role: "granted"}


@pytest.mark.parametrize(
    ("one", "other", "lowest"),
    [
        ("license_key_filtering", "license_key_management", "read_only"),
        ("reporting_api", "reporting", "granted"),
    ],
    ids=["license_key_filtering", "reporting_api"],
)
def test_a_permission_is_held_apart_from_its_neighbour_row(
    admin: Admin, directory: Directory, client: FlaskClient, tenant: TenantKeys,
    dashboard: Dashboard, one: str, other: str, lowest: str,
) -> None:  # fmt: skip
    """Seed 000, License Key Filtering: "Allows users to view license keys in filters,
    reports, and ReachOut campaigns." - a row of its own, neither part of License Key
    Management ("Permission to access the license key registry ...") nor including it.
    Seed 000, Reporting API: "Permission to access the reports and analytics data via the
    Web API.", and the note: "However, it is possible to request analytics data via the
    Reporting Web API to build custom charts or display in 3rd party systems." An app
    serving the Web API checks reporting_api; the dashboard checks reporting.
    The role of each row has the row's key; each area is asked at its lowest level."""
    asks = ((one, "granted"), (other, lowest))

    holds_one = holder(admin, directory, one, dashboard.app)
    holds_other = holder(admin, directory, other, dashboard.app)

    assert allowed(client, tenant, holds_one, dashboard.app, *asks) == [True, False]
    assert allowed(client, tenant, holds_other, dashboard.app, *asks) == [False, True]


def test_reporting_cannot_be_broken_down_to_specific_reports(
    admin: Admin, directory: Directory, dashboard: Dashboard
) -> None:
    """Seed 000, the note: "Access to reporting via the Usage Intelligence Dashboard
    cannot be further broken down to specific reports." Reporting is one level, granted
    at a product or the organization; a report is no place to grant it."""
    report = admin.scope("report", "Weekly installs", dashboard.app)
    directory.user("one-report@example.com")

    refused = admin.post(
        "/assignments",
        {"user": "one-report@example.com", "role_key": "reporting", "scope_id": report},
    )

    assert refused.status_code == 422
    assert (refused.json["reason"], list(refused.json["errors"])) == (
        "scope_type_not_allowed", ["scope_id"],
    )  # fmt: skip
    whole = holder(admin, directory, "reporting", dashboard.app)
    assert admin.at(whole, report) == {"reporting": "granted"}


def test_a_permission_at_the_organization_holds_in_each_of_its_products(
    admin: Admin, directory: Directory, dashboard: Dashboard
) -> None:
    """Seed 000: "When you invite a user to access your product ..." - permissions are per
    product: one granted at a product holds there only, one granted at the organization
    holds in each of its products."""
    per_product = holder(admin, directory, "billing_read_only", dashboard.app)
    everywhere = holder(admin, directory, "billing", dashboard.org)

    assert admin.at(per_product, dashboard.other_app) == {}
    for app in (dashboard.app, dashboard.other_app):
        assert admin.at(everywhere, app) == {"billing": "full"}
    assert admin.explain(everywhere, "billing", "read_only", dashboard.app)["allowed"] is True
