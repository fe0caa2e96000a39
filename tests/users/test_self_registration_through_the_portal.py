"""Seed 001's self-registration through the API an End-User Portal calls
(POST /api/v1/self-registrations, with the tenant's portal token):

"A user who self-registers through the End-User Portal provides a company name, a new
account is created to correspond to the new company name, and the user is assigned to
it. Optionally, users can select to be associated with an existing Self-Registered
account by providing the account ID upon self-registration, instead of creating a new
account."
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin
from tests.scim.conftest import Scim
from tests.users.conftest import Portal

ENTITLEMENTS = "end_user_portal.entitlements"


def person(user_name: str = "pat@initech.example", **more: Any) -> dict[str, Any]:
    return {
        "user_name": user_name,
        "email": user_name,
        "given_name": "Pat",
        "family_name": "Lee",
        **more,
    }


@pytest.fixture
def configured(admin: Admin) -> Admin:
    """The licensing portal's roles, and registrations giving Portal User by default
    (or Portal Administrative User when the registration asks for it)."""
    admin.load("licensing-portal")
    settings = {"default_role": "portal_user", "roles": ["portal_administrative_user"]}
    admin.ok(admin.put("/settings/self-registration", settings))
    return admin


def scope_count(admin: Admin) -> int:
    return len(admin.ok(admin.get("/scopes", page_size=100)))


def test_a_new_account_is_created_for_the_company_name_and_the_user_is_assigned_to_it(
    configured: Admin, portal: Portal, scim: Scim
) -> None:
    """ "A user who self-registers through the End-User Portal provides a company name, a
    new account is created to correspond to the new company name, and the user is
    assigned to it." """
    registered = configured.ok(portal.register(person(company="Initech")), 201)

    account = registered["account"]
    assert (account["name"], account["account_type"], account["created"]) == (
        "Initech",
        "self_registered",
        True,
    )
    assert configured.ok(configured.get(f"/scopes/{account['id']}"))["type"] == "account"
    shown = configured.permissions(registered["user"]["id"])
    assert shown["accounts"] == [account["id"]]
    assert (shown["user_type"], shown["user_type_raw"]) == ("self_registered", "Self-Registered")
    assert configured.at(registered["user"]["id"], account["id"])[ENTITLEMENTS] == "view"
    assert registered["role_key"] == "portal_user"


def test_the_user_is_created_as_scim_would_create_it_and_scim_reads_show_it(
    configured: Admin, portal: Portal, scim: Scim
) -> None:
    registered = configured.ok(portal.register(person(company="Initech")), 201)

    found = scim.get("/Users", filter='userName eq "pat@initech.example"').json["Resources"]

    assert [u["id"] for u in found] == [registered["user"]["id"]]
    assert found[0]["userType"] == "Self-Registered"
    assert found[0]["name"] == {"givenName": "Pat", "familyName": "Lee"}
    assert found[0]["emails"][0]["value"] == "pat@initech.example"
    assert found[0]["active"] is True


def test_users_can_join_an_existing_self_registered_account_by_its_id_instead(
    configured: Admin, portal: Portal
) -> None:
    """ "Optionally, users can select to be associated with an existing Self-Registered
    account by providing the account ID upon self-registration, instead of creating a
    new account." """
    first = configured.ok(portal.register(person(company="Initech")), 201)
    account_id = first["account"]["id"]
    scopes_before = scope_count(configured)

    second = configured.ok(
        portal.register(person("sam@initech.example", account_id=account_id)), 201
    )

    assert (second["account"]["id"], second["account"]["created"]) == (account_id, False)
    assert scope_count(configured) == scopes_before
    assert configured.permissions("sam@initech.example")["accounts"] == [account_id]


def test_an_unknown_account_id_is_404_naming_the_field_and_creates_nothing(
    configured: Admin, portal: Portal, scim: Scim
) -> None:
    """Seed 001: "Optionally, users can select to be associated with an existing Self-Registered
    account by providing the account ID upon self-registration, instead of creating a new
    account." An id that names no account is 404."""
    refused = portal.register(person(account_id="0e9d1f1c-0000-4000-8000-000000000000"))

    assert refused.status_code == 404
    assert "account_id" in refused.json["errors"]
    assert scim.get("/Users").json["totalResults"] == 0


