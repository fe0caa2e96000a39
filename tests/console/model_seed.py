"""Seed data for the console's Model and Questions pages: seed 003's reporting tree
(the previews tests' `reeport`: Viewers see the organization, Editors edit Folder 2,
Cat and Eve hold direct assignments), and another tenant with objects of its own that
acme's console must never show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from service.runtime import Runtime
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.previews.conftest import Reeport
from tests.previews.conftest import admin as admin  # the fixtures
from tests.previews.conftest import directory as directory
from tests.previews.conftest import reeport as reeport

__all__ = ["Globex", "Reeport", "admin", "directory", "globex", "reeport"]


@dataclass(frozen=True)
class Globex:
    """Another tenant: a scope, a mapping and a user acme's admin must never reach."""

    keys: TenantKeys
    scope: str
    mapping: str
    user: str
    preview: str


@pytest.fixture
def globex(
    client: FlaskClient, make_tenant: Callable[[str], TenantKeys], runtime: Runtime
) -> Globex:
    keys = make_tenant("globex")
    other = Admin(client, keys)
    other.load("reporting")
    scope = other.scope("organization", "Globex Secret Org")
    user = Directory(runtime, keys.id).user("spy@globex.example")
    mapping = other.map("Globex Staff", "view", scope)
    change = {"group": {"kind": "displayName", "value": "Globex Staff"}, "role_key": "edit",
              "scope_id": scope}  # fmt: skip
    preview = other.ok(other.post("/previews", {"kind": "mapping.create", "change": change}), 201)
    return Globex(keys, scope, mapping, user, preview["id"])
