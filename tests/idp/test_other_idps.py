"""OneLogin, Google Workspace, JumpCloud and Ping, with the shapes their documentation shows.

What they have in common: attributes and schema URIs rolecall does not know are
tolerated and logged, not refused.
"""

from __future__ import annotations

import logging

import pytest

from tests.idp.conftest import body
from tests.scim.conftest import ENTERPRISE, Scim


def test_onelogin_custom_schema_is_tolerated_and_logged(
    scim: Scim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rolecall.scim.normalize")
    response = scim.post("/Users", body("onelogin_create_user"))
    assert response.status_code == 201
    assert "urn:scim:my:custom:schema" not in response.json
    assert response.json[ENTERPRISE] == {"department": "Sales"}
    assert "urn:scim:my:custom:schema" in caplog.text
    assert "CC-1" not in caplog.text


def test_onelogin_updates_and_deactivates_with_put(scim: Scim) -> None:
    user = scim.post("/Users", body("onelogin_create_user")).json
    response = scim.put(f"/Users/{user['id']}", body("onelogin_put_user", user_id=user["id"]))
    assert response.status_code == 200
    assert response.json["name"]["familyName"] == "Jones"
    assert response.json["active"] is False


def test_google_workspace_unknown_attributes_are_ignored_on_create_and_patch(
    scim: Scim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rolecall.scim.normalize")
    created = scim.post("/Users", body("google_create_user"))
    assert created.status_code == 201
    assert "orgUnitPath" not in created.json and "thumbnailPhotoUrl" not in created.json
    response = scim.request("PATCH", f"/Users/{created.json['id']}", body("google_patch_user"))
    assert response.status_code == 200
    assert response.json["name"]["familyName"] == "Lemon-Banks"
    assert response.json["active"] is False
    assert "orgUnitPath" in caplog.text


def test_jumpcloud_vendor_extension_and_manager_without_ref(scim: Scim) -> None:
    manager = scim.create_user("boss@jumpcloud.example")["id"]
    created = scim.post("/Users", body("jumpcloud_create_user", manager_id=manager))
    assert created.status_code == 201
    assert created.json[ENTERPRISE]["manager"]["value"] == manager
    assert "urn:ietf:params:scim:schemas:extension:jumpcloud:2.0:User" not in created.json


def test_jumpcloud_replaces_group_membership_with_put(scim: Scim) -> None:
    user = scim.create_user("jc.user@jumpcloud.example")["id"]
    stale = scim.create_user("stale@jumpcloud.example")["id"]
    group = scim.create_group("JumpCloud Engineers", [stale])
    response = scim.put(
        f"/Groups/{group['id']}", body("jumpcloud_put_group", group_id=group["id"], user_id=user)
    )
    assert [m["value"] for m in response.json["members"]] == [user]


def test_ping_booleans_as_strings_and_an_empty_path(scim: Scim) -> None:
    created = scim.post("/Users", body("ping_create_user"))
    assert created.status_code == 201
    assert created.json["active"] is True
    assert created.json["emails"][0]["primary"] is True
    response = scim.request("PATCH", f"/Users/{created.json['id']}", body("ping_patch_user"))
    assert response.status_code == 200
    assert response.json["emails"][0]["value"] == "pat@ping.example"
    assert "nickName" not in response.json
    assert response.json["title"] == "Engineer"
    assert response.json["displayName"] == "Pat Ping"


def test_ping_adds_and_removes_members_in_one_patch(scim: Scim) -> None:
    user = scim.create_user("u")["id"]
    other = scim.create_user("o")["id"]
    group = scim.create_group("G", [other])
    response = scim.request(
        "PATCH",
        f"/Groups/{group['id']}",
        body("ping_patch_group_members", user_id=user, other_id=other),
    )
    assert response.status_code == 204
    assert [m["value"] for m in scim.get(f"/Groups/{group['id']}").json["members"]] == [user]


def test_a_patch_whose_only_operation_names_an_unknown_attribute_changes_nothing(
    scim: Scim,
) -> None:
    user = scim.create_user("u")
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "orgUnitPath", "value": "/x"}]
    )
    assert response.status_code == 200
    assert response.json["meta"]["version"] == user["meta"]["version"]