@pytest.mark.parametrize(
    ("scope_type", "account_type"), [("account", "customer"), ("organization", None)]
)
def test_joining_a_scope_that_is_not_a_self_registered_account_is_409_naming_the_field(
    configured: Admin, portal: Portal, scim: Scim, scope_type: str, account_type: str | None
) -> None:
    """Seed 001: "Optionally, users can select to be associated with an existing Self-Registered
    account by providing the account ID upon self-registration, instead of creating a new
    account." Only a Self-Registered account can be joined."""
    acme = configured.scope(scope_type, "Acme", None, account_type)

    refused = portal.register(person(account_id=acme))

    assert refused.status_code == 409
    assert refused.json["reason"] == "not_self_registered"
    assert "account_id" in refused.json["errors"]
    assert scim.get("/Users").json["totalResults"] == 0


def test_an_account_of_another_tenant_cannot_be_joined(
    configured: Admin, portal: Portal, make_tenant: Any, client: FlaskClient
) -> None:
    other = Portal(client, make_tenant("globex"))
    other_admin = Admin(client, other.keys)
    other_admin.load("licensing-portal")
    other_admin.ok(other_admin.put("/settings/self-registration", {"default_role": "portal_user"}))
    theirs = other_admin.ok(other.register(person(company="Globex")), 201)["account"]["id"]

    refused = portal.register(person(account_id=theirs))

    assert refused.status_code == 404


@pytest.mark.parametrize(
    ("extra", "field"),
    [({}, "company"), ({"company": "Initech", "account_id": "x"}, "account_id")],
)
def test_a_registration_names_a_company_or_an_account_id(
    configured: Admin, portal: Portal, extra: dict[str, str], field: str
) -> None:
    """Seed 001: "A user who self-registers through the End-User Portal provides a company name,
    a new account is created to correspond to the new company name, and the user is assigned to
    it." / "Optionally, users can select to be associated with an existing Self-Registered
    account by providing the account ID upon self-registration, instead of creating a new
    account.": a registration names one or the other."""
    refused = portal.register(person(**extra))

    assert refused.status_code == 422
    assert field in refused.json["errors"]


def test_a_taken_user_name_is_409_naming_the_field_and_nothing_is_left_half_done(
    configured: Admin, portal: Portal, scim: Scim
) -> None:
    """One transaction: the account made for a refused registration is not kept."""
    configured.ok(portal.register(person(company="Initech")), 201)
    scopes_before = scope_count(configured)

    again = portal.register(person("PAT@initech.example", company="Initech Two"))

    assert again.status_code == 409
    assert again.json["reason"] == "duplicate"
    assert "user_name" in again.json["errors"]
    assert scope_count(configured) == scopes_before
    assert scim.get("/Users").json["totalResults"] == 1


def test_a_membership_the_account_rules_refuse_leaves_no_user_and_no_account(
    configured: Admin, portal: Portal, scim: Scim
) -> None:
    """Seed 001: "A user who self-registers through the End-User Portal provides a company name,
    a new account is created to correspond to the new company name, and the user is assigned to
    it." When the account rules refuse that assignment, nothing is kept."""
    rules = {"account_rules": {"account_types_for_user_type": {"self_registered": ["customer"]}}}
    configured.ok(configured.put("/settings/permissions", rules))
    scopes_before = scope_count(configured)

    refused = portal.register(person(company="Initech"))

    assert refused.status_code == 409
    assert refused.json["reason"] == "user_type_mismatch"
    assert "company" in refused.json["errors"]
    assert scope_count(configured) == scopes_before
    assert scim.get("/Users").json["totalResults"] == 0


def test_a_registration_may_name_a_role_the_tenant_allows_and_no_other(
    configured: Admin, portal: Portal
) -> None:
    admin_role = configured.ok(
        portal.register(person(company="Initech", role="portal_administrative_user")), 201
    )
    refused = portal.register(person("sam@x.example", company="X", role="system_administrator"))

    assert admin_role["role_key"] == "portal_administrative_user"
    assert refused.status_code == 422
    assert refused.json["reason"] == "role_not_allowed"
    assert "role" in refused.json["errors"]


