"""Invitations that name where: a role at a scope, granted when the invitation is accepted.

Seed 003: "Start by inviting a User using their email address: ... Note that this can be
done at the Organization, Folder, or Report level", and View "is the default access
right which applies to any User when invited". Through the admin API, a real SMTP
server on loopback and the link in the email, as a person would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.invitations.conftest import Inbox, Reeport
from tests.permissions.conftest import Admin, Directory

RIGHTS = {"view", "edit", "share", "manage", "admin"}
ENTITLEMENTS = "end_user_portal.entitlements"


def invite(admin: Callable[..., Any], email: str, **where: str) -> dict[str, Any]:
    response = admin("POST", "/api/v1/invitations", json={"email": email, "name": "Ada", **where})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def accept(client: FlaskClient, inbox: Inbox, email: str) -> dict[str, Any]:
    [message] = inbox.to(email)
    response = client.post(f"/invitations/{inbox.token(message)}/accept", json={})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def rights(model: Admin, user: str, scope: str) -> set[str]:
    return set(model.at(user, scope)) & RIGHTS


def refused(response: Any) -> tuple[int, str, list[str]]:
    """The status, the reason and the fields an error names."""
    body = response.get_json()
    return response.status_code, body["reason"], list(body["errors"])


# Inviting at a scope ---------------------------------------------------------------


@pytest.mark.parametrize("level", ["org", "folder", "report"])
def test_a_user_is_invited_at_the_organization_folder_or_report_level(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, reeport: Reeport,
    inbox: Inbox, level: str,
) -> None:  # fmt: skip
    """Seed 003: "Note that this can be done at the Organization, Folder, or Report
    level"; accepting grants the right there, and below it."""
    scope = getattr(reeport, level)
    created = invite(admin, "ada@example.com", scope_id=scope, role="edit")
    # The invitation names its role by ref: product/key.
    assert (created["scope_id"], created["role"], created["grant_outcome"]) == (
        scope, "reporting/edit", None,
    )  # fmt: skip
    assert model.at("ada@example.com", scope) == {}  # nothing before the accept

    answer = accept(client, inbox, "ada@example.com")

    assert answer["grant"] == {"role": "reporting/edit", "scope_id": scope, "outcome": "granted"}
    assert rights(model, "ada@example.com", scope) == {"view", "edit"}
    assert rights(model, "ada@example.com", reeport.report) == {"view", "edit"}
    assert rights(model, "ada@example.com", reeport.other_folder) == (
        {"view", "edit"} if level == "org" else set()
    )
    shown = model.ok(model.get(f"/invitations/{created['id']}"))
    assert (shown["status"], shown["grant_outcome"], shown["grant_reason"]) == (
        "accepted", "granted", None,
    )  # fmt: skip


def test_view_is_the_default_right_of_an_invitation_that_names_no_role(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, reeport: Reeport, inbox: Inbox
) -> None:
    """Seed 003: View "is the default access right which applies to any User when
    invited"."""
    created = invite(admin, "ada@example.com", scope_id=reeport.folder)
    assert created["role"] == "reporting/view"  # the reporting product's default role

    accept(client, inbox, "ada@example.com")

    assert rights(model, "ada@example.com", reeport.folder) == {"view"}
    assert rights(model, "ada@example.com", reeport.report) == {"view"}
    assert rights(model, "ada@example.com", reeport.org) == set()


def test_accepting_grants_a_direct_assignment_that_explains_the_permission(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, reeport: Reeport, inbox: Inbox
) -> None:
    """Seed 003: "View + Share for Folder 1 = the User can view any Report and manage all
    Broadcasts for a given Folder", reached by an invitation to Folder 1 with Share."""
    invite(admin, "sharer@example.com", scope_id=reeport.folder, role="share")
    user_id = accept(client, inbox, "sharer@example.com")["user_id"]

    [assignment] = model.ok(model.get("/assignments", user=user_id))
    assert (assignment["role_key"], assignment["scope_id"]) == ("share", reeport.folder)
    assert rights(model, user_id, reeport.report) == {"view", "share"}
    why = model.explain(user_id, "share", "granted", reeport.report)
    assert why["allowed"] is True
    assert why["granting"][0]["granted_at"] == reeport.folder
    # The reader's cached set says the same.
    read = client.get(
        f"/api/v1/users/{user_id}/permissions",
        query_string={"scope": reeport.report},
        headers=model.keys.auth("read"),
    )
    assert read.status_code == 200
    assert set(read.get_json()["at_scope"]["areas"]) == {"reporting/view", "reporting/share"}


