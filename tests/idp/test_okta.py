"""Okta, as its SCIM 2.0 provisioning integration really sends requests."""

from __future__ import annotations

from tests.idp.conftest import body
from tests.scim.conftest import Scim


def _create(scim: Scim) -> dict[str, object]:
    response = scim.post("/Users", body("okta_create_user"), content_type="application/json")
    assert response.status_code == 201
    return response.json


def test_okta_creates_users_with_application_json(scim: Scim) -> None:
    lookup = scim.get(
        "/Users", filter='userName eq "test.user@okta-example.org"', startIndex=1, count=100
    ).json
    assert lookup["totalResults"] == 0
    user = _create(scim)
    assert user["userName"] == "test.user@okta-example.org"
    assert "password" not in user


def test_okta_updates_a_user_with_a_put_of_the_whole_resource(scim: Scim) -> None:
    user = _create(scim)
    response = scim.put(
        f"/Users/{user['id']}",
        body("okta_put_user", user_id=str(user["id"])),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json["name"]["givenName"] == "Another"
    assert response.json["displayName"] == "Another User"


def test_okta_deactivates_with_a_path_less_active_false(scim: Scim) -> None:
    user = _create(scim)
    response = scim.request(
        "PATCH",
        f"/Users/{user['id']}",
        body("okta_patch_user_deactivate"),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json["active"] is False


def test_okta_sets_a_password_which_is_never_returned(scim: Scim) -> None:
    user = _create(scim)
    response = scim.request("PATCH", f"/Users/{user['id']}", body("okta_patch_user_password"))
    assert response.status_code == 200
    assert "password" not in response.json


def test_okta_pages_all_users_with_start_index_and_count_100(scim: Scim) -> None:
    for n in range(150):
        scim.create_user(f"user{n:03}@okta-example.org")
    first = scim.get("/Users", startIndex=1, count=100).json
    second = scim.get("/Users", startIndex=101, count=100).json
    assert first["totalResults"] == second["totalResults"] == 150
    assert (first["itemsPerPage"], second["itemsPerPage"]) == (100, 50)
    ids = [u["id"] for u in first["Resources"] + second["Resources"]]
    assert len(set(ids)) == 150


def test_okta_group_push_renames_with_the_id_in_a_path_less_replace(scim: Scim) -> None:
    group = scim.post("/Groups", body("okta_create_group"), content_type="application/json").json
    response = scim.request(
        "PATCH", f"/Groups/{group['id']}", body("okta_patch_group_rename", group_id=group["id"])
    )
    assert response.status_code == 200
    assert response.json["displayName"] == "Test SCIMv2 Renamed"
    assert response.json["id"] == group["id"]


def test_okta_group_push_adds_members_and_removes_one_by_value_filter(scim: Scim) -> None:
    user = str(_create(scim)["id"])
    other = scim.create_user("other.user@okta-example.org")["id"]
    group = scim.post("/Groups", body("okta_create_group")).json
    path = f"/Groups/{group['id']}"
    added = scim.request(
        "PATCH", path, body("okta_patch_group_add_members", user_id=user, other_id=other)
    )
    assert added.status_code == 204
    removed = scim.request("PATCH", path, body("okta_patch_group_remove_member", user_id=user))
    assert removed.status_code == 204
    assert [m["value"] for m in scim.get(path).json["members"]] == [other]


def test_okta_group_push_can_replace_the_member_list(scim: Scim) -> None:
    user = str(_create(scim)["id"])
    other = scim.create_user("other.user@okta-example.org")["id"]
    group = scim.create_group("Pushed", [user])
    response = scim.request(
        "PATCH", f"/Groups/{group['id']}", body("okta_patch_group_replace_members", other_id=other)
    )
    assert response.status_code == 200
    assert [m["value"] for m in response.json["members"]] == [other]