def test_without_settings_a_registration_naming_no_role_is_409_naming_the_role(
    admin: Admin, portal: Portal
) -> None:
    admin.load("licensing-portal")

    refused = portal.register(person(company="Initech"))

    assert refused.status_code == 409
    assert refused.json["reason"] == "self_registration_not_configured"
    assert "role" in refused.json["errors"]


def test_new_accounts_go_below_the_scope_the_tenant_chose(
    configured: Admin, portal: Portal
) -> None:
    home = configured.scope("organization", "Self-registered customers")
    configured.ok(configured.put("/settings/self-registration", {"parent_scope_id": home}))

    registered = configured.ok(portal.register(person(company="Initech")), 201)

    assert registered["account"]["parent_id"] == home


def test_a_registration_is_audited_with_each_of_its_steps(
    configured: Admin, portal: Portal, tenant: TenantKeys
) -> None:
    registered = configured.ok(portal.register(person(company="Initech")), 201)

    events = configured.ok(configured.get("/audit", page_size=100))
    mine = [e for e in events if e["actor"] == events[0]["actor"]]

    assert events[0]["action"] == "self_registration.register"
    assert events[0]["target_id"] == registered["user"]["id"]
    assert events[0]["after"]["account_id"] == registered["account"]["id"]
    assert {e["action"] for e in mine} == {
        "self_registration.register",
        "scim.user.create",
        "scope.create",
        "assignment.create",
    }


@pytest.mark.parametrize("kind", ["admin", "scim", "read"])
def test_only_a_portal_token_may_register(
    configured: Admin, portal: Portal, tenant: TenantKeys, kind: str
) -> None:
    refused = portal.register(person(company="Initech"), token=getattr(tenant, kind))

    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/roles"),
        ("POST", "/api/v1/tokens"),
        ("GET", "/api/v1/settings/self-registration"),
        ("GET", "/api/v1/users/anyone/permissions"),
        ("POST", "/api/v1/check"),
        ("GET", "/scim/v2/Users"),
    ],
)
def test_a_portal_token_may_do_nothing_else(
    client: FlaskClient, tenant: TenantKeys, method: str, path: str
) -> None:
    response = client.open(path, method=method, headers=tenant.auth("portal"), json={})

    assert response.status_code == 403


def test_an_admin_makes_a_portal_token(client: FlaskClient, tenant: TenantKeys) -> None:
    made = client.post("/api/v1/tokens", json={"kind": "portal"}, headers=tenant.auth("admin"))

    assert made.status_code == 201
    assert made.json["token"].startswith("rc_portal_")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"default_role": "no_such_role"}, "default_role"),
        ({"roles": ["order_entry"]}, "roles"),
        ({"parent_scope_id": "0e9d1f1c-0000-4000-8000-000000000000"}, "parent_scope_id"),
    ],
)
def test_settings_are_checked_naming_the_field(
    configured: Admin, change: dict[str, Any], field: str
) -> None:
    refused = configured.put("/settings/self-registration", change)

    assert refused.status_code == 422
    assert field in refused.json["errors"]
    assert configured.ok(configured.get("/settings/self-registration")) == {
        "parent_scope_id": None,
        "default_role": "portal_user",
        "roles": ["portal_administrative_user"],
    }


def test_a_settings_change_is_audited(configured: Admin) -> None:
    events = configured.ok(configured.get("/audit", action="self_registration.settings.update"))

    assert events[0]["after"]["default_role"] == "portal_user"


def test_bad_input_is_a_clear_4xx_before_anything_is_made(
    configured: Admin, portal: Portal, client: FlaskClient, tenant: TenantKeys
) -> None:
    headers = {**tenant.auth("portal"), "Content-Type": "application/json"}
    deep = client.post("/api/v1/self-registrations", data="[" * 100_000, headers=headers)
    nul = portal.register(person("nul\x00@x.example", company="X"))
    long_company = portal.register(person(company="x" * 301))
    bad_email = portal.register({**person(company="X"), "email": "not an address"})
    unknown = client.post("/api/v1/self-registrations", json=person(company="X"))

    assert deep.status_code == 400
    assert nul.status_code == 422 and "user_name" in str(nul.json["errors"])
    assert long_company.status_code == 422 and "company" in str(long_company.json["errors"])
    assert bad_email.status_code == 422 and "email" in str(bad_email.json["errors"])
    assert unknown.status_code == 401
    assert scope_count(configured) == 0
