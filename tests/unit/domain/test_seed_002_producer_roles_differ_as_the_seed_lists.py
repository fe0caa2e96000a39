"""Seed 002: seven producer roles, each a bundle of on/off permissions in categories."""

from __future__ import annotations

import pytest

from service.domain import (
    AccountType,
    Assignment,
    Catalog,
    Scope,
    ScopeTree,
    ValidationFailed,
    compute_effective_permissions,
)

PRODUCER_ROLES = [
    "Customer Support Representative",
    "Executive",
    "IT Back Office Manager",
    "Order Entry",
    "Product Manager",
    "Sales Operations Manager",
    "System Administrator",
]
# The seed names categories with an en dash; spelled out so no one "fixes" it to a hyphen.
DASH = "\N{EN DASH}"
ENTITLEMENTS = f"Operations Entitlements {DASH} Producer Portal"
END_USER = f"Account Permissions {DASH} End-User Portal"
PRODUCER = f"Account Permissions {DASH} Producer Portal"


def permissions(catalog: Catalog, role_name: str) -> set[tuple[str, str]]:
    """(category, permission) pairs of a role, by the seed's own names."""
    role = next(r for r in catalog.roles if r.name == role_name)
    areas = catalog.areas_by_key
    return {(areas[k].category or "", areas[k].name) for k in role.grants}


def test_the_seven_producer_roles_hold_as_many_permissions_as_the_seed_lists(
    licensing: Catalog,
):
    counts = {name: len(permissions(licensing, name)) for name in PRODUCER_ROLES}

    assert counts == {
        "Customer Support Representative": 41,
        "Executive": 16,
        "IT Back Office Manager": 25,
        "Order Entry": 44,
        "Product Manager": 53,
        "Sales Operations Manager": 48,
        "System Administrator": 120,
    }


def test_every_producer_permission_is_on_or_off(licensing: Catalog):
    producer_areas = {k for r in licensing.roles if r.name in PRODUCER_ROLES for k in r.grants}

    assert all(licensing.areas_by_key[k].levels == ("granted",) for k in producer_areas)


def test_order_entry_and_customer_support_differ_exactly_as_the_seed_lists(licensing: Catalog):
    order_entry = permissions(licensing, "Order Entry")
    support = permissions(licensing, "Customer Support Representative")

    account_perms = {
        "View Entitlements",
        "Return",
        "Repair",
        "Rehost",
        "Generate License",
        "View Licenses",
        "View Devices",
    }
    assert order_entry - support == {
        (ENTITLEMENTS, "Create Entitlements"),
        (ENTITLEMENTS, "Upsell Entitlements"),
        (ENTITLEMENTS, "Upgrade Entitlements"),
        (ENTITLEMENTS, "Renew Entitlements"),
    } | {(END_USER, p) for p in account_perms}
    assert support - order_entry == {
        ("Operations Products, Suites and Maintenance", "Download File Images"),
    } | {(PRODUCER, p) for p in account_perms}


def test_the_two_account_permission_categories_stay_distinct(licensing: Catalog):
    categories = set(licensing.categories)

    assert END_USER in categories
    assert PRODUCER in categories
    # Product Manager's table names the category without a portal; kept as written.
    assert ("Account Permissions", "Create Ad-hoc Emails") in permissions(
        licensing, "Product Manager"
    )


def test_only_the_system_administrator_has_child_account_permissions(licensing: Catalog):
    child = {
        name: {p for c, p in permissions(licensing, name) if c == "Child Account Permissions"}
        for name in PRODUCER_ROLES
    }

    assert child.pop("System Administrator") == {
        "View Child Line Items",
        "Return Child Fulfillments",
        "Rehost Child Fulfillments",
        "Upgrade Child Fulfillments",
        "Renew Child Fulfillments",
        "Transfer Child Fulfillments",
        "View Child Licenses",
        "Generate License for Child Line Items",
        "Repair Child Fulfillments",
        "View Child Devices",
        "View Child Accounts",
        "Manage Child Accounts",
        "View Child Users",
        "Manage Child Users",
    }
    assert all(not perms for perms in child.values())


def test_the_executive_only_views_apart_from_what_every_producer_role_has(licensing: Catalog):
    shared_by_all = set.intersection(*(permissions(licensing, n) for n in PRODUCER_ROLES))
    executive = permissions(licensing, "Executive")

    assert shared_by_all == {
        ("Usage", "View Usage"),
        ("Usage", "Edit Usage"),
        ("Customer Growth", "Manage and View Customer Growth"),
        ("Updates", "Manage and view Updates"),
        ("Account Management", "View Accounts"),
        ("Operations Feature Bundles", "View Feature Bundles"),
        ("Operations License Models", "View License Models"),
        ("Operations Features", "View Features"),
        ("Operations Products, Suites and Maintenance", "View Products, Suites and Maintenance"),
        (ENTITLEMENTS, "View Entitlements"),
        (f"Operations License Management {DASH} Producer Portal", "View Licenses"),
    }
    assert all(name.startswith("View") for _, name in executive - shared_by_all)


def test_the_system_administrator_reaches_accounts_below_and_order_entry_does_not(
    licensing: Catalog,
):
    tree = ScopeTree(
        [
            Scope("vendor", "account", "Vendor", None, AccountType.PRODUCER),
            Scope("vendor-eu", "account", "Vendor EU", "vendor", AccountType.PRODUCER),
        ]
    )
    create = "entitlements.create_entitlements"

    def holds_below(role: str) -> bool:
        # The user belongs to the producer account (seed 001: "Each ... user must be
        # linked to at least one account ... a Producer account").
        perms = compute_effective_permissions(
            [Assignment("u", role, "vendor")],
            licensing.roles_by_key,
            licensing.areas_by_key,
            tree,
            accounts=["vendor"],
        )
        assert perms.allows("vendor", create, "granted", tree)
        return perms.allows("vendor-eu", create, "granted", tree)

    assert holds_below("system_administrator") is True
    assert holds_below("order_entry") is False


def test_producer_roles_belong_on_producer_accounts(licensing: Catalog):
    customer = Scope("acme", "account", "Acme", None, AccountType.CUSTOMER)
    tree = ScopeTree([customer])

    with pytest.raises(ValidationFailed) as err:
        licensing.roles_by_key["order_entry"].check_grantable_at(customer, tree)
    assert err.value.code == "scope_type_not_allowed"
    licensing.roles_by_key["portal_user"].check_grantable_at(customer, tree)
