"""Microsoft Entra ID, as its provisioning service really sends requests."""

from __future__ import annotations

import logging
import uuid

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.idp.conftest import body
from tests.permissions.conftest import Admin
from tests.scim.conftest import ENTERPRISE, Scim


def test_entra_checks_for_the_user_name_before_creating(scim: Scim) -> None:
    response = scim.get("/Users", filter='userName eq "Test_User_ab6490ee@testuser.com"')
    assert response.status_code == 200
    assert response.json["totalResults"] == 0
    manager = scim.create_user("boss@testuser.com")["id"]
    created = scim.post("/Users", body("entra_create_user", manager_id=manager))
    assert created.status_code == 201
    again = scim.get("/Users", filter='userName eq "test_user_AB6490EE@testuser.com"').json
    assert [u["id"] for u in again["Resources"]] == [created.json["id"]]


def test_entra_test_connection_with_a_random_guid_filter_gives_an_empty_list(scim: Scim) -> None:
    response = scim.get("/Users", filter=f'userName eq "{uuid.uuid4()}"')
    assert response.status_code == 200
    assert response.json["totalResults"] == 0
    assert response.json.get("Resources", []) == []


def test_entra_manager_as_a_bare_string_id_on_create_and_patch(scim: Scim) -> None:
    first = scim.create_user("first-boss")["id"]
    second = scim.create_user("second-boss")["id"]
    created = scim.post("/Users", body("entra_create_user", manager_id=first)).json
    assert created[ENTERPRISE]["manager"]["value"] == first
    patched = scim.request(
        "PATCH", f"/Users/{created['id']}", body("entra_patch_user_manager", manager_id=second)
    )
    assert patched.status_code == 200
    assert patched.json[ENTERPRISE]["manager"]["value"] == second


def test_entra_capitalised_replace_with_value_filter_and_sub_attribute_paths(scim: Scim) -> None:
    user = scim.post("/Users", body("entra_create_user", manager_id="m")).json
    response = scim.request("PATCH", f"/Users/{user['id']}", body("entra_patch_user_replace"))
    assert response.status_code == 200
    assert response.json["emails"][0]["value"] == "updatedEmail@microsoft.com"
    assert response.json["name"]["familyName"] == "updatedFamilyName"


def test_entra_path_less_replace_with_dotted_and_urn_keys(scim: Scim) -> None:
    user = scim.post("/Users", body("entra_create_user", manager_id="m")).json
    response = scim.request("PATCH", f"/Users/{user['id']}", body("entra_patch_user_pathless"))
    assert response.status_code == 200
    assert response.json["displayName"] == "Jane Doe"
    assert response.json["name"]["givenName"] == "Jane"
    assert response.json[ENTERPRISE]["department"] == "Finance"
    assert response.json[ENTERPRISE]["employeeNumber"] == "5678"


@pytest.mark.parametrize(
    "fixture", ["entra_patch_user_disable", "entra_patch_user_pathless_disable"]
)
def test_entra_deprovisions_with_active_false_as_a_string(scim: Scim, fixture: str) -> None:
    user = scim.post("/Users", body("entra_create_user", manager_id="m")).json
    response = scim.request("PATCH", f"/Users/{user['id']}", body(fixture))
    assert response.status_code == 200
    assert response.json["active"] is False
    listed = scim.get("/Users", filter="active eq false").json
    assert [u["id"] for u in listed["Resources"]] == [user["id"]]


def test_entra_group_with_its_own_schema_uri_is_created_and_found(
    scim: Scim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rolecall.scim.normalize")
    created = scim.post("/Groups", body("entra_create_group"))
    assert created.status_code == 201
    assert created.json["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Group"]
    assert "ADSCIM" in caplog.text
    by_external = scim.get(
        "/Groups",
        filter='externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"',
        excludedAttributes="members",
    ).json
    by_name = scim.get(
        "/Groups", filter='displayName eq "displayName"', excludedAttributes="members"
    ).json
    assert [g["id"] for g in by_external["Resources"]] == [created.json["id"]]
    assert [g["id"] for g in by_name["Resources"]] == [created.json["id"]]


def test_entra_adds_and_removes_members_with_value_lists(scim: Scim) -> None:
    user = scim.create_user("u1")["id"]
    other = scim.create_user("u2")["id"]
    keep = scim.create_user("u3")["id"]
    group = scim.post("/Groups", body("entra_create_group")).json
    path = f"/Groups/{group['id']}"
    for member in (user, other, keep):
        added = scim.request("PATCH", path, body("entra_patch_group_add_member", user_id=member))
        assert added.status_code == 204
    removed = scim.request(
        "PATCH", path, body("entra_patch_group_remove_members", user_id=user, other_id=other)
    )
    assert removed.status_code == 204
    assert [m["value"] for m in scim.get(path).json["members"]] == [keep]


def test_entra_group_reads_exclude_members(scim: Scim) -> None:
    user = scim.create_user("u1")["id"]
    group = scim.create_group("G", [user])
    response = scim.get(f"/Groups/{group['id']}", excludedAttributes="members")
    assert response.status_code == 200
    assert "members" not in response.json


def test_entra_renames_a_group(scim: Scim) -> None:
    group = scim.post("/Groups", body("entra_create_group")).json
    response = scim.request("PATCH", f"/Groups/{group['id']}", body("entra_patch_group_rename"))
    assert response.status_code == 200
    assert response.json["displayName"].endswith("updatedDisplayName")


def test_entra_replace_through_a_filter_that_matches_nothing_creates_the_entry(
    scim: Scim,
) -> None:
    user = scim.create_user("no-email")
    response = scim.request("PATCH", f"/Users/{user['id']}", body("entra_patch_user_replace"))
    assert response.status_code == 200
    assert response.json["emails"] == [{"value": "updatedEmail@microsoft.com", "type": "work"}]


def test_entra_member_and_guest_are_kept_and_unmapped_until_the_tenant_maps_them(
    scim: Scim, client: FlaskClient, tenant: TenantKeys
) -> None:
    """Seed 001: "A user belongs to one of four types"; Entra ID sends its own userType,
    Member or Guest, which is the tenant's to read as one of them (/api/v1/user-types)."""
    admin = Admin(client, tenant)
    guest = scim.post("/Users", body("entra_create_guest_user")).json
    before = admin.permissions(guest["id"])
    assert (before["user_type_raw"], before["user_type_status"]) == ("Guest", "unmapped")

    admin.ok(admin.put("/user-types", {"mappings": {"Member": "customer", "Guest": "partner"}}))
    as_guest = admin.permissions(guest["id"])
    patched = scim.request("PATCH", f"/Users/{guest['id']}", body("entra_patch_user_type"))
    as_member = admin.permissions(guest["id"])

    assert (as_guest["user_type"], as_guest["user_type_status"]) == ("partner", "mapped")
    assert patched.status_code == 200
    assert patched.json["userType"] == "Member"
    assert (as_member["user_type"], as_member["user_type_raw"]) == ("customer", "Member")
