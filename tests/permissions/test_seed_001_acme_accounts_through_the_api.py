"""Seed 001 end to end: users A and B in the Acme hierarchy, and their account conflicts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.permissions.conftest import Admin, Directory

ENTITLEMENTS = "end_user_portal.entitlements"


@dataclass
class Acme:
    na: str
    east: str
    ma: str
    boston: str
    ny: str
    special: str


@pytest.fixture
def acme(admin: Admin) -> Acme:
    """The seed's hierarchy (see tests/unit/domain/conftest.py for how it is read)."""
    admin.load("licensing-portal")
    na = admin.scope("account", "Acme North America", None, "customer")
    east = admin.scope("account", "Acme East", na, "customer")
    ma = admin.scope("account", "Acme Massachusetts", east, "customer")
    boston = admin.scope("account", "Acme Boston", ma, "customer")
    ny = admin.scope("account", "Acme New York", east, "customer")
    special = admin.scope("account", "Special Operations", None, "customer")
    return Acme(na, east, ma, boston, ny, special)


def test_user_a_as_portal_administrator_sees_massachusetts_its_sub_accounts_and_new_york(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    user_a = directory.user("user.a@acme.example", user_type="Customer")
    directory.group("MA Admins", users=[user_a])
    directory.group("NY Admins", users=[user_a])
    admin.map("MA Admins", "portal_administrative_user", acme.ma, assign_account=True)
    admin.map("NY Admins", "portal_administrative_user", acme.ny, assign_account=True)

    perms = admin.permissions("user.a@acme.example")

    assert sorted(perms["accounts"]) == sorted([acme.ma, acme.ny])
    assert perms["conflicts"] == []
    for seen in (acme.ma, acme.boston, acme.ny):
        assert admin.at("user.a@acme.example", seen)[ENTITLEMENTS] == "manage"
    for unseen in (acme.east, acme.na, acme.special):
        assert ENTITLEMENTS not in admin.at("user.a@acme.example", unseen)


def test_user_b_as_portal_user_sees_only_acme_boston_and_special_operations(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    directory.user("user.b@acme.example", user_type="Customer")
    admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)
    admin.assign("user.b@acme.example", "portal_user", acme.special, assign_account=True)

    perms = admin.permissions("user.b@acme.example")

    assert sorted(perms["accounts"]) == sorted([acme.boston, acme.special])
    for seen in (acme.boston, acme.special):
        assert admin.at("user.b@acme.example", seen)[ENTITLEMENTS] == "view"
    for unseen in (acme.na, acme.east, acme.ma, acme.ny):
        assert admin.at("user.b@acme.example", unseen) == {}


@pytest.mark.parametrize("above", ["ma", "east", "na"])
def test_user_b_cannot_be_assigned_to_an_account_above_acme_boston(
    admin: Admin, directory: Directory, acme: Acme, above: str
) -> None:
    directory.user("user.b@acme.example", user_type="Customer")
    admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)

    refused = admin.post(
        "/assignments",
        {
            "user": "user.b@acme.example",
            "role_key": "portal_user",
            "scope_id": getattr(acme, above),
            "assign_account": True,
        },
    )

    assert refused.status_code == 409
    assert refused.json["reason"] == "same_vertical_hierarchy"
    assert "scope_id" in refused.json["errors"]


def test_a_customer_user_cannot_join_a_partner_account(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    reseller = admin.scope("account", "Acme Reseller", None, "partner")
    directory.user("user.b@acme.example", user_type="Customer")

    refused = admin.post(
        "/assignments",
        {
            "user": "user.b@acme.example",
            "role_key": "portal_user",
            "scope_id": reseller,
            "assign_account": True,
        },
    )

    assert refused.status_code == 409
    assert refused.json["reason"] == "user_type_mismatch"


def test_a_mapping_that_breaks_a_rule_is_listed_as_a_conflict_and_resolves_itself(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    user_b = directory.user("user.b@acme.example", user_type="Customer")
    admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)
    ma_admins = directory.group("MA Admins", users=[user_b])
    mapping = admin.map("MA Admins", "portal_administrative_user", acme.ma, assign_account=True)

    conflicts = admin.ok(admin.get("/conflicts"))
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict["user_id"] == user_b
    assert conflict["user_name"] == "user.b@acme.example"
    assert conflict["account_id"] == acme.ma
    assert conflict["account_name"] == "Acme Massachusetts"
    assert conflict["rule"] == "same_vertical_hierarchy"
    assert conflict["origin"] == mapping
    assert conflict["mapping"]["id"] == mapping
    assert conflict["mapping"]["role_key"] == "portal_administrative_user"
    assert conflict["blocking_account_id"] == acme.boston
    assert conflict["blocking_origin"] == "direct"
    # The refused membership withholds the mapped role too, and explain says why.
    assert ENTITLEMENTS not in admin.at("user.b@acme.example", acme.ma)
    why = admin.explain("user.b@acme.example", ENTITLEMENTS, "manage", acme.ma)
    assert why["outcome"] == "refused_by_account_conflict"
    assert why["refused"][0]["conflict"]["rule"] == "same_vertical_hierarchy"

    directory.remove(ma_admins, user_b)

    assert admin.ok(admin.get("/conflicts")) == []
    assert admin.permissions("user.b@acme.example")["accounts"] == [acme.boston]


def test_a_conflict_goes_when_the_clashing_mapping_is_deleted(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    user_b = directory.user("user.b@acme.example", user_type="Customer")
    directory.group("Boston Users", users=[user_b])
    directory.group("East Users", users=[user_b])
    first = admin.map("Boston Users", "portal_user", acme.boston, assign_account=True)
    second = admin.map("East Users", "portal_user", acme.east, assign_account=True)

    listed = admin.ok(admin.get("/conflicts", user="user.b@acme.example"))
    assert [(c["account_id"], c["origin"]) for c in listed] == [(acme.east, second)]

    admin.ok(admin.delete(f"/mappings/{first}"), 204)

    assert admin.ok(admin.get("/conflicts")) == []
    assert admin.permissions("user.b@acme.example")["accounts"] == [acme.east]
