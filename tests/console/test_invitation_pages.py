"""People pages: the tenant's invitations (listed by status, one person invited at a
scope, resent, revoked) and the bulk invite upload, through the signed-in test client.
Refused forms name the field; another tenant's invitations are never shown or touched;
no page shows an invitation's token."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.console.conftest import Console
from tests.permissions.conftest import Admin


def invite(client: FlaskClient, keys: TenantKeys, email: str, **where: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/invitations",
        json={"email": email, "name": email.split("@")[0].title(), **where},
        headers=keys.auth("admin"),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def rows(page: str) -> dict[str, str]:
    """The invitations table's rows, by invitation id: the text of each."""
    found = re.findall(r'<tr data-invitation-id="([^"]+)">(.*?)</tr>', page, re.S)
    return {
        invitation_id: f" {' '.join(re.sub(r'<[^>]+>', ' ', html).split())} "
        for invitation_id, html in found
    }


def upload(console: Console, content: bytes, name: str = "people.csv", **form: str) -> Any:
    return console.post(
        "/console/invitations/bulk",
        data={"file": (io.BytesIO(content), name), **form},
        content_type="multipart/form-data",
    )


# Listing ----------------------------------------------------------------------------


def test_the_list_shows_the_tenants_invitations_with_their_status_and_never_a_token(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    ada = invite(client, tenant, "ada@example.com")
    grace = invite(client, tenant, "grace@example.com")
    client.post(f"/api/v1/invitations/{grace['id']}/revoke", headers=tenant.auth("admin"))

    page = console.get("/console/invitations").get_data(as_text=True)
    shown = rows(page)
    assert set(shown) == {ada["id"], grace["id"]}
    assert "ada@example.com" in shown[ada["id"]] and " sent " in shown[ada["id"]]
    assert " revoked " in shown[grace["id"]]
    assert "2 invitations." in page
    assert "rci_" not in page  # an invitation's token is never on a page


def test_the_status_filter_and_paging(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    made = [invite(client, tenant, f"p{i}@example.com") for i in range(3)]
    client.post(f"/api/v1/invitations/{made[0]['id']}/revoke", headers=tenant.auth("admin"))

    revoked = console.get("/console/invitations?status=revoked").get_data(as_text=True)
    assert list(rows(revoked)) == [made[0]["id"]]
    assert '<option value="revoked" selected>' in revoked

    first = console.get("/console/invitations?status=sent&per_page=1").get_data(as_text=True)
    assert len(rows(first)) == 1 and "Page 1 of 2" in first
    assert 'href="/console/invitations?page=2&amp;status=sent"' in first
    second = console.get("/console/invitations?status=sent&per_page=1&page=2")
    assert set(rows(first)) | set(rows(second.get_data(as_text=True))) == {
        made[1]["id"],
        made[2]["id"],
    }


def test_a_refused_filter_names_the_field(console: Console) -> None:
    refused = console.get("/console/invitations?status=lost")
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'id="status-error"' in body and "Must be one of" in body


def test_another_tenants_invitations_are_not_shown(
    console: Console, client: FlaskClient, make_tenant: Callable[[str], TenantKeys]
) -> None:
    other = make_tenant("globex")
    theirs = invite(client, other, "secret.person@globex.example")
    page = console.get("/console/invitations").get_data(as_text=True)
    assert theirs["id"] not in page and "secret.person" not in page
    assert "No invitations." in page


# Inviting one person ----------------------------------------------------------------


def test_a_person_is_invited_to_a_role_at_a_scope(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    model = Admin(client, tenant)
    model.load("reporting")
    folder = model.scope("folder", "Folder 1", model.scope("organization", "Org"))

    sent = console.post(
        "/console/invitations",
        data={
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "scope_id": folder,
            "role": "edit",
        },
    )
    assert sent.status_code == 303
    page = console.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Invited ada@example.com." in page
    [(invitation_id, row)] = rows(page).items()
    assert f"reporting/edit at {folder}" in row and "Ada Lovelace" in row

    shown = client.get(f"/api/v1/invitations/{invitation_id}", headers=tenant.auth("admin"))
    body = shown.get_json()
    assert (body["email"], body["scope_id"], body["role"]) == (
        "ada@example.com",
        folder,
        "reporting/edit",
    )
    assert body["inviter"].startswith("token:")  # the console acts as its admin token


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Not a valid email address."),
        ({"name": "No Address"}, "email", "Give either user_id (an existing user) or email"),
        (
            {"email": "ada@example.com", "scope_id": "nowhere", "role": "edit"},
            "role",
            "role &#39;edit&#39; does not exist",
        ),
        ({"email": "ada@example.com", "name": "x" * 400}, "name", "Longer than maximum length"),
        ({"email": "ada@example.com", "name": "Ada\x00"}, "name", "Must not contain NUL."),
    ],
)
def test_a_refused_invitation_names_the_field_and_keeps_what_was_typed(
    console: Console, form: dict[str, str], field: str, message: str
) -> None:
    refused = console.post("/console/invitations", data=form)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert f'id="{field}-error"' in body
    assert f'aria-describedby="{field}-error"' in body
    assert message in body
    if "email" in form:
        assert f'value="{form["email"]}"' in body


def test_inviting_someone_invited_already_is_refused_with_the_reason(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    invite(client, tenant, "ada@example.com")
    refused = console.post("/console/invitations", data={"email": "ada@example.com"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'class="error" role="alert"' in body and "has a live invitation already" in body


# Resend and revoke -----------------------------------------------------------------


def test_resend_sends_a_new_round_and_revoke_withdraws(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    ada = invite(client, tenant, "ada@example.com")
    page = console.get("/console/invitations").get_data(as_text=True)
    assert "Resend the invitation to ada@example.com" in page

    resent = console.post(f"/console/invitations/{ada['id']}/resend")
    assert resent.status_code == 303
    assert "is sent again, with a new link" in console.get("/console/invitations").get_data(
        as_text=True
    )
    detail = client.get(f"/api/v1/invitations/{ada['id']}", headers=tenant.auth("admin"))
    assert detail.get_json()["send_round"] == ada["send_round"] + 1

    revoked = console.post(f"/console/invitations/{ada['id']}/revoke")
    assert revoked.status_code == 303
    page = console.get("/console/invitations").get_data(as_text=True)
    assert "is revoked; its link no longer works" in page
    assert " revoked " in rows(page)[ada["id"]]
    assert "Revoke the invitation to" not in page and "Resend the invitation" not in page

    again = console.post(f"/console/invitations/{ada['id']}/revoke")
    assert again.status_code == 409
    assert "it cannot be revoked" in again.get_data(as_text=True)


@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_another_tenants_invitation_is_not_found_and_left_alone(
    console: Console,
    client: FlaskClient,
    make_tenant: Callable[[str], TenantKeys],
    action: str,
) -> None:
    other = make_tenant("globex")
    theirs = invite(client, other, "bob@globex.example")
    refused = console.post(f"/console/invitations/{theirs['id']}/{action}")
    assert refused.status_code == 404
    assert "bob@globex.example" not in refused.get_data(as_text=True)
    after = client.get(f"/api/v1/invitations/{theirs['id']}", headers=other.auth("admin"))
    assert (after.get_json()["status"], after.get_json()["send_round"]) == ("sent", 1)


@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_an_invitation_action_without_the_csrf_token_is_refused(
    console: Console, client: FlaskClient, tenant: TenantKeys, action: str
) -> None:
    ada = invite(client, tenant, "ada@example.com")
    refused = console.client.post(f"/console/invitations/{ada['id']}/{action}")
    assert refused.status_code == 403
    after = client.get(f"/api/v1/invitations/{ada['id']}", headers=tenant.auth("admin"))
    assert (after.get_json()["status"], after.get_json()["send_round"]) == ("sent", 1)


def test_inviting_and_uploading_without_the_csrf_token_are_refused(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    invited = console.client.post("/console/invitations", data={"email": "ada@example.com"})
    uploaded = console.client.post(
        "/console/invitations/bulk",
        data={"file": (io.BytesIO(b"email,name\nbob@example.com,Bob\n"), "p.csv")},
        content_type="multipart/form-data",
    )
    assert (invited.status_code, uploaded.status_code) == (403, 403)
    listed = client.get("/api/v1/invitations", headers=tenant.auth("admin")).get_json()
    jobs = client.get("/api/v1/jobs", headers=tenant.auth("admin")).get_json()
    assert (listed["total"], jobs["total"]) == (0, 0)


# Bulk invites ----------------------------------------------------------------------


def test_the_upload_page_says_what_the_file_holds(console: Console) -> None:
    page = console.get("/console/invitations/bulk").get_data(as_text=True)
    assert "<code>email,name[,scope_id][,role]</code>" in page
    assert '<label for="file">CSV file</label>' in page
    assert 'enctype="multipart/form-data"' in page


def test_an_uploaded_csv_becomes_a_job_whose_page_shows_the_bar_and_the_row_errors(
    console: Console,
) -> None:
    sent = upload(console, b"email,name\nada@example.com,Ada\nnot-an-email,Nobody\n")
    assert sent.status_code == 303
    assert sent.headers["Location"].startswith("/console/jobs/")
    page = console.get(sent.headers["Location"]).get_data(as_text=True)
    assert "2 rows received from people.csv." in page
    assert '<progress id="job-bar" value="2" max="2">100 %</progress>' in page
    assert "data-refresh-url" not in page  # tasks run in-process: it is done already
    assert "1 row invited nobody." in page
    assert "&#39;not-an-email&#39; is not a valid email address" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ada@example.com,Ada\n", "The first line looks like data, not a header"),
        (b"email,name,team\nada@example.com,Ada,x\n", "Unknown column(s) &#39;team&#39;"),
        (b"email,name\n", "There are no rows to invite"),
        (b"email,name\n\xff\xfe,x\n", "The file is not UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_beside_the_file_field(
    console: Console, content: bytes, message: str
) -> None:
    refused = upload(console, content)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'id="file-error"' in body and message in body


def test_an_upload_without_a_file_is_refused(console: Console) -> None:
    refused = console.post("/console/invitations/bulk", content_type="multipart/form-data")
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'id="file-error"' in body and "Choose a CSV file to upload." in body


def test_all_or_nothing_invites_no_one_when_a_row_is_bad(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    refused = upload(
        console, b"email,name\nada@example.com,Ada\nnot-an-email,x\n", all_or_nothing="true"
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "1 of 2 rows are invalid and all_or_nothing is set" in body
    assert "line 3:" in body
    listed = client.get("/api/v1/invitations", headers=tenant.auth("admin")).get_json()
    assert listed["total"] == 0


def test_a_file_larger_than_the_apps_body_limit_is_taken_up_to_the_bulk_limit(
    console: Console, runtime: Any
) -> None:
    limit = runtime.settings.max_request_bytes
    long_name = "n" * 100_000  # each row is refused: no column holds such a name
    rows_needed = limit // len(long_name) + 2
    content = "email,name\n" + "".join(
        f"p{i}@example.com,{long_name}\n" for i in range(rows_needed)
    )
    assert limit < len(content) < runtime.settings.bulk_invite_max_bytes
    sent = upload(console, content.encode())
    assert sent.status_code == 303
    page = console.get(sent.headers["Location"]).get_data(as_text=True)
    assert f"{rows_needed} rows received" in page
    assert "name: is 100000 characters long" in page
