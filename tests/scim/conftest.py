"""Helpers for the SCIM tests: a client that speaks application/scim+json with the scim token."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TenantKeys

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCIM_JSON = "application/scim+json"


class Scim:
    """Calls /scim/v2 as an IdP would, with the tenant's scim token."""

    def __init__(self, client: FlaskClient, keys: TenantKeys) -> None:
        self.client = client
        self.keys = keys

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        content_type: str = SCIM_JSON,
        **query: Any,
    ) -> TestResponse:
        all_headers = {**self.keys.auth("scim"), **(headers or {})}
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            all_headers["Content-Type"] = content_type
        return self.client.open(
            f"/scim/v2{path}", method=method, headers=all_headers, data=data, query_string=query
        )

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, operations: list[dict[str, Any]], **kwargs: Any) -> TestResponse:
        return self.request(
            "PATCH", path, {"schemas": [PATCH_SCHEMA], "Operations": operations}, **kwargs
        )

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    def create_user(self, user_name: str, **attributes: Any) -> dict[str, Any]:
        response = self.post(
            "/Users", {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.json

    def create_group(
        self, display_name: str, members: list[str] = (), **attributes: Any
    ) -> dict[str, Any]:  # type: ignore[assignment]
        response = self.post(
            "/Groups",
            {
                "schemas": [GROUP_SCHEMA],
                "displayName": display_name,
                "members": [{"value": m} for m in members],
                **attributes,
            },
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.json


def assert_scim_error(response: TestResponse, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    body = response.json
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body


@pytest.fixture
def scim(client: FlaskClient, tenant: TenantKeys) -> Scim:
    return Scim(client, tenant)


@pytest.fixture
def scim_for(client: FlaskClient) -> Callable[[TenantKeys], Scim]:
    return lambda keys: Scim(client, keys)
