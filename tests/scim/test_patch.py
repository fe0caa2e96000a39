"""PATCH (RFC 7644 §3.5.2): add, remove, replace; paths of every shape; atomicity; members."""

from __future__ import annotations

from typing import Any

from tests.scim.conftest import ENTERPRISE, PATCH_SCHEMA, Scim, assert_scim_error


def _user(scim: Scim) -> dict[str, Any]:
    return scim.create_user(
        "patchy",
        name={"givenName": "Pat", "familyName": "Chy"},
        emails=[
            {"value": "pat@work.example", "type": "work", "primary": True},
            {"value": "pat@home.example", "type": "home"},
        ],
        **{ENTERPRISE: {"department": "Sales"}},
    )


def test_patch_answers_200_with_the_updated_resource(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": "Boss"}]
    )
    assert response.status_code == 200
    assert response.json["title"] == "Boss"
    assert response.headers["ETag"] == response.json["meta"]["version"]


def test_patch_honours_attributes_and_excluded_attributes(scim: Scim) -> None:
    user = _user(scim)
    path = f"/Users/{user['id']}"
    only = scim.patch(path, [{"op": "replace", "path": "title", "value": "A"}], attributes="title")
    assert set(only.json) == {"schemas", "id", "title"}
    without = scim.patch(
        path, [{"op": "replace", "path": "title", "value": "B"}], excludedAttributes="emails"
    )
    assert "emails" not in without.json and without.json["title"] == "B"


def test_add_sets_an_attribute_and_appends_to_a_multi_valued_one(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "add", "path": "nickName", "value": "P"},
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 555", "type": "work"}]},
        ],
    )
    assert response.json["nickName"] == "P"
    assert response.json["phoneNumbers"] == [{"value": "+1 555", "type": "work"}]


def test_add_without_path_merges_the_value_object(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "add", "value": {"title": "T", "nickName": "N"}}]
    )
    assert (response.json["title"], response.json["nickName"]) == ("T", "N")
    assert response.json["name"]["givenName"] == "Pat"


def test_replace_of_a_sub_attribute_path(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "name.givenName", "value": "Patricia"}]
    )
    assert response.json["name"] == {"givenName": "Patricia", "familyName": "Chy"}


def test_replace_through_a_value_filter_changes_only_the_selected_value(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}",
        [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@work.example"}],
    )
    emails = {e["type"]: e["value"] for e in response.json["emails"]}
    assert emails == {"work": "new@work.example", "home": "pat@home.example"}


def test_remove_through_a_value_filter(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "remove", "path": 'emails[type eq "home"]'}]
    )
    assert [e["type"] for e in response.json["emails"]] == ["work"]


def test_extension_attributes_are_patched_by_their_full_urn_path(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Support"},
            {"op": "add", "path": f"{ENTERPRISE}:costCenter", "value": "42"},
        ],
    )
    assert response.json[ENTERPRISE] == {"department": "Support", "costCenter": "42"}


def test_path_less_replace_with_dotted_and_urn_keys(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {
                "op": "replace",
                "value": {
                    "name.familyName": "Smith",
                    f"{ENTERPRISE}:department": "Legal",
                    "active": False,
                },
            }
        ],
    )
    body = response.json
    assert body["name"]["familyName"] == "Smith"
    assert body[ENTERPRISE]["department"] == "Legal"
    assert body["active"] is False


def test_remove_of_an_attribute(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(f"/Users/{user['id']}", [{"op": "remove", "path": "name.familyName"}])
    assert response.json["name"] == {"givenName": "Pat"}


def test_the_operations_of_one_request_apply_all_or_none(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "replace", "path": "title", "value": "Applied?"},
            {"op": "replace", "path": "userName", "value": None},
        ],
    )
    assert response.status_code == 400
    assert "title" not in scim.get(f"/Users/{user['id']}").json


def test_a_patch_to_a_taken_user_name_is_409_and_changes_nothing(scim: Scim) -> None:
    scim.create_user("taken")
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "replace", "path": "title", "value": "x"},
            {"op": "replace", "path": "userName", "value": "TAKEN"},
        ],
    )
    assert_scim_error(response, 409, "uniqueness")
    assert "title" not in scim.get(f"/Users/{user['id']}").json


def test_an_invalid_path_is_400_invalid_path(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "emails[", "value": 1}]
    )
    assert_scim_error(response, 400)
    assert response.json["scimType"] in {"invalidPath", "invalidFilter"}


