"""The Connection page: the SCIM base URL for the IdP, and the tenant's tokens, created
(shown once), rotated with an overlap and revoked."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import TenantKeys, bearer
from tests.console.conftest import Console, Demo


def test_the_page_shows_the_scim_base_url_and_the_live_tokens(
    console: Console, tenant: TenantKeys
) -> None:
    page = console.get("/console/").get_data(as_text=True)
    assert 'value="http://localhost/scim/v2"' in page
    for token in (tenant.scim, tenant.admin, tenant.read, tenant.portal):
        assert f"<code>{token[:12]}…</code>" in page


def test_a_new_token_is_shown_once_and_works(console: Console, client: FlaskClient) -> None:
    created = console.post("/console/tokens", data={"kind": "read", "description": "billing app"})
    assert created.status_code == 201
    body = created.get_data(as_text=True)
    assert "it is shown this once" in body
    token = body.split('readonly value="rc_read_')[1].split('"')[0]
    plaintext = f"rc_read_{token}"
    assert (
        client.get("/api/v1/users/nobody/permissions", headers=bearer(plaintext)).status_code == 404
    )
    assert plaintext not in console.get("/console/").get_data(as_text=True)


def test_a_refused_form_names_the_field(console: Console) -> None:
    refused = console.post("/console/tokens", data={"kind": "root"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'id="kind-error"' in body
    assert "Must be one of" in body


def test_rotating_keeps_the_old_token_for_the_overlap_and_revoking_stops_it(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    tokens = client.get("/api/v1/tokens", headers=tenant.auth("admin")).get_json()
    scim_id = next(t["id"] for t in tokens if t["kind"] == "scim")
    rotated = console.post(f"/console/tokens/{scim_id}/rotate", data={"overlap_seconds": "3600"})
    assert rotated.status_code == 201
    new_scim = "rc_scim_" + rotated.get_data(as_text=True).split('value="rc_scim_')[1].split('"')[0]
    for token in (tenant.scim, new_scim):  # both work during the overlap
        assert client.get("/scim/v2/Users", headers=bearer(token)).status_code == 200

    revoked = console.post(f"/console/tokens/{scim_id}/revoke")
    assert revoked.status_code == 303
    assert "is revoked" in console.get("/console/").get_data(as_text=True)
    assert client.get("/scim/v2/Users", headers=bearer(tenant.scim)).status_code == 401
    assert client.get("/scim/v2/Users", headers=bearer(new_scim)).status_code == 200


def test_the_page_shows_the_last_request_of_each_identity_provider(
    console: Console, demo: Demo
) -> None:
    page = console.get("/console/").get_data(as_text=True)
    table = page.split('<table id="idps">')[1].split("</table>")[0]
    rows = table.split("<tr>")[2:]
    assert len(rows) == 2
    okta = next(row for row in rows if ">Okta<" in row)
    entra = next(row for row in rows if ">Entra ID<" in row)
    assert "rejected" in okta and "400" in okta  # the refused create, with its reason
    assert "applied" in entra
    assert "3 / 0" in entra  # two users and a group, nothing refused
    assert 'href="/console/provisioning?idp=okta"' in okta
    filtered = console.get("/console/provisioning?idp=okta").get_data(as_text=True)
    assert filtered.count('class="outcome-rejected"') == 1
    assert "ada@acme.test" not in filtered
