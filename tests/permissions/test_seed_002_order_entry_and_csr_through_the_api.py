"""Seed 002 end to end: Order Entry vs Customer Support Representative."""

from __future__ import annotations

import pytest

from tests.permissions.conftest import Admin, Directory

DASH = "\N{EN DASH}"
ENTITLEMENTS = f"Operations Entitlements {DASH} Producer Portal"
END_USER = f"Account Permissions {DASH} End-User Portal"
PRODUCER = f"Account Permissions {DASH} Producer Portal"
ACCOUNT_PERMS = {
    "View Entitlements",
    "Return",
    "Repair",
    "Rehost",
    "Generate License",
    "View Licenses",
    "View Devices",
}


@pytest.fixture
def vendor(admin: Admin, directory: Directory) -> tuple[str, str]:
    admin.load("licensing-portal")
    vendor = admin.scope("account", "Vendor", None, "producer")
    vendor_eu = admin.scope("account", "Vendor EU", vendor, "producer")
    directory.user("oe@vendor.example", user_type="Producer")
    directory.user("csr@vendor.example", user_type="Producer")
    admin.assign("oe@vendor.example", "order_entry", vendor, assign_account=True)
    admin.assign(
        "csr@vendor.example", "customer_support_representative", vendor, assign_account=True
    )
    return vendor, vendor_eu


def named(admin: Admin, area_keys: set[str]) -> set[tuple[str, str]]:
    areas = {a["key"]: a for a in admin.ok(admin.get("/areas", page_size=500))}
    return {(areas[k]["category"], areas[k]["name"]) for k in area_keys}


def test_order_entry_and_customer_support_differ_exactly_as_the_seed_lists(
    admin: Admin, vendor: tuple[str, str]
) -> None:
    order_entry = named(admin, set(admin.at("oe@vendor.example", vendor[0])))
    support = named(admin, set(admin.at("csr@vendor.example", vendor[0])))

    assert len(order_entry) == 44 and len(support) == 41
    assert order_entry - support == {
        (ENTITLEMENTS, "Create Entitlements"),
        (ENTITLEMENTS, "Upsell Entitlements"),
        (ENTITLEMENTS, "Upgrade Entitlements"),
        (ENTITLEMENTS, "Renew Entitlements"),
    } | {(END_USER, p) for p in ACCOUNT_PERMS}
    assert support - order_entry == {
        ("Operations Products, Suites and Maintenance", "Download File Images"),
    } | {(PRODUCER, p) for p in ACCOUNT_PERMS}


def test_neither_reaches_the_child_account(admin: Admin, vendor: tuple[str, str]) -> None:
    assert admin.at("oe@vendor.example", vendor[1]) == {}
    assert admin.at("csr@vendor.example", vendor[1]) == {}


def test_a_producer_role_cannot_be_granted_at_a_customer_account(
    admin: Admin, vendor: tuple[str, str]
) -> None:
    customer = admin.scope("account", "Acme", None, "customer")

    refused = admin.post(
        "/mappings",
        {
            "group": {"kind": "displayName", "value": "Order Entry"},
            "role_key": "order_entry",
            "scope_id": customer,
        },
    )

    assert refused.status_code == 422
    assert refused.json["reason"] == "scope_type_not_allowed"
    assert "scope_id" in refused.json["errors"]


def test_order_entry_at_a_producer_account_the_user_is_not_in_grants_nothing(
    admin: Admin, directory: Directory, vendor: tuple[str, str]
) -> None:
    """Seed 001: "Each FlexNet Operations user must be linked to at least one account—either
    a Producer account to log in to the Producer Portal ...": Order Entry granted at a
    producer account without making the user a member grants none of its permissions,
    and the grant is a listed conflict."""
    directory.user("new.oe@vendor.example", user_type="Producer")
    assignment = admin.assign("new.oe@vendor.example", "order_entry", vendor[0])

    perms = admin.permissions("new.oe@vendor.example")

    assert perms["accounts"] == []
    assert admin.at("new.oe@vendor.example", vendor[0]) == {}
    assert perms["scopes"] == {}
    (conflict,) = perms["conflicts"]
    assert (conflict["rule"], conflict["account_id"]) == ("not_a_member", vendor[0])
    assert conflict["origin_detail"]["assignment_id"] == assignment


def test_order_entry_takes_effect_once_the_user_joins_the_producer_account(
    admin: Admin, directory: Directory, vendor: tuple[str, str]
) -> None:
    """Seed 001: "Each FlexNet Operations user must be linked to at least one account":
    the same grant holds as soon as the user is a member of the producer account."""
    directory.user("new.oe@vendor.example", user_type="Producer")
    admin.assign("new.oe@vendor.example", "order_entry", vendor[0])
    admin.assign("new.oe@vendor.example", "executive", vendor[0], assign_account=True)

    perms = admin.permissions("new.oe@vendor.example")

    assert perms["accounts"] == [vendor[0]]
    assert perms["conflicts"] == []
    assert len(admin.at("new.oe@vendor.example", vendor[0])) >= 44
