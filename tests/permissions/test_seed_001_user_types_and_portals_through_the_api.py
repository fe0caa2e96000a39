"""Seed 001 through the API: the four user types, the accounts each may belong to, the two
portals' roles and the account types they are granted at, and a user's link to an
account before a producer role takes effect.

Users come as an IdP leaves them, their SCIM userType spelled as the seed names the
Manage Users page's tabs ("Customer Users" ...); roles are granted with the admin API and
read back from the admin permissions answer. Each test quotes the sentence it proves.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.permissions.test_seed_001_acme_accounts_through_the_api import ask_to_join
from tests.permissions.test_writes_are_validated_naming_the_field import assert_refused
from tests.users.conftest import Portal

# The seed's four types, as sent in the SCIM userType, and the account type each belongs to.
USER_TYPES = {
    "Customer Users": "customer",
    "Producer Users": "producer",
    "Partner Users": "partner",
    "Self-Registered Users": "self_registered",
}
# The portal role granted at each account type: the Producer Portal's at producer accounts,
# the End-User Portal's at the others; and a permission each role holds.
ROLE_AT = {
    "customer": "portal_user",
    "producer": "order_entry",
    "partner": "portal_user",
    "self_registered": "portal_user",
}
PERMISSION_OF = {
    "portal_user": "end_user_portal.entitlements",
    "order_entry": "entitlements.create_entitlements",
}
USER = "user@example.com"


@pytest.fixture
def accounts(admin: Admin) -> dict[str, str]:
    """One account of each type, by account type."""
    admin.load("licensing-portal")
    return {kind: admin.scope("account", f"A {kind} account", None, kind) for kind in ROLE_AT}


def join(admin: Admin, account_type: str, accounts: dict[str, str]) -> TestResponse:
    """Ask to give USER the portal role of ``account_type``'s account, as a member of it."""
    return ask_to_join(admin, USER, ROLE_AT[account_type], accounts[account_type])


@pytest.mark.parametrize("user_type", list(USER_TYPES))
def test_each_of_the_four_user_types_belongs_to_accounts_of_its_own_type(
    admin: Admin, directory: Directory, accounts: dict[str, str], user_type: str
) -> None:
    """Seed 001: "A user belongs to one of four types." and the four:
    "Customer Users - End users of a producer's software or device";
    "Producer Users - Software producer or intelligent device manufacturer users";
    "Partner Users - Distribution partner users like wholesalers, distributors, resellers,
    and retailers"; "Self-Registered Users - Users who self-register by logging in to the
    End-User Portal with an entitlement ID or activation ID and set up their own user
    account". A user of each type joins an account of its own type and holds its portal's
    role there; an account of any other type is 409 naming the user type rule."""
    own = USER_TYPES[user_type]
    directory.user(USER, user_type=user_type)

    joined = join(admin, own, accounts)
    others = {kind: join(admin, kind, accounts) for kind in accounts if kind != own}

    assert joined.status_code == 201, joined.get_data(True)
    perms = admin.permissions(USER)
    assert (perms["user_type"], perms["accounts"]) == (own, [accounts[own]])
    assert PERMISSION_OF[ROLE_AT[own]] in admin.at(USER, accounts[own])
    assert {kind: (r.status_code, r.json["reason"]) for kind, r in others.items()} == {
        kind: (409, "user_type_mismatch") for kind in others
    }
    assert all("scope_id" in r.json["errors"] for r in others.values())


@pytest.mark.parametrize(
    ("role", "account_type"),
    [
        ("portal_user", "producer"),
        ("portal_administrative_user", "producer"),
        ("order_entry", "customer"),
        ("system_administrator", "partner"),
    ],
)
def test_the_producer_portal_s_roles_go_to_producer_accounts_the_end_user_portal_s_elsewhere(
    admin: Admin, accounts: dict[str, str], role: str, account_type: str
) -> None:
    """Seed 001: "Each FlexNet Operations user must be linked to at least one
    account-either a Producer account to log in to the Producer Portal, or a Customer or
    Partner account to log in to the End-User Portal." The Producer Portal's roles (seed
    002's producer roles) are granted at producer accounts, the End-User Portal's at
    customer and partner accounts (and self-registered ones); mapping one at an account
    of the other portal is 422 naming scope_id."""
    refused = admin.post(
        "/mappings",
        {
            "group": {"kind": "displayName", "value": "Portal Users"},
            "role_key": role,
            "scope_id": accounts[account_type],
        },
    )

    assert_refused(refused, 422, "scope_id", "scope_type_not_allowed")


def test_a_producer_role_at_a_producer_account_the_user_is_not_linked_to_grants_nothing(
    admin: Admin, directory: Directory, accounts: dict[str, str]
) -> None:
    """Seed 001: "Each FlexNet Operations user must be linked to at least one account-either
    a Producer account to log in to the Producer Portal ...": Order Entry granted at a
    producer account without making the user a member grants none of its permissions,
    and the grant is a listed conflict naming the account and the assignment."""
    directory.user(USER, user_type="Producer Users")
    assignment = admin.assign(USER, "order_entry", accounts["producer"])

    perms = admin.permissions(USER)

    assert perms["accounts"] == []
    assert admin.at(USER, accounts["producer"]) == {}
    assert perms["scopes"] == {}
    (conflict,) = perms["conflicts"]
    assert (conflict["rule"], conflict["account_id"]) == ("not_a_member", accounts["producer"])
    assert conflict["origin_detail"]["assignment_id"] == assignment


def test_the_producer_role_takes_effect_once_the_user_is_linked_to_the_account(
    admin: Admin, directory: Directory, accounts: dict[str, str]
) -> None:
    """Seed 001: "Each FlexNet Operations user must be linked to at least one account":
    the same grant holds as soon as the user is a member of the producer account (here
    through another role's assignment that makes the user a member)."""
    directory.user(USER, user_type="Producer Users")
    admin.assign(USER, "order_entry", accounts["producer"])
    admin.assign(USER, "executive", accounts["producer"], assign_account=True)

    perms = admin.permissions(USER)

    assert perms["accounts"] == [accounts["producer"]]
    assert perms["conflicts"] == []
    assert PERMISSION_OF["order_entry"] in admin.at(USER, accounts["producer"])


def test_a_user_who_self_registers_is_a_self_registered_user_of_self_registered_accounts(
    admin: Admin, accounts: dict[str, str], client: FlaskClient, tenant: TenantKeys
) -> None:
    """Seed 001: "Self-Registered Users - Users who self-register by logging in to the
    End-User Portal with an entitlement ID or activation ID and set up their own user
    account". The user the portal registers is of that type: a member of the
    self-registered account made for its company, holding the End-User Portal's role
    there, and refused at a customer account (409 naming the user type rule)."""
    admin.ok(admin.put("/settings/self-registration", {"default_role": "portal_user"}))
    person = {"user_name": USER, "email": USER, "given_name": "Pat", "family_name": "Lee"}

    registered = admin.ok(Portal(client, tenant).register({**person, "company": "Initech"}), 201)
    refused = join(admin, "customer", accounts)

    account = registered["account"]["id"]
    perms = admin.permissions(USER)
    assert (perms["user_type"], perms["accounts"]) == ("self_registered", [account])
    assert PERMISSION_OF["portal_user"] in admin.at(USER, account)
    assert_refused(refused, 409, "scope_id", "user_type_mismatch")
