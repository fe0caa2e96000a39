"""Fixtures for the questions asked over the whole model: the permission tests' admin
client and directory, and a client for who-can and where-can that follows cursors."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from service.runtime import Runtime
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory


class Questions:
    """Asks who-can and where-can with an admin token; the helpers assert success."""

    def __init__(self, admin: Admin) -> None:
        self.admin = admin

    def who_can_page(self, scope: str, area: str, level: str, **query: Any) -> dict[str, Any]:
        query = {k: v for k, v in query.items() if v is not None}
        return self.admin.ok(
            self.admin.get(f"/scopes/{scope}/who-can", area=area, level=level, **query)
        )

    def who_can(self, scope: str, area: str, level: str, **query: Any) -> list[dict[str, Any]]:
        """Every entry, following the cursors to the end."""
        entries: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.who_can_page(scope, area, level, cursor=cursor, **query)
            entries += page["entries"]
            if page["complete"]:
                assert page["next_cursor"] is None
                return entries
            cursor = page["next_cursor"]

    def names_who_can(self, scope: str, area: str, level: str, **query: Any) -> set[str]:
        return {e["user_name"] for e in self.who_can(scope, area, level, **query)}

    def where_can_page(self, user: str, area: str, level: str, **query: Any) -> dict[str, Any]:
        query = {k: v for k, v in query.items() if v is not None}
        return self.admin.ok(
            self.admin.get(f"/users/{user}/where-can", area=area, level=level, **query)
        )

    def where_can(self, user: str, area: str, level: str, **query: Any) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.where_can_page(user, area, level, cursor=cursor, **query)
            entries += page["entries"]
            if page["complete"]:
                return entries
            cursor = page["next_cursor"]


@pytest.fixture
def admin(client: FlaskClient, tenant: TenantKeys) -> Admin:
    return Admin(client, tenant)


@pytest.fixture
def directory(runtime: Runtime, tenant: TenantKeys) -> Directory:
    return Directory(runtime, tenant.id)


@pytest.fixture
def ask(admin: Admin) -> Questions:
    return Questions(admin)