def test_an_unknown_op_is_400(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(f"/Users/{user['id']}", [{"op": "move", "path": "title", "value": 1}])
    assert_scim_error(response, 400)


def test_a_read_only_attribute_cannot_be_patched(scim: Scim) -> None:
    user = _user(scim)
    response = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "id", "value": "x"}])
    assert_scim_error(response, 400, "mutability")


def test_a_patch_without_the_patch_op_schema_or_operations_is_400(scim: Scim) -> None:
    user = _user(scim)
    response = scim.request("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_SCHEMA]})
    assert_scim_error(response, 400)


def test_adding_group_members_with_and_without_response_attributes(scim: Scim) -> None:
    a, b = (scim.create_user(name)["id"] for name in ("a", "b"))
    group = scim.create_group("G", [a])
    path = f"/Groups/{group['id']}"
    quiet = scim.patch(path, [{"op": "add", "path": "members", "value": [{"value": b}]}])
    assert quiet.status_code == 204
    assert quiet.headers["ETag"] != group["meta"]["version"]
    members = {m["value"] for m in scim.get(path).json["members"]}
    assert members == {a, b}
    shown = scim.patch(
        path, [{"op": "remove", "path": f'members[value eq "{a}"]'}], attributes="members"
    )
    assert shown.status_code == 200
    assert [m["value"] for m in shown.json["members"]] == [b]


def test_re_adding_a_member_or_removing_an_absent_one_changes_nothing(scim: Scim) -> None:
    a, b = (scim.create_user(name)["id"] for name in ("a", "b"))
    group = scim.create_group("G", [a])
    path = f"/Groups/{group['id']}"
    again = scim.patch(path, [{"op": "add", "path": "members", "value": [{"value": a}]}])
    absent = scim.patch(path, [{"op": "remove", "path": f'members[value eq "{b}"]'}])
    assert again.status_code == absent.status_code == 204
    after = scim.get(path).json
    assert after["meta"]["version"] == group["meta"]["version"]
    assert after["meta"]["lastModified"] == group["meta"]["lastModified"]
    assert [m["value"] for m in after["members"]] == [a]


def test_removing_members_named_in_a_value_list_removes_exactly_those(scim: Scim) -> None:
    a, b, c = (scim.create_user(name)["id"] for name in ("a", "b", "c"))
    group = scim.create_group("G", [a, b, c])
    path = f"/Groups/{group['id']}"
    response = scim.patch(
        path, [{"op": "remove", "path": "members", "value": [{"value": a}, {"value": c}]}]
    )
    assert response.status_code == 204
    assert [m["value"] for m in scim.get(path).json["members"]] == [b]


def test_remove_of_all_members_and_replace_of_members(scim: Scim) -> None:
    a, b = (scim.create_user(name)["id"] for name in ("a", "b"))
    group = scim.create_group("G", [a])
    path = f"/Groups/{group['id']}"
    replaced = scim.patch(path, [{"op": "replace", "path": "members", "value": [{"value": b}]}])
    assert [m["value"] for m in replaced.json["members"]] == [b]
    emptied = scim.patch(path, [{"op": "remove", "path": "members"}])
    assert emptied.status_code == 200
    assert "members" not in emptied.json


def test_a_group_patch_mixing_members_and_attributes_applies_both(scim: Scim) -> None:
    a = scim.create_user("a")["id"]
    group = scim.create_group("G")
    response = scim.patch(
        f"/Groups/{group['id']}",
        [
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": a}]},
        ],
    )
    assert response.status_code == 200
    assert response.json["displayName"] == "Renamed"
    assert [m["value"] for m in response.json["members"]] == [a]


def test_adding_an_unknown_member_skips_it_and_adds_the_known_ones(scim: Scim) -> None:
    a = scim.create_user("a")["id"]
    group = scim.create_group("G")
    response = scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": a}, {"value": "ghost"}]}],
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [m["value"] for m in response.json["members"]] == [a]
    assert [m["value"] for m in scim.get(f"/Groups/{group['id']}").json["members"]] == [a]


def test_a_group_added_to_itself_is_400_and_adds_nothing(scim: Scim) -> None:
    a = scim.create_user("a")["id"]
    group = scim.create_group("G")
    response = scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": a}, {"value": group["id"]}]}],
    )
    assert_scim_error(response, 400, "invalidValue")
    assert "members" not in scim.get(f"/Groups/{group['id']}").json
