"""Products: a tenant holds several, each with its own areas, roles and default role.

Seeds 000, 001 and 002 describe products of one vendor and a customer commonly holds
several; seed 003's "View ... is the default access right which applies to any User
when invited" is a setting of the reporting product, and seed 004's "user permissions
are controlled by the groups to which a user is assigned" one of the data platform.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from service import catalogs
from service.domain import (
    Assignment,
    AssignmentSource,
    Conflict,
    PermissionArea,
    Product,
    Role,
    Scope,
    ScopeTree,
    compute_effective_permissions,
    derive_user_assignments,
    index_areas,
    index_roles,
    plan_catalog_load,
    qualify,
    resolve_ref,
    split_ref,
)

TREE = ScopeTree([Scope("org", "organization", "Org"), Scope("ws", "workspace", "WS", "org")])
ANALYTICS_USERS = PermissionArea(
    "user_management", "User Management", ("read_only", "full"), product="usage-analytics"
)
PLATFORM_USERS = PermissionArea(
    "user_management", "User management", ("View and manage users",), product="data-platform"
)
REPORT_VIEW = PermissionArea("view", "View", product="reporting")
REPORT_EDIT = PermissionArea("edit", "Edit", product="reporting")
AREAS = index_areas([ANALYTICS_USERS, PLATFORM_USERS, REPORT_VIEW, REPORT_EDIT])
ROLES = index_roles(
    [
        Role(
            "admin",
            "Product Administrator",
            {"user_management": "full"},
            reaches_descendants=True,
            product="usage-analytics",
        ),
        Role(
            "admin",
            "Administrator",
            {"user_management": "View and manage users"},
            reaches_descendants=True,
            product="data-platform",
        ),
        Role("view", "View", {"view": "granted"}, reaches_descendants=True, product="reporting"),
        Role("edit", "Edit", {"edit": "granted"}, reaches_descendants=True, product="reporting"),
    ]
)


def test_a_ref_names_an_area_or_role_by_product_and_key():
    assert qualify("data-platform", "user_management") == "data-platform/user_management"
    assert split_ref("data-platform/user_management") == ("data-platform", "user_management")
    assert split_ref("user_management") == (None, "user_management")
    assert sorted(AREAS) == [
        "data-platform/user_management",
        "reporting/edit",
        "reporting/view",
        "usage-analytics/user_management",
    ]


def test_one_key_in_two_products_is_two_areas_and_two_roles():
    with pytest.raises(Conflict):
        index_areas([ANALYTICS_USERS, replace(ANALYTICS_USERS, name="again")])
    assert len({ROLES["usage-analytics/admin"], ROLES["data-platform/admin"]}) == 2


def test_a_role_grants_only_areas_of_its_own_product():
    both = [
        Assignment("u", "usage-analytics/admin", "org"),
        Assignment("u", "data-platform/admin", "ws"),
    ]
    perms = compute_effective_permissions(both, ROLES, AREAS, TREE)

    assert perms.for_scope("ws", TREE) == {
        "data-platform/user_management": "View and manage users",
        "usage-analytics/user_management": "full",
    }
    assert perms.for_scope("org", TREE) == {"usage-analytics/user_management": "full"}
    stray = Role("stray", "Stray", {"view": "granted"}, product="usage-analytics")
    with pytest.raises(Exception, match="unknown area"):
        stray.validate(AREAS)


def test_a_products_default_role_follows_only_that_products_roles():
    """Seed 003's View applies where the user was placed in the reporting tool; a Usage
    Intelligence administrator does not get it."""
    analytics_only = derive_user_assignments(
        "u",
        tree=TREE,
        roles=ROLES,
        direct=[Assignment("u", "usage-analytics/admin", "org")],
        default_roles=["reporting/view"],
    )
    reporting_editor = derive_user_assignments(
        "u",
        tree=TREE,
        roles=ROLES,
        direct=[Assignment("u", "reporting/edit", "ws")],
        default_roles=["reporting/view"],
    )

    assert [a.role_key for a in analytics_only.assignments] == ["usage-analytics/admin"]
    assert Assignment("u", "reporting/view", "ws", AssignmentSource.DEFAULT) in (
        reporting_editor.assignments
    )


def test_an_apps_area_name_resolves_to_one_ref_or_is_named_ambiguous():
    known = list(AREAS)
    assert resolve_ref("edit", None, known) == "reporting/edit"
    assert resolve_ref("user_management", "data-platform", known) == "data-platform/user_management"
    assert resolve_ref("reporting/view", None, known) == "reporting/view"
    assert resolve_ref("nothing", None, known) == "nothing"
    with pytest.raises(Conflict) as err:
        resolve_ref("user_management", None, known)
    assert err.value.field == "product"
    assert "data-platform, usage-analytics" in err.value.message


def test_a_group_only_product_refuses_direct_grants_naming_the_setting():
    """Seed 004: "user permissions are controlled by the groups to which a user is
    assigned"."""
    Product("reporting", "Reporting tool").check_direct_grant()
    with pytest.raises(Conflict) as err:
        Product("data-platform", "Data platform", group_only=True).check_direct_grant()
    assert (err.value.code, err.value.field) == ("group_only_product", "group_only")


def test_a_catalog_loads_into_its_own_product_made_from_the_catalog():
    reporting = catalogs.load("reporting")
    plan = plan_catalog_load(reporting, {}, {}, product_exists=False)

    assert plan.product == "reporting"
    assert plan.create_product == Product("reporting", "Reporting tool", reporting.description)
    assert {a.product for a in plan.create_areas} == {"reporting"}
    assert plan.set_default_role == "view"
    platform = catalogs.load("data-platform").product
    assert platform.group_only and platform.default_role is None
    elsewhere = plan_catalog_load(reporting, {}, {}, product="reeport", product_exists=False)
    assert elsewhere.create_product is not None and elsewhere.create_product.key == "reeport"
