"""Seed 000 through the API: inviting a user to a product of the usage-analytics dashboard
with the permissions chosen for them, and editing an existing user's permissions.

The invitation goes out through the admin API to a real SMTP server on loopback, and the
person accepts through the link in the email, as in tests/invitations. Each test quotes
the sentence it proves.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.invitations.conftest import Inbox
from tests.invitations.conftest import inbox as inbox  # the loopback SMTP server's inbox
from tests.invitations.conftest import smtp_server as smtp_server
from tests.permissions.conftest import Admin
from tests.permissions.test_seed_000_read_only_and_full_through_the_api import (
    PRODUCT,
    Dashboard,
    allowed,
)
from tests.permissions.test_seed_000_read_only_and_full_through_the_api import (
    dashboard as dashboard,  # the fixture
)

ADA = "ada@example.com"


def invite(admin: Admin, **body: Any) -> dict[str, Any]:
    return admin.ok(admin.post("/invitations", {"email": ADA, "name": "Ada", **body}), 201)


def accept(client: FlaskClient, inbox: Inbox) -> dict[str, Any]:
    [message] = inbox.to(ADA)
    response = client.post(f"/invitations/{inbox.token(message)}/accept", json={})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_invitation_to_a_product_applies_the_permissions_chosen_for_the_user(
    admin: Admin, client: FlaskClient, dashboard: Dashboard, inbox: Inbox
) -> None:
    """Seed 000: "When you invite a user to access your product you are asked to choose
    which access permissions will be applied to this user." Accepting applies them at
    that product, and not at the organization's other products."""
    created = invite(admin, scope_id=dashboard.app, role="billing_read_only")
    assert created["role"] == f"{PRODUCT}/billing_read_only"

    assert accept(client, inbox)["grant"]["outcome"] == "granted"

    assert admin.at(ADA, dashboard.app) == {"billing": "read_only"}
    assert admin.at(ADA, dashboard.other_app) == {}
    assert admin.at(ADA, dashboard.org) == {}


@pytest.mark.parametrize("product", [None, PRODUCT])
def test_an_invitation_to_a_product_that_chooses_no_permission_is_asked_to_choose(
    admin: Admin, dashboard: Dashboard, inbox: Inbox, product: str | None
) -> None:
    """Seed 000: "... you are asked to choose which access permissions will be applied to
    this user." The dashboard has no default permission: an invitation to a product that
    names none is refused naming `role`, before anyone is mailed."""
    body = {"email": ADA, "scope_id": dashboard.app}
    if product is not None:
        body["product"] = product

    refused = admin.post("/invitations", body)

    assert refused.status_code == 422
    assert (refused.json["reason"], list(refused.json["errors"])) == ("role_required", ["role"])
    assert inbox.messages == []


def test_with_the_reporting_tool_beside_it_an_invitation_to_a_product_still_asks_to_choose(
    admin: Admin, dashboard: Dashboard, inbox: Inbox
) -> None:
    """Seed 000: "When you invite a user to access your product you are asked to choose
    which access permissions will be applied to this user." - also when the tenant holds
    another product (seed 003's reporting tool) whose default is View."""
    admin.load("reporting")

    refused = admin.post("/invitations", {"email": ADA, "scope_id": dashboard.app})

    assert refused.status_code == 422
    assert (refused.json["reason"], list(refused.json["errors"])) == ("role_required", ["role"])


def test_several_permissions_are_chosen_as_one_role_of_the_product(
    admin: Admin, client: FlaskClient, tenant: TenantKeys, dashboard: Dashboard, inbox: Inbox
) -> None:
    """Seed 000: "... you are asked to choose which access permissions will be applied to
    this user." An invitation carries one role; several permissions are chosen as a role
    of the product that bundles them."""
    analyst = {
        "product": PRODUCT,
        "key": "analyst",
        "name": "Analyst",
        "grants": {"reporting": "granted", "quota_usage": "granted", "billing": "read_only"},
        "allowed_scope_types": ["organization", "product"],
        "reaches_descendants": True,
    }
    admin.ok(admin.post("/roles", analyst), 201)

    invite(admin, scope_id=dashboard.app, role=f"{PRODUCT}/analyst")
    accept(client, inbox)

    assert admin.at(ADA, dashboard.app) == analyst["grants"]
    assert allowed(
        client, tenant, ADA, dashboard.app, ("billing", "full"), ("reporting_api", "granted")
    ) == [False, False]


def test_the_permissions_of_an_existing_user_can_be_edited(
    admin: Admin, client: FlaskClient, tenant: TenantKeys, dashboard: Dashboard, inbox: Inbox
) -> None:
    """Seed 000: "To invite a new user or edit the permissions of an existing user, ..."
    The invited user's Read-Only billing is replaced by full billing; apps see the
    change at once."""
    invite(admin, scope_id=dashboard.app, role="billing_read_only")
    user_id = accept(client, inbox)["user_id"]
    [granted] = admin.ok(admin.get("/assignments", user=user_id))
    asks = (("billing", "read_only"), ("billing", "full"))
    assert allowed(client, tenant, ADA, dashboard.app, *asks) == [True, False]

    admin.ok(admin.delete(f"/assignments/{granted['id']}"), 204)
    admin.assign(user_id, "billing", dashboard.app)

    assert allowed(client, tenant, ADA, dashboard.app, *asks) == [True, True]
    assert admin.at(ADA, dashboard.app) == {"billing": "full"}
