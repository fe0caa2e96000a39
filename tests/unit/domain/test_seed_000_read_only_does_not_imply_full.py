"""Seed 000: permissions with full and read-only variants, and a separate Reporting API."""

from __future__ import annotations

import pytest

from service.domain import (
    Assignment,
    Catalog,
    EffectivePermissions,
    Scope,
    ScopeTree,
    compute_effective_permissions,
)

WITH_READ_ONLY = ["user_management", "reachout", "developer", "license_key_management", "billing"]


@pytest.fixture
def tree() -> ScopeTree:
    return ScopeTree(
        [Scope("org", "organization", "Org"), Scope("app", "product", "Our App", "org")],
        declared_types=["product"],
    )


def holding(catalog: Catalog, tree: ScopeTree, *roles: str) -> EffectivePermissions:
    return compute_effective_permissions(
        [Assignment("u", r, "app") for r in roles],
        catalog.roles_by_key,
        catalog.areas_by_key,
        tree,
    )


@pytest.mark.parametrize("area", WITH_READ_ONLY)
def test_full_implies_read_only_but_read_only_does_not_imply_full(
    usage_analytics: Catalog, area: str
):
    the_area = usage_analytics.areas_by_key[area]

    assert the_area.levels == ("read_only", "full")
    assert the_area.implies("full", "read_only")
    assert not the_area.implies("read_only", "full")


@pytest.mark.parametrize("area", ["reachout", "developer", "license_key_management", "billing"])
def test_a_read_only_role_allows_viewing_but_not_changing(
    usage_analytics: Catalog, tree: ScopeTree, area: str
):
    perms = holding(usage_analytics, tree, f"{area}_read_only")

    assert perms.allows("app", area, "read_only", tree)
    assert not perms.allows("app", area, "full", tree)


def test_full_user_management_comes_only_with_the_product_administrator(
    usage_analytics: Catalog,
):
    granting_full = [
        r.name for r in usage_analytics.roles if r.grants.get("user_management") == "full"
    ]

    assert granting_full == ["Product Administrator"]


def test_the_product_administrator_holds_every_permission_at_its_highest_level(
    usage_analytics: Catalog, tree: ScopeTree
):
    perms = holding(usage_analytics, tree, "product_administrator")

    assert perms.for_scope("app", tree) == {a.key: a.highest for a in usage_analytics.areas}


def test_the_reporting_api_is_separate_from_reporting_in_the_dashboard(
    usage_analytics: Catalog, tree: ScopeTree
):
    ui_only = holding(usage_analytics, tree, "reporting")
    api_only = holding(usage_analytics, tree, "reporting_api")

    assert ui_only.for_scope("app", tree) == {"reporting": "granted"}
    assert api_only.for_scope("app", tree) == {"reporting_api": "granted"}


def test_a_developer_also_gets_full_reporting(usage_analytics: Catalog, tree: ScopeTree):
    perms = holding(usage_analytics, tree, "developer")

    assert perms.for_scope("app", tree) == {"developer": "full", "reporting": "granted"}


def test_a_role_at_the_organization_holds_in_its_products(
    usage_analytics: Catalog, tree: ScopeTree
):
    perms = compute_effective_permissions(
        [Assignment("u", "billing_read_only", "org")],
        usage_analytics.roles_by_key,
        usage_analytics.areas_by_key,
        tree,
    )

    assert perms.level_at("app", "billing", tree) == "read_only"
