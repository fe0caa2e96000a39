"""attributes / excludedAttributes on every response, and POST .search."""

from __future__ import annotations

from tests.scim.conftest import LIST_SCHEMA, Scim, assert_scim_error

SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def test_attributes_keep_only_what_is_asked_plus_what_is_always_returned(scim: Scim) -> None:
    user = scim.create_user("alice", title="Boss", displayName="Alice")
    response = scim.get(f"/Users/{user['id']}", attributes="title")
    assert set(response.json) == {"schemas", "id", "title"}


def test_excluded_attributes_drop_what_is_asked_but_never_id(scim: Scim) -> None:
    user = scim.create_user("alice", title="Boss", displayName="Alice")
    response = scim.get(f"/Users/{user['id']}", excludedAttributes="title,id,displayName")
    assert "title" not in response.json and "displayName" not in response.json
    assert response.json["id"] == user["id"] and response.json["userName"] == "alice"


def test_attributes_apply_to_creation_responses_and_lists(scim: Scim) -> None:
    created = scim.post(
        "/Users", {"userName": "bob", "title": "T"}, content_type="application/scim+json"
    )
    assert created.status_code == 201
    listed = scim.get("/Users", attributes="userName").json["Resources"]
    assert listed == [
        {"schemas": listed[0]["schemas"], "id": created.json["id"], "userName": "bob"}
    ]


def test_excluded_members_leave_group_reads_light(scim: Scim) -> None:
    alice = scim.create_user("alice")["id"]
    group = scim.create_group("G", [alice])
    one = scim.get(f"/Groups/{group['id']}", excludedAttributes="members").json
    assert "members" not in one and one["displayName"] == "G"
    many = scim.get("/Groups", excludedAttributes="members").json["Resources"]
    assert all("members" not in g for g in many)


def test_post_search_on_users(scim: Scim) -> None:
    scim.create_user("alice")
    scim.create_user("bob")
    response = scim.post(
        "/Users/.search",
        {
            "schemas": [SEARCH_SCHEMA],
            "filter": 'userName sw "a"',
            "attributes": ["userName"],
            "startIndex": 1,
            "count": 10,
        },
    )
    assert response.status_code == 200
    assert response.json["schemas"] == [LIST_SCHEMA]
    assert [r["userName"] for r in response.json["Resources"]] == ["alice"]


def test_post_search_on_groups(scim: Scim) -> None:
    scim.create_group("Admins")
    scim.create_group("Users")
    response = scim.post(
        "/Groups/.search", {"schemas": [SEARCH_SCHEMA], "filter": 'displayName eq "users"'}
    )
    assert [g["displayName"] for g in response.json["Resources"]] == ["Users"]


def test_post_search_at_the_root_spans_users_and_groups(scim: Scim) -> None:
    scim.create_user("alice", displayName="Team")
    scim.create_group("Team")
    scim.create_group("Other")
    response = scim.post(
        "/.search", {"schemas": [SEARCH_SCHEMA], "filter": 'displayName eq "team"'}
    )
    assert response.status_code == 200
    types = sorted(r["meta"]["resourceType"] for r in response.json["Resources"])
    assert types == ["Group", "User"]
    assert response.json["totalResults"] == 2
    paged = scim.post("/.search", {"schemas": [SEARCH_SCHEMA], "count": 2, "startIndex": 2})
    assert paged.json["totalResults"] == 3
    assert len(paged.json["Resources"]) == 2


def test_a_search_with_a_bad_filter_is_400(scim: Scim) -> None:
    response = scim.post("/Users/.search", {"schemas": [SEARCH_SCHEMA], "filter": "userName eq"})
    assert_scim_error(response, 400, "invalidFilter")