def test_an_invitation_that_names_nowhere_grants_nothing(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, reeport: Reeport, inbox: Inbox
) -> None:
    created = invite(admin, "ada@example.com")
    assert (created["scope_id"], created["role"]) == (None, None)
    assert accept(client, inbox, "ada@example.com")["grant"] is None
    assert model.ok(model.get("/assignments", user="ada@example.com")) == []
    assert model.ok(model.get(f"/invitations/{created['id']}"))["grant_outcome"] is None


# What cannot be invited to ----------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "reason", "field"),
    [
        ({"scope_id": "00000000-0000-0000-0000-000000000000"}, "unknown_scope", "scope_id"),
        ({"scope_id": "not-an-id", "role": "edit"}, "unknown_scope", "scope_id"),
        ({"scope_id": "FOLDER", "role": "no-such-role"}, "unknown_role", "role"),
        ({"role": "edit"}, "scope_required", "scope_id"),
        ({"scope_id": "FOLDER", "role": "admin"}, "scope_type_not_allowed", "scope_id"),
    ],
)
def test_an_invitation_to_what_cannot_be_granted_is_refused_naming_the_field(
    admin: Callable[..., Any], model: Admin, reeport: Reeport, inbox: Inbox,
    where: dict[str, str], reason: str, field: str,
) -> None:  # fmt: skip
    """Refused for what a direct assignment would be refused for ("Admin" is held for
    the whole organization), before anyone is mailed or made a user."""
    body = {
        "email": "ada@example.com",
        **{k: reeport.folder if v == "FOLDER" else v for k, v in where.items()},
    }
    response = admin("POST", "/api/v1/invitations", json=body)
    assert refused(response) == (422, reason, [field])
    assert inbox.messages == []
    assert model.ok(model.get("/invitations"))["total"] == 0
    assert model.get("/users/ada@example.com/permissions").status_code == 404


def test_a_scope_without_a_role_needs_a_default_role(
    admin: Callable[..., Any], model: Admin, inbox: Inbox
) -> None:
    model.load("data-platform")  # a catalog without a default role
    workspace = model.scope("workspace", "Root workspace")
    response = admin(
        "POST", "/api/v1/invitations", json={"email": "a@example.com", "scope_id": workspace}
    )
    assert refused(response) == (422, "role_required", ["role"])


@pytest.mark.parametrize("field", ["scope_id", "role"])
def test_an_empty_scope_or_role_is_refused_naming_it(
    admin: Callable[..., Any], reeport: Reeport, field: str
) -> None:
    body = {"email": "a@example.com", "scope_id": reeport.folder, "role": "edit", field: ""}
    response = admin("POST", "/api/v1/invitations", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]


def test_another_tenants_scope_is_unknown(
    admin: Callable[..., Any], client: FlaskClient, reeport: Reeport,
    make_tenant: Callable[[str], TenantKeys],
) -> None:  # fmt: skip
    """Every tenant sees only its own data: another tenant's folder names nothing."""
    other = Admin(client, make_tenant("globex"))
    other.load("reporting")
    theirs = other.scope("folder", "Their folder", other.scope("organization", "Globex"))
    response = admin(
        "POST", "/api/v1/invitations", json={"email": "a@example.com", "scope_id": theirs}
    )
    assert refused(response) == (422, "unknown_scope", ["scope_id"])


# Accounts (seed 001) ----------------------------------------------------------------


@dataclass
class Acme:
    na: str
    ma: str
    boston: str


@pytest.fixture
def acme(model: Admin) -> Acme:
    model.load("licensing-portal")
    na = model.scope("account", "Acme North America", None, "customer")
    ma = model.scope("account", "Acme Massachusetts", na, "customer")
    return Acme(na, ma, model.scope("account", "Acme Boston", ma, "customer"))


