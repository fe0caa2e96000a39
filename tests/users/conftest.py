"""Fixtures for the user tests (user types, self-registration): the admin client and
directory of the permission tests, the SCIM client of the SCIM tests, and a caller
with the tenant's portal token."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TenantKeys

# Shared rather than repeated.
from tests.permissions.conftest import Admin, admin, directory  # noqa: F401
from tests.scim.conftest import scim  # noqa: F401


class Portal:
    """The End-User Portal's server: calls /api/v1 with the tenant's portal token."""

    def __init__(self, client: FlaskClient, keys: TenantKeys) -> None:
        self.client = client
        self.keys = keys

    def register(self, body: Any, token: str | None = None) -> TestResponse:
        headers = {"Authorization": f"Bearer {token or self.keys.portal}"}
        return self.client.post("/api/v1/self-registrations", json=body, headers=headers)


@pytest.fixture
def portal(client: FlaskClient, tenant: TenantKeys) -> Portal:
    return Portal(client, tenant)


def unmapped_warnings(caller: Admin, user_id: str) -> list[dict[str, Any]]:
    """The audit log's warnings that the user's userType maps to no type."""
    found = caller.get("/audit", action="scim.user.user_type_unmapped", target_id=user_id)
    return list(caller.ok(found))
