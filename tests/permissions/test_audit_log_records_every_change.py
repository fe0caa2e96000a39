"""Every change is in the append-only audit log, with actor, before/after and request id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory


def test_each_write_is_recorded_with_its_actor_and_request_id(
    admin: Admin, directory: Directory, tenant: TenantKeys
) -> None:
    admin.load("reporting")
    created = admin.post("/scopes", {"type": "organization", "name": "Org"})
    org = created.json["id"]
    admin.ok(admin.patch(f"/scopes/{org}", {"name": "Org Renamed"}))
    directory.user("u@example.com")
    mapping = admin.map("Readers", "view", org)
    assignment = admin.assign("u@example.com", "edit", org)
    admin.ok(admin.delete(f"/assignments/{assignment}"), 204)
    admin.ok(admin.patch("/products/reporting", {"default_role": None}))
    admin.ok(admin.put("/settings/permissions", {"account_rules": {"single_account_type": False}}))

    events = admin.ok(admin.get("/audit", page_size=100))
    actions = [e["action"] for e in events]

    for action in (
        "catalog.load",
        "scope.create",
        "scope.update",
        "mapping.create",
        "assignment.create",
        "assignment.delete",
        "product.update",
        "settings.update",
    ):
        assert action in actions
    token_id = next(e["actor"] for e in events if e["action"] == "scope.create")
    assert token_id.startswith("token:")
    create = next(e for e in events if e["action"] == "scope.create")
    assert create["request_id"] == created.headers["X-Request-ID"]
    assert create["target_id"] == org
    update = next(e for e in events if e["action"] == "scope.update")
    assert update["before"]["name"] == "Org" and update["after"]["name"] == "Org Renamed"
    product = next(e for e in events if e["action"] == "product.update")
    assert product["target_id"] == "reporting"
    assert product["before"]["default_role"] == "view"
    assert product["after"]["default_role"] is None
    settings = next(e for e in events if e["action"] == "settings.update")
    assert settings["before"]["account_rules"]["single_account_type"] is True
    assert settings["after"]["account_rules"]["single_account_type"] is False
    assert next(e for e in events if e["target_id"] == mapping)["after"]["role_key"] == "view"


def test_the_log_is_newest_first_paginated_and_filterable(admin: Admin) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    for i in range(3):
        admin.scope("folder", f"F{i}", org)

    page = admin.get("/audit", action="scope.", page=1, page_size=2)
    scopes_only = admin.ok(admin.get("/audit", target_type="scope", page_size=100))
    by_target = admin.ok(admin.get("/audit", target_id=org))
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    future = admin.ok(admin.get("/audit", since=later))

    assert page.status_code == 200 and len(page.json) == 2
    assert '"total": 4' in page.headers["X-Pagination"]
    assert [e["action"] for e in scopes_only] == ["scope.create"] * 4
    assert scopes_only[-1]["target_id"] == org
    assert [e["action"] for e in by_target] == ["scope.create"]
    assert future == []
