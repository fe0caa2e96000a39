"""Bulk invites that name where: each row's `scope_id` and `role`, checked per row as a
single invitation's are, the reason of a bad row naming its column; accepting grants.

Seed 003: invite "at the Organization, Folder, or Report level"; View "is the default
access right which applies to any User when invited"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.invitations.conftest import Inbox, Reeport
from tests.invitations.test_bulk import job, post_csv
from tests.permissions.conftest import Admin

RIGHTS = {"view", "edit", "share", "manage", "admin"}


def results(admin: Callable[..., Any], response: Any) -> dict[int, dict[str, Any]]:
    assert response.status_code == 202, response.get_json()
    return {row["line"]: row for row in job(admin, response.get_json()["id"])["results"]}


def rights(model: Admin, user: str, scope: str) -> set[str]:
    return set(model.at(user, scope)) & RIGHTS


def test_rows_invite_at_their_scope_with_their_role_or_view(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, reeport: Reeport, inbox: Inbox
) -> None:
    """Seed 003: invited at the Organization, Folder, or Report level; a row naming no
    role gets View, "the default access right which applies to any User when invited"."""
    rows = results(
        admin,
        post_csv(
            admin,
            "email,name,scope_id,role\n"
            f"org@example.com,Org,{reeport.org},manage\n"
            f"folder@example.com,Folder,{reeport.folder},\n"
            f"report@example.com,Report,{reeport.report},edit\n"
            "nowhere@example.com,Nowhere,,\n",
        ),
    )
    assert {line: row["status"] for line, row in rows.items()} == dict.fromkeys(range(2, 6), "sent")
    text = {address: inbox.text(inbox.to(address)[0]) for address in inbox.recipients()}
    assert "as Manage at the organization Reeport Org." in text["org@example.com"]
    assert "as View at the folder Folder 1." in text["folder@example.com"]
    assert "as Edit at the report Report 1." in text["report@example.com"]
    assert "invited you to acme.\n" in text["nowhere@example.com"]
    assert model.at("folder@example.com", reeport.folder) == {}  # nothing before the accept

    for address in inbox.recipients():
        token = inbox.token(inbox.to(address)[0])
        assert client.post(f"/invitations/{token}/accept", json={}).status_code == 200

    assert rights(model, "org@example.com", reeport.report) == {"view", "manage"}
    assert rights(model, "folder@example.com", reeport.report) == {"view"}
    assert rights(model, "folder@example.com", reeport.org) == set()
    assert rights(model, "report@example.com", reeport.report) == {"view", "edit"}
    assert rights(model, "report@example.com", reeport.folder) == set()
    assert model.ok(model.get("/assignments", user="nowhere@example.com")) == []


def test_a_row_that_cannot_be_invited_there_is_invalid_naming_its_column(
    admin: Callable[..., Any], model: Admin, reeport: Reeport, inbox: Inbox
) -> None:
    rows = results(
        admin,
        post_csv(
            admin,
            "email,name,scope_id,role\n"
            f"a@example.com,A,{reeport.folder},no-such-role\n"
            "b@example.com,B,,edit\n"
            "c@example.com,C,00000000-0000-0000-0000-000000000000,edit\n"
            f"d@example.com,D,{reeport.folder},admin\n"
            f"e@example.com,E,{'x' * 37},edit\n"
            f"ok@example.com,Ok,{reeport.folder},share\n",
        ),
    )
    reasons = {line: row["reason"] for line, row in rows.items() if row["status"] == "invalid"}
    assert reasons == {
        2: "role: role 'no-such-role' does not exist",
        3: "scope_id: role 'edit' needs a scope_id to be granted at",
        4: "scope_id: scope '00000000-0000-0000-0000-000000000000' does not exist",
        5: "scope_id: role 'admin' can be granted at organization, not at folder "
        f"'{reeport.folder}'",
        6: "scope_id: is 37 characters long; at most 36 fit",
    }
    assert rows[7]["status"] == "sent"
    assert inbox.recipients() == ["ok@example.com"]


def test_all_or_nothing_refuses_a_file_with_a_row_that_cannot_be_invited_there(
    admin: Callable[..., Any], reeport: Reeport, inbox: Inbox
) -> None:
    body = f"email,name,scope_id\nok@example.com,Ok,{reeport.folder}\nno@example.com,No,nowhere\n"
    response = post_csv(admin, body, "?all_or_nothing=true")
    assert response.status_code == 422
    assert "line 3: scope_id: scope 'nowhere' does not exist" in response.get_json()["message"]
    assert inbox.messages == []


def test_json_rows_name_scope_id_and_role(
    admin: Callable[..., Any], reeport: Reeport, inbox: Inbox
) -> None:
    response = admin(
        "POST",
        "/api/v1/invitations/bulk",
        json={
            "rows": [
                {"email": "j@example.com", "name": "J", "scope_id": reeport.folder, "role": "edit"},
                {"email": "k@example.com", "name": "K", "role": "edit"},
                {"email": "l@example.com", "name": "L", "scope_id": "s", "scope": "s"},
            ]
        },
    )
    rows = results(admin, response)
    assert rows[1]["status"] == "sent"
    assert rows[2]["reason"] == "scope_id: role 'edit' needs a scope_id to be granted at"
    assert rows[3]["reason"] == (
        "Column(s) named twice: 'scope_id' (scope: older names of scope_id)"
    )
    [invitation] = admin("GET", "/api/v1/invitations").get_json()["items"]
    assert (invitation["scope_id"], invitation["role"]) == (reeport.folder, "reporting/edit")


def test_the_older_column_names_scope_and_account_are_still_read(
    admin: Callable[..., Any], client: FlaskClient, model: Admin, reeport: Reeport, inbox: Inbox
) -> None:
    rows = results(
        admin,
        post_csv(admin, f"email,name,role,scope\nold@example.com,Old,share,{reeport.folder}\n"),
    )
    assert rows[2]["status"] == "sent"
    assert "as Share at the folder Folder 1" in inbox.text(inbox.to("old@example.com")[0])

    both = post_csv(admin, "email,name,scope,account\na@example.com,A,,\n")
    assert both.status_code == 422
    assert both.get_json()["message"] == (
        "Column(s) named twice: 'scope_id' (scope and account: older names of scope_id)"
    )
