"""Groups: CRUD, members (users and nested groups), User.groups derived direct and indirect."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from service.persistence.scim_models import ScimGroupMember
from service.runtime import Runtime
from tests.conftest import TenantKeys
from tests.scim.conftest import GROUP_SCHEMA, Scim, assert_scim_error


def test_a_group_is_created_with_members_and_read_back(scim: Scim) -> None:
    alice = scim.create_user("alice", displayName="Alice")
    response = scim.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Admins",
            "externalId": "grp-1",
            "members": [{"value": alice["id"]}],
        },
    )
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["resourceType"] == "Group"
    assert body["members"] == [
        {
            "value": alice["id"],
            "$ref": f"http://localhost/scim/v2/Users/{alice['id']}",
            "type": "User",
            "display": "Alice",
        }
    ]
    assert scim.get(f"/Groups/{body['id']}").json["members"] == body["members"]


def test_a_member_that_is_not_a_user_or_group_of_the_tenant_is_skipped(
    scim: Scim, make_tenant: Callable[[str], TenantKeys], scim_for: Callable[[TenantKeys], Scim]
) -> None:
    theirs = scim_for(make_tenant("other")).create_user("theirs")["id"]
    ours = scim.create_user("ours")["id"]
    members = [{"value": "nobody"}, {"value": theirs}, {"value": ours}]
    response = scim.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "X", "members": members}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert [m["value"] for m in response.json["members"]] == [ours]


def test_a_duplicate_group_external_id_is_409(scim: Scim) -> None:
    scim.create_group("One", externalId="same")
    response = scim.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Two", "externalId": "same"}
    )
    assert_scim_error(response, 409, "uniqueness")


def test_nested_groups_give_users_direct_and_indirect_groups(scim: Scim) -> None:
    alice = scim.create_user("alice")
    engineers = scim.create_group("Engineers", [alice["id"]])
    staff = scim.create_group("Staff", [engineers["id"]])
    everyone = scim.create_group("Everyone", [staff["id"]])
    groups = scim.get(f"/Users/{alice['id']}").json["groups"]
    by_id = {g["value"]: g for g in groups}
    assert set(by_id) == {engineers["id"], staff["id"], everyone["id"]}
    assert by_id[engineers["id"]]["type"] == "direct"
    assert by_id[staff["id"]]["type"] == "indirect"
    assert by_id[everyone["id"]]["display"] == "Everyone"
    nested = scim.get(f"/Groups/{staff['id']}").json["members"]
    assert nested == [
        {
            "value": engineers["id"],
            "$ref": f"http://localhost/scim/v2/Groups/{engineers['id']}",
            "type": "Group",
            "display": "Engineers",
        }
    ]


def test_user_groups_is_read_only_and_ignored_on_create(scim: Scim) -> None:
    group = scim.create_group("G")
    user = scim.create_user("u", groups=[{"value": group["id"]}])
    assert "groups" not in user
    assert scim.get(f"/Groups/{group['id']}").json.get("members") is None


def test_put_of_a_group_applies_the_member_list_as_a_set_difference(
    scim: Scim, runtime: Runtime
) -> None:
    a, b, c = (scim.create_user(name)["id"] for name in ("a", "b", "c"))
    group = scim.create_group("Team", [a, b])
    response = scim.put(
        f"/Groups/{group['id']}",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Team",
            "members": [{"value": b}, {"value": c}],
        },
    )
    assert response.status_code == 200
    assert sorted(m["value"] for m in response.json["members"]) == sorted([b, c])
    with runtime.unit_of_work() as uow:
        session = uow.session
        rows = set(
            session.scalars(
                select(ScimGroupMember.member_id).where(ScimGroupMember.group_id == group["id"])
            )
        )
    assert rows == {b, c}


def test_deleting_a_user_removes_it_from_its_groups(scim: Scim) -> None:
    a, b = (scim.create_user(name)["id"] for name in ("a", "b"))
    group = scim.create_group("Team", [a, b])
    assert scim.delete(f"/Users/{a}").status_code == 204
    members = scim.get(f"/Groups/{group['id']}").json["members"]
    assert [m["value"] for m in members] == [b]


def test_deleting_a_group_answers_204_then_404_and_unlinks_it(scim: Scim) -> None:
    alice = scim.create_user("alice")
    inner = scim.create_group("Inner", [alice["id"]])
    outer = scim.create_group("Outer", [inner["id"]])
    assert scim.delete(f"/Groups/{inner['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Groups/{inner['id']}"), 404)
    assert "members" not in scim.get(f"/Groups/{outer['id']}").json
    assert "groups" not in scim.get(f"/Users/{alice['id']}").json


def test_a_group_cannot_contain_itself(scim: Scim) -> None:
    group = scim.create_group("Loop")
    response = scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": group["id"]}]}],
    )
    assert_scim_error(response, 400, "invalidValue")


def test_the_display_an_idp_sends_with_a_member_is_echoed_back(scim: Scim) -> None:
    alice = scim.create_user("alice", displayName="Alice")["id"]
    bob = scim.create_user("bob", displayName="Bob")["id"]
    group = scim.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "G",
            "members": [{"value": alice, "display": "Alice from the IdP"}, {"value": bob}],
        },
    ).json
    displays = {m["value"]: m["display"] for m in group["members"]}
    assert displays == {alice: "Alice from the IdP", bob: "Bob"}
    carol = scim.create_user("carol")["id"]
    scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": carol, "display": "C"}]}],
    )
    members = scim.get(f"/Groups/{group['id']}").json["members"]
    assert {m["value"]: m.get("display") for m in members}[carol] == "C"
