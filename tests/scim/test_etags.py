"""ETags (RFC 7644 §3.14): on every single-resource response; If-Match and If-None-Match."""

from __future__ import annotations

from tests.scim.conftest import USER_SCHEMA, Scim, assert_scim_error


def test_every_single_resource_response_carries_the_etag_of_meta_version(scim: Scim) -> None:
    user = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "e"})
    etag = user.headers["ETag"]
    assert etag.startswith('W/"') and etag == user.json["meta"]["version"]
    path = f"/Users/{user.json['id']}"
    assert scim.get(path).headers["ETag"] == etag
    replaced = scim.put(path, {"schemas": [USER_SCHEMA], "userName": "e", "title": "t"})
    assert replaced.headers["ETag"] == replaced.json["meta"]["version"] != etag
    patched = scim.patch(path, [{"op": "replace", "path": "title", "value": "u"}])
    assert patched.headers["ETag"] == patched.json["meta"]["version"]


def test_if_none_match_with_the_current_version_gives_304(scim: Scim) -> None:
    user = scim.create_user("e")
    path = f"/Users/{user['id']}"
    response = scim.get(path, headers={"If-None-Match": user["meta"]["version"]})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert scim.get(path, headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_if_match_with_a_stale_version_gives_412_on_put_patch_and_delete(scim: Scim) -> None:
    user = scim.create_user("e")
    path = f"/Users/{user['id']}"
    stale = {"If-Match": 'W/"999"'}
    assert_scim_error(
        scim.put(path, {"schemas": [USER_SCHEMA], "userName": "e"}, headers=stale), 412
    )
    assert_scim_error(
        scim.patch(path, [{"op": "replace", "path": "title", "value": "x"}], headers=stale), 412
    )
    assert_scim_error(scim.delete(path, headers=stale), 412)
    assert scim.get(path).json["meta"]["version"] == user["meta"]["version"]


def test_if_match_with_the_current_version_lets_the_change_through(scim: Scim) -> None:
    user = scim.create_user("e")
    path = f"/Users/{user['id']}"
    current = {"If-Match": user["meta"]["version"]}
    patched = scim.patch(path, [{"op": "replace", "path": "title", "value": "x"}], headers=current)
    assert patched.status_code == 200
    assert scim.delete(path, headers={"If-Match": patched.headers["ETag"]}).status_code == 204


def test_if_match_on_a_member_patch_of_a_group(scim: Scim) -> None:
    alice = scim.create_user("alice")["id"]
    group = scim.create_group("G")
    path = f"/Groups/{group['id']}"
    add = [{"op": "add", "path": "members", "value": [{"value": alice}]}]
    assert_scim_error(scim.patch(path, add, headers={"If-Match": 'W/"999"'}), 412)
    ok = scim.patch(path, add, headers={"If-Match": group["meta"]["version"]})
    assert ok.status_code == 204


def test_etag_support_is_advertised(scim: Scim) -> None:
    assert scim.get("/ServiceProviderConfig").json["etag"] == {"supported": True}