def test_an_invitation_to_an_account_makes_the_person_join_it(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, acme: Acme, inbox: Inbox
) -> None:
    """Seed 001: "Each FlexNet Operations user must be linked to at least one account"."""
    created = invite(admin, "b@acme.example", scope_id=acme.boston, role="portal_user")
    assert created["assign_account"] is True

    accept(client, inbox, "b@acme.example")

    perms = model.permissions("b@acme.example")
    assert perms["accounts"] == [acme.boston]
    assert model.at("b@acme.example", acme.boston)[ENTITLEMENTS] == "view"


def test_an_accept_the_account_rules_refuse_still_accepts_and_says_why(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, directory: Directory,
    acme: Acme, inbox: Inbox,
) -> None:  # fmt: skip
    """Seed 001: a user's accounts "must not be in the same vertical hierarchy". The
    person holds Acme Boston; an invitation to Acme Massachusetts, above it, is accepted
    (the person answered), but not granted: the invitation and the audit log say why."""
    user = directory.user("b@acme.example", user_type="Customer")
    model.assign(user, "portal_user", acme.boston, assign_account=True)
    created = invite(admin, "b@acme.example", scope_id=acme.ma, role="portal_user")
    assert created["user_id"] == user

    answer = accept(client, inbox, "b@acme.example")

    assert answer["status"] == "accepted"
    assert answer["grant"]["outcome"] == "refused"
    shown = model.ok(model.get(f"/invitations/{created['id']}"))
    assert (shown["status"], shown["grant_outcome"]) == ("accepted", "refused")
    assert "hierarchy" in shown["grant_reason"]
    assert model.permissions(user)["accounts"] == [acme.boston]
    [event] = model.ok(model.get("/audit", action="invitation.grant_refused"))
    assert event["target_id"] == created["id"]
    assert event["after"]["scope_id"] == acme.ma


def test_an_accept_of_a_grant_held_already_says_so(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, directory: Directory,
    reeport: Reeport, inbox: Inbox,
) -> None:  # fmt: skip
    user = directory.user("ada@example.com")
    model.assign(user, "edit", reeport.folder)
    created = invite(admin, "ada@example.com", scope_id=reeport.folder, role="edit")
    assert accept(client, inbox, "ada@example.com")["grant"]["outcome"] == "held_already"
    assert model.ok(model.get(f"/invitations/{created['id']}"))["grant_outcome"] == "held_already"
    assert len(model.ok(model.get("/assignments", user=user))) == 1


def test_a_scope_deleted_before_the_accept_is_a_refused_grant_not_a_failed_accept(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, reeport: Reeport, inbox: Inbox
) -> None:
    created = invite(admin, "ada@example.com", scope_id=reeport.other_folder, role="edit")
    model.ok(model.delete(f"/scopes/{reeport.other_folder}"))
    answer = accept(client, inbox, "ada@example.com")
    assert (answer["status"], answer["grant"]["outcome"]) == ("accepted", "refused")
    shown = model.ok(model.get(f"/invitations/{created['id']}"))
    assert "does not exist" in shown["grant_reason"]


# The email and the page say where ---------------------------------------------------


def test_the_email_says_where_the_person_is_invited_and_with_which_right(
    admin: Callable[..., Any], client: FlaskClient, reeport: Reeport, inbox: Inbox
) -> None:
    invite(admin, "ada@example.com", scope_id=reeport.folder, role="share")
    [message] = inbox.to("ada@example.com")
    assert "invited you to acme as Share at the folder Folder 1." in inbox.text(message)
    assert "<strong>acme</strong> as Share at the folder Folder 1.</p>" in inbox.html(message)
    page = client.get(f"/invitations/{inbox.token(message)}")
    assert b"as Share at the folder Folder 1." in page.data

    invite(admin, "plain@example.com")
    assert "invited you to acme.\n" in inbox.text(inbox.to("plain@example.com")[0])


