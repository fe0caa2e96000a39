"""Moving and deleting scopes: what happens to the grants and accounts below them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.runtime import Runtime
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory


def test_deleting_a_scope_with_children_needs_cascade_and_takes_its_grants_along(
    admin: Admin, directory: Directory
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    folder = admin.scope("folder", "F", org)
    report = admin.scope("report", "R", folder)
    user = directory.user("u@example.com")
    directory.group("Editors", users=[user])
    mapping = admin.map("Editors", "edit", report)
    assignment = admin.assign("u@example.com", "share", folder)
    kept = admin.assign("u@example.com", "manage", org)

    refused = admin.delete(f"/scopes/{folder}")
    deleted = admin.ok(admin.delete(f"/scopes/{folder}", cascade="true"))

    assert refused.status_code == 409 and "cascade" in refused.json["errors"]
    assert deleted == {
        "deleted_scopes": [report, folder],
        "deleted_assignments": [assignment],
        "deleted_mappings": [mapping],
    }
    assert admin.get(f"/scopes/{report}").status_code == 404
    assert admin.get(f"/mappings/{mapping}").status_code == 404
    assert admin.get(f"/assignments/{kept}").status_code == 200
    assert set(admin.permissions("u@example.com")["scopes"]) == {org}
    event = admin.ok(admin.get("/audit", action="scope.delete"))[0]
    assert event["before"]["deleted_mappings"] == [mapping]


def test_a_leaf_is_deleted_without_cascade_and_renames_and_filters_work(admin: Admin) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    folder = admin.scope("folder", "Sales Reports", org)
    admin.scope("folder", "Other", org)

    renamed = admin.ok(admin.patch(f"/scopes/{folder}", {"name": "Sales"}))
    children = admin.ok(admin.get("/scopes", parent_id=org))
    roots = admin.ok(admin.get("/scopes", root="true"))
    by_name = admin.ok(admin.get("/scopes", name="SAL"))

    assert renamed["name"] == "Sales"
    assert len(children) == 2 and [r["id"] for r in roots] == [org]
    assert [s["id"] for s in by_name] == [folder]
    assert admin.ok(admin.delete(f"/scopes/{folder}"))["deleted_scopes"] == [folder]


def test_moving_a_scope_carries_inherited_grants_and_can_make_and_clear_a_conflict(
    admin: Admin, directory: Directory
) -> None:
    admin.load("licensing-portal")
    boston = admin.scope("account", "Acme Boston", None, "customer")
    special = admin.scope("account", "Special Operations", None, "customer")
    sub = admin.scope("account", "Special Sub", special, "customer")
    user = directory.user("b@acme.example", user_type="customer")
    admin.assign("b@acme.example", "portal_user", boston, assign_account=True)
    directory.group("Special Admins", users=[user])
    mapping = admin.map(
        "Special Admins", "portal_administrative_user", special, assign_account=True
    )
    assert admin.at("b@acme.example", sub)["end_user_portal.entitlements"] == "manage"

    moved = admin.ok(admin.patch(f"/scopes/{special}", {"parent_id": boston}))
    conflicts = admin.ok(admin.get("/conflicts"))

    assert moved["parent_id"] == boston
    assert [(c["account_id"], c["origin"], c["rule"]) for c in conflicts] == [
        (special, mapping, "same_vertical_hierarchy")
    ]
    assert admin.at("b@acme.example", sub) == {}

    admin.ok(admin.patch(f"/scopes/{special}", {"parent_id": None}))

    assert admin.ok(admin.get("/conflicts")) == []
    assert admin.at("b@acme.example", sub)["end_user_portal.entitlements"] == "manage"
    assert [e["action"] for e in admin.ok(admin.get("/audit", action="scope.move"))] == [
        "scope.move",
        "scope.move",
    ]


def test_declared_scope_types_are_listed_used_and_protected(admin: Admin) -> None:
    admin.ok(admin.post("/scope-types", {"key": "dashboard"}), 201)
    board = admin.scope("dashboard", "Board")

    listed = {t["key"]: t["builtin"] for t in admin.ok(admin.get("/scope-types"))}
    in_use = admin.delete("/scope-types/dashboard")
    builtin = admin.delete("/scope-types/folder")

    assert listed["dashboard"] is False and listed["folder"] is True
    assert in_use.status_code == 409
    assert builtin.status_code == 409
    admin.ok(admin.delete(f"/scopes/{board}"))
    admin.ok(admin.delete("/scope-types/dashboard"), 204)
    assert admin.post("/scopes", {"type": "dashboard", "name": "B"}).status_code == 422


# -- what readers are told right after a scope is deleted or moved ----------------------


@pytest.fixture
def relay_elsewhere(runtime: Runtime) -> FlaskClient:
    """The app as production runs it: outbox rows wait for `rolecall relay`, so no
    recompute follows a change in the request. What readers are told right after the
    change then rests on the change's own after-commit effects alone."""
    settings = runtime.settings.with_overrides(outbox_relay="process")
    return create_app(runtime=replace(runtime, settings=settings)).test_client()


def _allowed(client: FlaskClient, tenant: TenantKeys, area: str, scope: str) -> dict[str, Any]:
    check = {"user": "u@example.com", "area": area, "level": "granted", "scope": scope}
    response = client.post("/api/v1/check", json={"checks": [check]}, headers=tenant.auth("read"))
    assert response.status_code == 200, response.get_data(True)
    return response.json["results"][0]


def test_a_check_at_a_deleted_scope_is_never_allowed_even_with_a_warm_cache(
    relay_elsewhere: FlaskClient, tenant: TenantKeys, directory: Directory
) -> None:
    admin = Admin(relay_elsewhere, tenant)
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    folder = admin.scope("folder", "F", org)
    directory.group("Editors", users=[directory.user("u@example.com")])
    admin.map("Editors", "edit", org)
    assert _allowed(relay_elsewhere, tenant, "edit", folder)["allowed"] is True  # cache warm

    admin.ok(admin.delete(f"/scopes/{folder}"))

    after = _allowed(relay_elsewhere, tenant, "edit", folder)
    assert after["allowed"] is False and after["reason"] == "unknown scope"
    assert _allowed(relay_elsewhere, tenant, "edit", org)["allowed"] is True


def test_a_moved_scope_inherits_from_its_new_parent_at_once(
    relay_elsewhere: FlaskClient, tenant: TenantKeys, directory: Directory
) -> None:
    admin = Admin(relay_elsewhere, tenant)
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    other_org = admin.scope("organization", "Other Org")
    folder = admin.scope("folder", "F", org)
    user = directory.user("u@example.com")
    directory.group("Editors", users=[user])
    directory.group("Sharers", users=[user])
    admin.map("Editors", "edit", org)
    admin.map("Sharers", "share", other_org)
    before = {area: _allowed(relay_elsewhere, tenant, area, folder) for area in ("edit", "share")}

    admin.ok(admin.patch(f"/scopes/{folder}", {"parent_id": other_org}))

    after = {area: _allowed(relay_elsewhere, tenant, area, folder) for area in ("edit", "share")}
    assert (before["edit"]["allowed"], before["share"]["allowed"]) == (True, False)
    assert (after["edit"]["allowed"], after["share"]["allowed"]) == (False, True)
