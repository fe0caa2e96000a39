"""What an IdP does through SCIM reaches the apps' reads: membership changes,
nesting, renames, deactivation and deletion (tasks run in-process here; the
end-to-end tests run the same through a real worker)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from service.runtime import Runtime
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin

SCIM = "/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Idp:
    """Speaks SCIM with the tenant's scim token, as an identity provider would."""

    def __init__(self, client: FlaskClient, keys: TenantKeys) -> None:
        self.client = client
        self.headers = {**keys.auth("scim"), "Content-Type": "application/scim+json"}

    def _ok(self, response: Any, status: int) -> Any:
        assert response.status_code == status, response.get_data(as_text=True)
        return response.json

    def user(self, user_name: str, **extra: Any) -> str:
        body = {"schemas": [USER_SCHEMA], "userName": user_name, "active": True, **extra}
        return self._ok(self.client.post(f"{SCIM}/Users", json=body, headers=self.headers), 201)[
            "id"
        ]

    def group(self, name: str, *members: str) -> str:
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in members],
        }
        return self._ok(self.client.post(f"{SCIM}/Groups", json=body, headers=self.headers), 201)[
            "id"
        ]

    def patch(self, kind: str, resource_id: str, *operations: dict) -> None:
        body = {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
        response = self.client.patch(
            f"{SCIM}/{kind}/{resource_id}", json=body, headers=self.headers
        )
        assert response.status_code in (200, 204), response.get_data(as_text=True)

    def delete(self, kind: str, resource_id: str) -> None:
        self._ok(self.client.delete(f"{SCIM}/{kind}/{resource_id}", headers=self.headers), 204)


@pytest.fixture
def idp(client: FlaskClient, tenant: TenantKeys) -> Idp:
    return Idp(client, tenant)


@pytest.fixture
def folder(admin: Admin) -> str:
    """Seed 003's rights; members of "Editors" may edit under the folder."""
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    folder = admin.scope("folder", "Folder", org)
    admin.map("Editors", "edit", folder)
    return folder


def rights(client: FlaskClient, tenant: TenantKeys, ref: str, scope: str) -> set[str]:
    response = client.get(
        f"/api/v1/users/{ref}/permissions",
        headers=tenant.auth("read"),
        query_string={"scope": scope},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return set(response.json["at_scope"]["areas"])


def test_a_group_pushed_with_members_gives_them_its_mapped_role(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, folder: str
) -> None:
    ada = idp.user("ada@example.org")
    assert rights(client, tenant, ada, folder) == set()
    idp.group("Editors", ada)
    assert "reporting/edit" in rights(client, tenant, ada, folder)


def test_adding_and_removing_a_member_reaches_the_reader(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, folder: str
) -> None:
    ada = idp.user("ada@example.org")
    editors = idp.group("Editors")
    rights(client, tenant, ada, folder)  # cached before the change
    idp.patch("Groups", editors, {"op": "add", "path": "members", "value": [{"value": ada}]})
    assert "reporting/edit" in rights(client, tenant, ada, folder)
    idp.patch("Groups", editors, {"op": "remove", "path": f'members[value eq "{ada}"]'})
    assert rights(client, tenant, ada, folder) == set()


def test_a_member_of_a_nested_group_gains_and_loses_with_the_nesting(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, folder: str
) -> None:
    ada = idp.user("ada@example.org")
    team = idp.group("Team", ada)
    editors = idp.group("Editors")
    idp.patch("Groups", editors, {"op": "add", "path": "members", "value": [{"value": team}]})
    assert "reporting/edit" in rights(client, tenant, ada, folder)
    idp.patch("Groups", editors, {"op": "remove", "path": f'members[value eq "{team}"]'})
    assert rights(client, tenant, ada, folder) == set()


def test_deleting_a_group_takes_its_role_from_its_members(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, folder: str
) -> None:
    ada = idp.user("ada@example.org")
    editors = idp.group("Editors", ada)
    assert "reporting/edit" in rights(client, tenant, ada, folder)
    idp.delete("Groups", editors)
    assert rights(client, tenant, ada, folder) == set()


def test_deactivation_empties_the_cached_set_before_the_request_returns(
    client: FlaskClient,
    tenant: TenantKeys,
    idp: Idp,
    folder: str,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ada = idp.user("ada@example.org")
    idp.group("Editors", ada)
    assert "reporting/edit" in rights(client, tenant, ada, folder)
    # No task may run: the request itself must clear the set.
    monkeypatch.setattr(runtime, "send", lambda *a, **k: (_ for _ in ()).throw(ConnectionError()))
    idp.patch("Users", ada, {"op": "replace", "value": {"active": False}})
    assert runtime.cache.body_of(tenant.id, ada)["scopes"] == {}
    body = client.get(f"/api/v1/users/{ada}/permissions", headers=tenant.auth("read")).json
    assert body["active"] is False and body["scopes"] == {}


def test_a_deleted_user_has_no_permissions_left(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, folder: str, runtime: Runtime
) -> None:
    ada = idp.user("ada@example.org")
    idp.group("Editors", ada)
    assert "reporting/edit" in rights(client, tenant, ada, folder)
    idp.delete("Users", ada)
    check = client.post(
        "/api/v1/check",
        headers=tenant.auth("read"),
        json={
            "checks": [
                {"user": ada, "area": "edit", "level": "granted", "scope": folder},
                {"user": "ada@example.org", "area": "edit", "level": "granted", "scope": folder},
            ]
        },
    ).json["results"]
    assert [c["allowed"] for c in check] == [False, False]


def test_reactivation_gives_the_permissions_back(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, folder: str
) -> None:
    ada = idp.user("ada@example.org")
    idp.group("Editors", ada)
    idp.patch("Users", ada, {"op": "replace", "value": {"active": False}})
    assert rights(client, tenant, ada, folder) == set()
    idp.patch("Users", ada, {"op": "replace", "value": {"active": True}})
    assert "reporting/edit" in rights(client, tenant, ada, folder)


def test_a_renamed_user_is_read_under_the_new_name_only(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, folder: str
) -> None:
    ada = idp.user("ada@example.org")
    idp.group("Editors", ada)
    assert "reporting/edit" in rights(client, tenant, "ada@example.org", folder)
    idp.patch("Users", ada, {"op": "replace", "path": "userName", "value": "ada@new.example"})
    assert "reporting/edit" in rights(client, tenant, "ada@new.example", folder)
    gone = client.get("/api/v1/users/ada@example.org/permissions", headers=tenant.auth("read"))
    assert gone.status_code == 404
