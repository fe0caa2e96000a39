"""Discovery (RFC 7644 §4): what the server supports, its resource types and schemas; /Me."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.scim.conftest import (
    ENTERPRISE,
    GROUP_SCHEMA,
    LIST_SCHEMA,
    USER_SCHEMA,
    Scim,
    assert_scim_error,
)


def test_service_provider_config_tells_what_is_supported(scim: Scim) -> None:
    config = scim.get("/ServiceProviderConfig").json
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["sort"] == {"supported": True}
    assert config["changePassword"] == {"supported": True}
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_service_provider_config_needs_no_token(client: FlaskClient) -> None:
    response = client.get("/scim/v2/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.mimetype == "application/scim+json"


def test_resource_types_list_users_with_the_optional_enterprise_extension_and_groups(
    scim: Scim,
) -> None:
    response = scim.get("/ResourceTypes").json
    assert response["schemas"] == [LIST_SCHEMA]
    by_id = {rt["id"]: rt for rt in response["Resources"]}
    assert by_id["User"]["endpoint"] == "/Users"
    assert by_id["User"]["schema"] == USER_SCHEMA
    assert by_id["User"]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert by_id["Group"]["schema"] == GROUP_SCHEMA
    one = scim.get("/ResourceTypes/User")
    assert one.status_code == 200 and one.json["id"] == "User"
    assert_scim_error(scim.get("/ResourceTypes/Nope"), 404)


def test_schemas_describe_user_group_and_the_enterprise_extension(scim: Scim) -> None:
    listed = scim.get("/Schemas").json
    ids = {s["id"] for s in listed["Resources"]}
    assert {USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE} <= ids
    user = scim.get(f"/Schemas/{USER_SCHEMA}").json
    attributes = {a["name"]: a for a in user["attributes"]}
    assert attributes["password"]["returned"] == "never"
    assert attributes["password"]["mutability"] == "writeOnly"
    assert attributes["userName"]["uniqueness"] == "server"
    assert attributes["groups"]["mutability"] == "readOnly"
    enterprise = scim.get(f"/Schemas/{ENTERPRISE}").json
    manager = next(a for a in enterprise["attributes"] if a["name"] == "manager")
    assert manager["type"] == "complex"
    assert_scim_error(scim.get("/Schemas/urn:nope"), 404)


def test_me_is_501_with_a_scim_error(scim: Scim) -> None:
    assert_scim_error(scim.get("/Me"), 501)
