"""Seed 003 through the API: inviting a User by email address and choosing the access
rights to grant. Inviting at the Organization, Folder or Report level, and View as the
default right, are proven in tests/invitations/test_invitations_at_a_scope.py.

The invitation goes out through the admin API to a real SMTP server on loopback, and the
person accepts through the link in the email. Each test quotes the sentence it proves.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.invitations.conftest import Inbox
from tests.invitations.conftest import inbox as inbox  # the loopback SMTP server's inbox
from tests.invitations.conftest import smtp_server as smtp_server
from tests.permissions.conftest import Admin, Directory
from tests.permissions.test_seed_003_reporting_rights_through_the_api import Org, rights
from tests.permissions.test_seed_003_reporting_rights_through_the_api import (
    org as org,  # the fixture
)

ADA = "ada@reeport.example"


def refusal(response: Any) -> tuple[int, str | None, list[str]]:
    """The status, the reason (None for a schema error) and the fields an error names."""
    body = response.get_json()
    errors = body["errors"].get("json", body["errors"])
    return response.status_code, body.get("reason"), sorted(errors)


def test_a_user_is_invited_using_their_email_address(
    admin: Admin, directory: Directory, client: FlaskClient, org: Org, inbox: Inbox
) -> None:
    """Seed 003: "Start by inviting a User using their email address:", and for Manage:
    "(note that you need an email address to invite a User)". An invitation naming no
    address, or naming a user who has none, is refused naming the field; one naming an
    address is mailed there."""
    no_address = admin.post("/invitations", {"scope_id": org.folder_1, "role": "edit"})
    no_email = directory.user("no-email")
    user_without = admin.post(
        "/invitations", {"user_id": no_email, "scope_id": org.folder_1, "role": "edit"}
    )

    assert refusal(no_address) == (422, None, ["email"])
    assert refusal(user_without) == (422, "no_email", ["user_id"])
    assert inbox.messages == []

    admin.ok(admin.post("/invitations", {"email": ADA, "scope_id": org.folder_1}), 201)
    assert inbox.recipients() == [ADA]


def test_the_access_rights_chosen_are_granted_when_the_user_accepts(
    admin: Admin, client: FlaskClient, org: Org, inbox: Inbox
) -> None:
    """Seed 003: "Then, simply choose and click the relevant access rights to be
    granted:" - several rights are chosen as one role of the reporting tool that bundles
    them, granted where the invitation invites to, with View as ever."""
    edit_and_share = {
        "product": "reporting",
        "key": "edit_and_share",
        "name": "Edit + Share",
        "grants": {"edit": "granted", "share": "granted"},
        "allowed_scope_types": ["organization", "folder", "report"],
        "reaches_descendants": True,
    }
    admin.ok(admin.post("/roles", edit_and_share), 201)
    created = admin.ok(
        admin.post(
            "/invitations",
            {"email": ADA, "scope_id": org.folder_1, "role": "reporting/edit_and_share"},
        ),
        201,
    )
    assert rights(admin, org.folder_1, ADA) == set()  # nothing before the accept

    [message] = inbox.to(ADA)
    accepted = client.post(f"/invitations/{inbox.token(message)}/accept", json={})

    assert accepted.get_json()["grant"]["outcome"] == "granted"
    assert rights(admin, org.report_1, ADA) == {"view", "edit", "share"}
    assert rights(admin, org.folder_2, ADA) == set()
    assert admin.ok(admin.get(f"/invitations/{created['id']}"))["status"] == "accepted"
