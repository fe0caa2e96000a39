"""Media types, authentication and the SCIM error schema."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.scim.conftest import ERROR_SCHEMA, SCIM_JSON, USER_SCHEMA, Scim, assert_scim_error


def test_responses_are_application_scim_json(scim: Scim) -> None:
    assert scim.get("/Users").mimetype == SCIM_JSON
    assert scim.get("/ResourceTypes").mimetype == SCIM_JSON


def test_application_json_requests_are_accepted(scim: Scim) -> None:
    response = scim.post(
        "/Users", {"schemas": [USER_SCHEMA], "userName": "j"}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.mimetype == SCIM_JSON


def test_any_other_content_type_is_415(scim: Scim) -> None:
    response = scim.post("/Users", "userName=x", content_type="application/x-www-form-urlencoded")
    assert_scim_error(response, 415)
    assert_scim_error(scim.post("/Users", "<user/>", content_type="text/xml"), 415)


def test_a_body_that_is_not_json_is_400_invalid_syntax(scim: Scim) -> None:
    assert_scim_error(scim.post("/Users", "{not json"), 400, "invalidSyntax")
    assert_scim_error(scim.post("/Users", "[1, 2]"), 400)


def test_no_token_is_401_in_the_scim_error_schema(client: FlaskClient) -> None:
    response = client.get("/scim/v2/Users")
    assert response.status_code == 401
    assert response.json == {
        "schemas": [ERROR_SCHEMA],
        "status": "401",
        "detail": "A bearer token is required",
    }
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_of_another_kind_is_403(client: FlaskClient, tenant: TenantKeys) -> None:
    response = client.get("/scim/v2/Users", headers=tenant.auth("admin"))
    assert response.status_code == 403
    assert response.json["schemas"] == [ERROR_SCHEMA]


def test_an_unknown_endpoint_is_404_and_a_wrong_method_405(scim: Scim) -> None:
    assert_scim_error(scim.get("/Nope"), 404)
    assert_scim_error(scim.request("DELETE", "/Users"), 405)


def test_revoking_a_token_locks_the_idp_out(
    client: FlaskClient, make_tenant: Callable[[str], TenantKeys]
) -> None:
    keys = make_tenant("revoked")
    listed = client.get("/api/v1/tokens", headers=keys.auth("admin")).json
    scim_id = next(row["id"] for row in listed if row["kind"] == "scim")
    client.delete(f"/api/v1/tokens/{scim_id}", headers=keys.auth("admin"))
    assert client.get("/scim/v2/Users", headers=keys.auth("scim")).status_code == 401
