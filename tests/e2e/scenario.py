"""A tenant set up on the live stack as an admin and an IdP would: the reporting
catalog, an organization with a folder, and an IdP group mapped to `edit` there."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, select

from service.persistence.models import Tenant
from tests.e2e.conftest import LiveStack

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def eventually(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.1)


class Setup:
    """`label` names the organization and the group (several setups share a tenant);
    `mapped_at` is where the group's `edit` is granted: the folder, or the
    organization (the folder then inherits it)."""

    def __init__(self, stack: LiveStack, label: str = "E2E", mapped_at: str = "folder") -> None:
        self.stack = stack
        engine = create_engine(driver_url(stack))
        with engine.connect() as connection:
            found = connection.execute(select(Tenant.id).where(Tenant.name == stack.tenant))
            self.tenant_id: str = found.scalar_one()
        engine.dispose()
        loaded = stack.api("POST", "/api/v1/catalogs/reporting/load", json={})
        assert loaded.status_code == 200, loaded.text
        self.org = self.scope("organization", f"{label} Org")
        self.folder = self.scope("folder", label, self.org)
        mapped = stack.api(
            "POST",
            "/api/v1/mappings",
            json={
                "group": {"kind": "displayName", "value": f"{label} Editors"},
                "role_key": "edit",
                "scope_id": self.org if mapped_at == "organization" else self.folder,
            },
        )
        assert mapped.status_code == 201, mapped.text
        self.group = self.scim(
            "POST",
            "/Groups",
            {"schemas": [GROUP_SCHEMA], "displayName": f"{label} Editors", "members": []},
        )["id"]

    def scope(self, kind: str, name: str, parent_id: str | None = None) -> str:
        body: dict[str, Any] = {"type": kind, "name": name}
        if parent_id is not None:
            body["parent_id"] = parent_id
        made = self.stack.api("POST", "/api/v1/scopes", json=body)
        assert made.status_code == 201, made.text
        return made.json()["id"]

    def allowed(self, user_id: str, scope_id: str, base_url: str = "") -> bool:
        """POST /api/v1/check with the read token: may `user_id` edit at `scope_id`?"""
        check = {"user": user_id, "area": "edit", "level": "granted", "scope": scope_id}
        answer = self.stack.api(
            "POST", "/api/v1/check", kind="read", base_url=base_url, json={"checks": [check]}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]["allowed"]

    def scim(self, method: str, path: str, body: dict | None = None) -> Any:
        response = self.stack.api(method, f"/scim/v2{path}", kind="scim", json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def user(self, name: str) -> str:
        return self.scim(
            "POST", "/Users", {"schemas": [USER_SCHEMA], "userName": name, "active": True}
        )["id"]

    def join(self, *user_ids: str) -> None:
        self.scim(
            "PATCH",
            f"/Groups/{self.group}",
            {
                "schemas": [PATCH_SCHEMA],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": u} for u in user_ids]}
                ],
            },
        )

    def cached_edit(self, user_id: str) -> bool:
        """What the worker wrote to Redis, read directly (no read-through)."""
        body = self.stack.cache().body_of(self.tenant_id, user_id)
        return bool(body and body["scopes"].get(self.folder, {}).get("reporting/edit"))

    def read(self, ref: str) -> Any:
        return self.stack.api(
            "GET", f"/api/v1/users/{ref}/permissions", kind="read", params={"scope": self.folder}
        )


def driver_url(stack: LiveStack) -> str:
    return stack.env["ROLECALL_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://")