def test_a_template_can_place_the_role_and_scope_and_an_older_one_still_works(
    admin: Callable[..., Any], reeport: Reeport, inbox: Inbox
) -> None:
    older = {
        "subject": "Welcome to $tenant_name",
        "text": "Hi $display_name, join here: $accept_url",
        "html": '<p>Hi $display_name, <a href="$accept_url">join</a></p>',
    }
    assert admin("PUT", "/api/v1/invitations/template", json=older).status_code == 200
    invite(admin, "old@example.com", scope_id=reeport.folder)
    [message] = inbox.to("old@example.com")
    assert inbox.text(message).startswith("Hi Ada, join here: http")

    newer = {
        **older,
        "subject": "$role_name on $scope_type $scope_name",
        "text": "You get $role_name at $scope_name ($scope_type): $accept_url",
    }
    assert admin("PUT", "/api/v1/invitations/template", json=newer).status_code == 200
    invite(admin, "new@example.com", scope_id=reeport.report, role="edit")
    [message] = inbox.to("new@example.com")
    assert message["Subject"] == "Edit on report Report 1"
    assert inbox.text(message).startswith("You get Edit at Report 1 (report): http")
    fields = admin("GET", "/api/v1/invitations/template").get_json()["fields_allowed"]
    assert {"role_name", "scope_name", "scope_type", "where"} <= set(fields)


def test_the_page_after_accepting_says_when_the_grant_was_refused(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, reeport: Reeport, inbox: Inbox
) -> None:
    invite(admin, "ada@example.com", scope_id=reeport.other_folder)
    model.ok(model.delete(f"/scopes/{reeport.other_folder}"))
    token = inbox.token(inbox.to("ada@example.com")[0])
    page = client.post(f"/invitations/{token}/accept", data={}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert b"You have accepted the invitation" in page.data
    assert b"could not be given yet" in page.data


def test_a_resent_invitation_still_says_where_and_still_grants_it(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, reeport: Reeport, inbox: Inbox
) -> None:
    created = invite(admin, "ada@example.com", scope_id=reeport.report)
    model.ok(model.post(f"/invitations/{created['id']}/resend"), 202)
    first, latest = inbox.to("ada@example.com")
    assert inbox.token(first) != inbox.token(latest)
    assert "as View at the report Report 1" in inbox.text(latest)
    response = client.post(f"/invitations/{inbox.token(latest)}/accept", json={})
    assert response.get_json()["grant"]["outcome"] == "granted"
    assert rights(model, "ada@example.com", reeport.report) == {"view"}


# Invitations in a tenant of several products ------------------------------------------


def test_an_invitation_to_a_group_only_product_is_refused_naming_the_setting(
    admin: Callable[..., Any], model: Admin, reeport: Reeport
) -> None:
    """Seed 004: "user permissions are controlled by the groups to which a user is
    assigned": a role-bearing invitation of the data platform is refused."""
    model.load("data-platform")
    root = model.scope("workspace", "Root workspace", reeport.org)
    response = admin(
        "POST",
        "/api/v1/invitations",
        json={"email": "ada@example.com", "scope_id": root, "role": "data-platform/viewer"},
    )
    assert refused(response) == (409, "group_only_product", ["group_only"])


def test_with_several_default_roles_an_invitation_without_a_role_names_its_product(
    admin: Callable[..., Any], model: Admin, reeport: Reeport, inbox: Inbox, client: FlaskClient
) -> None:
    """Each product has its own default role; an invitation naming only a scope must say
    whose, and then gets that product's (seed 003's View for the reporting tool)."""
    model.ok(model.post("/products", {"key": "wiki", "name": "Wiki"}), 201)
    model.ok(model.post("/areas", {"product": "wiki", "key": "read", "name": "Read"}), 201)
    model.ok(
        model.post(
            "/roles",
            {"product": "wiki", "key": "reader", "name": "Reader", "grants": {"read": "granted"}},
        ),
        201,
    )
    model.ok(model.patch("/products/wiki", {"default_role": "reader"}))

    unnamed = admin(
        "POST", "/api/v1/invitations", json={"email": "ada@example.com", "scope_id": reeport.folder}
    )
    assert refused(unnamed) == (422, "product_required", ["product"])
    created = invite(admin, "ada@example.com", scope_id=reeport.folder, product="reporting")
    assert created["role"] == "reporting/view"
    accept(client, inbox, "ada@example.com")
    assert model.at_refs("ada@example.com", reeport.folder) == {"reporting/view": "granted"}
