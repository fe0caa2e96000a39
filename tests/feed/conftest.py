"""A reader of the change feed, as an app (or the Python client) would be one: it asks
with the tenant's read token and keeps the sets it was told of, by the version rule."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.permissions.conftest import admin, directory  # noqa: F401 (fixtures)
from tests.permissions.test_scim_changes_reach_readers import Idp


class FeedReader:
    def __init__(self, client: FlaskClient, keys: TenantKeys) -> None:
        self.client = client
        self.headers = keys.auth("read")
        self.cursor = "0"
        self.sets: dict[str, dict[str, Any]] = {}
        self.seen: list[dict[str, Any]] = []

    def get(self, path: str, status: int = 200, **query: Any) -> Any:
        response = self.client.get(f"/api/v1{path}", headers=self.headers, query_string=query)
        assert response.status_code == status, (response.status_code, response.get_data(True))
        return response.json

    def changes(self, after: str | None = None, **query: Any) -> dict[str, Any]:
        return self.get("/changes", after=self.cursor if after is None else after, **query)

    def apply(self, change: dict[str, Any]) -> None:
        """The version rule: a set replaces the one held only when it is newer."""
        if change["kind"] == "scopes":
            return
        held = self.sets.get(change["user_id"])
        if held is None or change["version"] > held["version"]:
            self.sets[change["user_id"]] = change["permissions"]

    def catch_up(self, limit: int = 500) -> list[dict[str, Any]]:
        """Read every change after the cursor; returns them."""
        read: list[dict[str, Any]] = []
        while True:
            page = self.changes(limit=limit)
            for change in page["changes"]:
                self.apply(change)
            read.extend(page["changes"])
            self.seen.extend(page["changes"])
            self.cursor = page["cursor"]
            if not page["more"]:
                return read

    def start_from_snapshot(self, limit: int = 500) -> None:
        """Replace everything held with a snapshot, then go on from its feed cursor."""
        self.sets = {}
        page = self.get("/snapshot", limit=limit)
        feed_cursor = page["feed_cursor"]
        while True:
            assert page["feed_cursor"] == feed_cursor
            for row in page["sets"]:
                self.apply(row)
            if page["next"] is None:
                break
            page = self.get("/snapshot", cursor=page["next"], limit=limit)
        self.cursor = feed_cursor


@pytest.fixture
def reader(client: FlaskClient, tenant: TenantKeys) -> FeedReader:
    return FeedReader(client, tenant)


@pytest.fixture
def idp(client: FlaskClient, tenant: TenantKeys) -> Idp:
    return Idp(client, tenant)
