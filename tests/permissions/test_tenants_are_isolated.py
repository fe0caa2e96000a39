"""Another tenant's ids are 404 (or unknown), never visible or changeable."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory


def test_another_tenant_cannot_see_or_use_this_tenant_s_model(
    client: FlaskClient,
    admin: Admin,
    directory: Directory,
    make_tenant: Callable[[str], TenantKeys],
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    directory.user("alice@example.com")
    mapping = admin.map("Readers", "view", org)
    assignment = admin.assign("alice@example.com", "edit", org)
    other = Admin(client, make_tenant("globex"))
    other.load("reporting")

    assert other.get(f"/scopes/{org}").status_code == 404
    assert other.patch(f"/scopes/{org}", {"name": "Mine"}).status_code == 404
    assert other.delete(f"/scopes/{org}").status_code == 404
    assert other.get(f"/mappings/{mapping}").status_code == 404
    assert other.delete(f"/mappings/{mapping}").status_code == 404
    assert other.get(f"/assignments/{assignment}").status_code == 404
    assert other.get("/users/alice@example.com/permissions").status_code == 404
    assert other.ok(other.get("/scopes")) == []
    assert other.ok(other.get("/mappings")) == []
    body = {"group": {"kind": "displayName", "value": "X"}, "role_key": "view", "scope_id": org}
    assert other.post("/mappings", body).status_code == 422
    assert (
        other.post("/scopes", {"type": "folder", "name": "F", "parent_id": org}).status_code == 422
    )
    seen = {e["target_id"] for e in other.ok(other.get("/audit", page_size=500))}
    assert not seen & {org, mapping, assignment}

    assert admin.at("alice@example.com", org) == {"edit": "granted", "view": "granted"}
