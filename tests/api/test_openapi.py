"""The OpenAPI document: generated from the code, checked in, and served."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from service.cli import OPENAPI_PATH, openapi_document


def test_the_checked_in_document_is_what_the_code_generates() -> None:
    generated = openapi_document()
    assert OPENAPI_PATH.read_text() == generated, (
        "openapi/openapi.json is stale: run `rolecall openapi` and commit the result"
    )


def test_the_document_covers_the_admin_read_and_scim_apis() -> None:
    paths = json.loads(OPENAPI_PATH.read_text())["paths"]
    for path in (
        "/api/v1/tokens",
        "/api/v1/roles",
        "/api/v1/users/{ref}/permissions",
        "/api/v1/check",
        "/api/v1/invitations/bulk",
        "/scim/v2/Users",
        "/scim/v2/Groups/{id}",
        "/scim/v2/Bulk",
    ):
        assert path in paths, path


def test_the_api_documentation_is_served(client: FlaskClient) -> None:
    assert client.get("/api/openapi.json").json["info"]["title"] == "rolecall"
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"SwaggerUIBundle" in docs.data
