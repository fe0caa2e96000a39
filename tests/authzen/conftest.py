"""Fixtures for the AuthZEN tests: the world of the specification's examples, built in
one tenant through the admin API, and a client that speaks AuthZEN with its tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory, admin, directory  # noqa: F401

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"


@dataclass
class Library:
    """The tenant of the spec's examples. Areas (on/off, in the tenant's default
    product) are the spec's verbs; scopes are named after the spec's resource ids.

    - accounts 123, 456, 789: Alice reads all three and writes 123; Bob reads 123.
    - documents boxcarring.md, resource-search.md, 1, 3 and todo 1: Alice reads them
      (can_read and read); document 2 she may not read; subject-search.md does not exist.
    - Carol holds nothing.
    """

    scopes: dict[tuple[str, str], str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # SCIM id -> userName

    def scope(self, type_: str, name: str) -> str:
        return self.scopes[(type_, name)]

    def name_of(self, scope_id: str) -> str:
        return next(name for (_, name), sid in self.scopes.items() if sid == scope_id)

    def to_tenant(self, body: Any) -> Any:
        """The spec's body with each resource id it names replaced by the tenant's
        scope of that type and name (ids naming no scope are kept: they name none)."""
        if isinstance(body, list):
            return [self.to_tenant(item) for item in body]
        if not isinstance(body, dict):
            return body
        out = {key: self.to_tenant(value) for key, value in body.items()}
        key = (body.get("type"), body.get("id"))
        if key in self.scopes:
            out["id"] = self.scopes[key]  # type: ignore[index]
        return out


@pytest.fixture
def library(admin: Admin, directory: Directory) -> Library:  # noqa: F811
    world = Library()
    for area in ("can_read", "can_write", "can_edit", "read"):
        admin.ok(admin.post("/areas", {"key": area, "name": area}), 201)
    roles = {
        "account_reader": {"can_read": "granted"},
        "account_writer": {"can_write": "granted"},
        "doc_reader": {"can_read": "granted", "read": "granted"},
    }
    for key, grants in roles.items():
        admin.ok(admin.post("/roles", {"key": key, "name": key, "grants": grants}), 201)
    for type_ in ("document", "todo"):
        admin.ok(admin.post("/scope-types", {"key": type_}), 201)
    root = admin.scope("organization", "example.com")
    for name in ("123", "456", "789"):
        world.scopes[("account", name)] = admin.scope("account", name, root, "customer")
    for name in ("boxcarring.md", "resource-search.md", "1", "2", "3"):
        world.scopes[("document", name)] = admin.scope("document", name, root)
    world.scopes[("todo", "1")] = admin.scope("todo", "1", root)
    for user in (ALICE, BOB, CAROL):
        world.users[directory.user(user)] = user

    # A grant inside an account holds for its members (seed 001): each assignment
    # there also makes the user a member.
    for name in ("123", "456", "789"):
        admin.assign(ALICE, "account_reader", world.scope("account", name), assign_account=True)
    admin.assign(ALICE, "account_writer", world.scope("account", "123"), assign_account=True)
    admin.assign(BOB, "account_reader", world.scope("account", "123"), assign_account=True)
    for name in ("boxcarring.md", "resource-search.md", "1", "3"):
        admin.assign(ALICE, "doc_reader", world.scope("document", name))
    admin.assign(ALICE, "doc_reader", world.scope("todo", "1"))
    return world


class AuthZEN:
    """POSTs AuthZEN requests with one of a tenant's tokens (read unless told)."""

    def __init__(self, client: FlaskClient, keys: TenantKeys) -> None:
        self.client = client
        self.keys = keys

    def post(self, path: str, body: Any, kind: str = "read", **headers: str) -> TestResponse:
        return self.client.post(
            f"/access/v1/{path}", json=body, headers={**self.keys.auth(kind), **headers}
        )

    def ok(self, path: str, body: Any) -> Any:
        response = self.post(path, body)
        assert response.status_code == 200, (response.status_code, response.get_data(True))
        assert response.mimetype == "application/json"
        return response.json

    def decide(self, user: str, action: str, scope: str) -> bool:
        body = {
            "subject": {"type": "user", "id": user},
            "action": {"name": action},
            "resource": {"type": "scope", "id": scope},
        }
        decision = self.ok("evaluation", body)["decision"]
        assert isinstance(decision, bool)
        return decision


@pytest.fixture
def authzen(client: FlaskClient, tenant: TenantKeys) -> AuthZEN:
    return AuthZEN(client, tenant)


@pytest.fixture
def make_authzen(client: FlaskClient) -> Callable[[TenantKeys], AuthZEN]:
    return lambda keys: AuthZEN(client, keys)
