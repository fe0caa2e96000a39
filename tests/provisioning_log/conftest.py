"""Fixtures of the provisioning log's tests: IdPs that send their own User-Agent, and
the log as an admin reads it through the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TenantKeys
from tests.scim.conftest import Scim

ENTRA_AGENT = "Azure AD SCIM Client"
OKTA_AGENT = "Okta SCIM Client 1.0.0"


class IdpScim(Scim):
    """A SCIM client that names itself in every request, as an IdP does."""

    def __init__(self, client: FlaskClient, keys: TenantKeys, user_agent: str) -> None:
        super().__init__(client, keys)
        self.user_agent = user_agent

    def request(  # type: ignore[override]
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        return super().request(
            method, path, body, headers={"User-Agent": self.user_agent, **(headers or {})}, **kwargs
        )


@pytest.fixture
def idp(client: FlaskClient) -> Callable[[TenantKeys, str], IdpScim]:
    return lambda keys, user_agent: IdpScim(client, keys, user_agent)


@pytest.fixture
def okta(idp: Callable[[TenantKeys, str], IdpScim], tenant: TenantKeys) -> IdpScim:
    return idp(tenant, OKTA_AGENT)


@pytest.fixture
def entra(idp: Callable[[TenantKeys, str], IdpScim], tenant: TenantKeys) -> IdpScim:
    return idp(tenant, ENTRA_AGENT)


class ProvisioningLog:
    """GET /api/v1/provisioning-log as a tenant's admin."""

    def __init__(self, client: FlaskClient, keys: TenantKeys) -> None:
        self.client = client
        self.keys = keys

    def get(self, **query: Any) -> TestResponse:
        return self.client.get(
            "/api/v1/provisioning-log", headers=self.keys.auth("admin"), query_string=query
        )

    def rows(self, **query: Any) -> list[dict[str, Any]]:
        response = self.get(**query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json

    def only(self, **query: Any) -> dict[str, Any]:
        """The one row that matches (the test fails when there are more or none)."""
        [row] = self.rows(**query)
        return row

    def total(self, **query: Any) -> int:
        return json.loads(self.get(**query).headers["X-Pagination"])["total"]


@pytest.fixture
def provisioning_log(client: FlaskClient, tenant: TenantKeys) -> ProvisioningLog:
    return ProvisioningLog(client, tenant)


@pytest.fixture
def log_of(client: FlaskClient) -> Callable[[TenantKeys], ProvisioningLog]:
    return lambda keys: ProvisioningLog(client, keys)
