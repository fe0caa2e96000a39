"""Bad input on /scim/v2: a clear 4xx in the SCIM error format, never a 500, never lost
or truncated data (issue 15). The same tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.persistence.scim_models import ScimGroup, ScimGroupMember, ScimUser
from service.runtime import Runtime
from service.settings import Settings, SettingsError
from tests.scim.conftest import (
    GROUP_SCHEMA,
    LIST_SCHEMA,
    PATCH_SCHEMA,
    USER_SCHEMA,
    Scim,
    assert_scim_error,
)

SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

USER_NAME_MAX = ScimUser.__table__.c.user_name.type.length
GROUP_NAME_MAX = ScimGroup.__table__.c.display_name.type.length
MEMBER_ID_MAX = ScimGroupMember.__table__.c.member_id.type.length


def assert_invalid_value_naming(response: Any, attribute: str) -> None:
    assert_scim_error(response, 400, "invalidValue")
    assert attribute in response.json["detail"], response.json


def user_names(scim: Scim) -> list[str]:
    return [user["userName"] for user in scim.get("/Users", count=1000).json.get("Resources", [])]


# -- strings longer than their column, or holding NUL ------------------------------


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"userName": "u" * (USER_NAME_MAX + 1)}, "userName"),
        ({"displayName": "d" * 301}, "displayName"),
        ({"externalId": "e" * 301}, "externalId"),
        ({"name": {"givenName": "g" * 201}}, "name.givenName"),
        ({"name": {"familyName": "f" * 201}}, "name.familyName"),
        ({"userType": "t" * 101}, "userType"),
    ],
)
def test_a_user_string_longer_than_its_column_is_400_naming_it_and_nothing_is_stored(
    scim: Scim, attributes: dict[str, Any], named: str
) -> None:
    body = {"schemas": [USER_SCHEMA], "userName": "long@example.org", **attributes}
    assert_invalid_value_naming(scim.post("/Users", body), named)
    assert user_names(scim) == []


def test_a_user_name_exactly_as_long_as_its_column_is_stored_whole(scim: Scim) -> None:
    name = "u" * USER_NAME_MAX
    created = scim.create_user(name)
    assert scim.get(f"/Users/{created['id']}").json["userName"] == name


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"userName": "nul\u0000name"}, "userName"),
        ({"displayName": "Nul\u0000"}, "displayName"),
        ({"externalId": "\u0000"}, "externalId"),
        ({"name": {"givenName": "G\u0000"}}, "name.givenName"),
        ({"title": "Chief\u0000"}, "title"),
        ({"addresses": [{"locality": "Here\u0000"}]}, "addresses.locality"),
    ],
)
def test_nul_in_any_user_string_is_400_naming_it_and_nothing_is_stored(
    scim: Scim, attributes: dict[str, Any], named: str
) -> None:
    body = {"schemas": [USER_SCHEMA], "userName": "nul@example.org", **attributes}
    assert_invalid_value_naming(scim.post("/Users", body), named)
    assert user_names(scim) == []


def test_a_put_with_an_overlong_display_name_leaves_the_user_as_it_was(scim: Scim) -> None:
    user = scim.create_user("kept@example.org", displayName="Kept")
    body = {"schemas": [USER_SCHEMA], "userName": "kept@example.org", "displayName": "x" * 301}
    assert_invalid_value_naming(scim.put(f"/Users/{user['id']}", body), "displayName")
    assert scim.get(f"/Users/{user['id']}").json["displayName"] == "Kept"


def test_a_patch_putting_nul_in_a_user_name_leaves_the_user_as_it_was(scim: Scim) -> None:
    user = scim.create_user("kept@example.org")
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "userName", "value": "a\u0000b"}]
    )
    assert_invalid_value_naming(response, "userName")
    assert scim.get(f"/Users/{user['id']}").json["userName"] == "kept@example.org"


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"displayName": "g" * (GROUP_NAME_MAX + 1)}, "displayName"),
        ({"displayName": "Nul\u0000Group"}, "displayName"),
        ({"externalId": "x" * 301}, "externalId"),
        ({"externalId": "ext\u0000"}, "externalId"),
    ],
)
def test_a_group_string_too_long_or_holding_nul_is_400_naming_it(
    scim: Scim, attributes: dict[str, Any], named: str
) -> None:
    body = {"schemas": [GROUP_SCHEMA], "displayName": "Group", **attributes}
    assert_invalid_value_naming(scim.post("/Groups", body), named)
    assert scim.get("/Groups").json["totalResults"] == 0


def test_a_group_renamed_to_an_overlong_name_by_patch_keeps_its_name(scim: Scim) -> None:
    group = scim.create_group("Kept")
    response = scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "replace", "path": "displayName", "value": "g" * (GROUP_NAME_MAX + 1)}],
    )
    assert_invalid_value_naming(response, "displayName")
    assert scim.get(f"/Groups/{group['id']}").json["displayName"] == "Kept"


@pytest.mark.parametrize(
    ("member", "named"),
    [
        ({"value": "m" * (MEMBER_ID_MAX + 1)}, "members.value"),
        ({"value": "a\u0000b"}, "members.value"),
        ({"value": "{user}", "display": "d" * 301}, "members.display"),
        ({"value": "{user}", "display": "Nul\u0000"}, "members.display"),
    ],
)
def test_a_member_value_or_display_too_long_or_holding_nul_is_400_naming_it(
    scim: Scim, member: dict[str, str], named: str
) -> None:
    user = scim.create_user("member@example.org")["id"]
    member = {key: value.replace("{user}", user) for key, value in member.items()}
    group = scim.create_group("Team")
    path = f"/Groups/{group['id']}"
    added = scim.patch(path, [{"op": "add", "path": "members", "value": [member]}])
    assert_invalid_value_naming(added, named)
    created = scim.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Other", "members": [member]}
    )
    assert_invalid_value_naming(created, named)
    assert "members" not in scim.get(path).json


def test_removing_a_member_by_a_value_filter_holding_nul_removes_nothing(scim: Scim) -> None:
    user = scim.create_user("member@example.org")["id"]
    group = scim.create_group("Team", [user])
    path = f"/Groups/{group['id']}"
    response = scim.patch(path, [{"op": "remove", "path": 'members[value eq "a\\u0000b"]'}])
    assert response.status_code in (200, 204), response.get_data(as_text=True)
    assert [m["value"] for m in scim.get(path).json["members"]] == [user]


# -- junk in a path id: an id that cannot exist is not found -------------------------


@pytest.mark.parametrize("path", ["/Users/%00", "/Groups/a%00b", "/Users/" + "x" * 1000])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_an_id_holding_nul_or_too_long_to_exist_is_404(scim: Scim, path: str, method: str) -> None:
    body: Any = None
    if method == "PUT":
        schema = USER_SCHEMA if path.startswith("/Users") else GROUP_SCHEMA
        body = {"schemas": [schema], "userName": "x@example.org", "displayName": "x"}
    if method == "PATCH":
        body = {
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "path": "displayName", "value": "x"}],
        }
    assert_scim_error(scim.request(method, path, body), 404)


def test_a_member_patch_on_a_group_id_holding_nul_is_404(scim: Scim) -> None:
    user = scim.create_user("member@example.org")["id"]
    response = scim.patch("/Groups/a%00b", [{"op": "add", "path": "members", "value": [user]}])
    assert_scim_error(response, 404)


# -- paging numbers (RFC 7644 §3.4.2.4) ------------------------------------------------


@pytest.fixture
def three_users(scim: Scim) -> list[str]:
    return [scim.create_user(f"user{n}@example.org")["id"] for n in range(3)]


def test_a_start_index_past_64_bits_is_past_the_end_an_empty_page_with_the_total(
    scim: Scim, three_users: list[str]
) -> None:
    huge = "99999999999999999999"
    for response in (
        scim.get("/Users", startIndex=huge),
        scim.get("/Users", startIndex=huge, filter='userName sw "user"'),
        scim.post("/Users/.search", {"schemas": [SEARCH_SCHEMA], "startIndex": int(huge)}),
        scim.post("/.search", {"schemas": [SEARCH_SCHEMA], "startIndex": int(huge)}),
        scim.get("/Users", startIndex=huge, attributes="userName"),
    ):
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["schemas"] == [LIST_SCHEMA]
        assert response.json["totalResults"] == 3
        assert response.json.get("Resources", []) == []


def test_a_start_index_below_one_is_read_as_one(scim: Scim, three_users: list[str]) -> None:
    for start in ("0", "-5", "-99999999999999999999"):
        response = scim.get("/Users", startIndex=start)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["startIndex"] == 1
        assert len(response.json["Resources"]) == 3


def test_a_count_past_64_bits_is_clamped_to_the_maximum(scim: Scim, three_users: list[str]) -> None:
    for response in (
        scim.get("/Users", count="99999999999999999999"),
        scim.post("/.search", {"schemas": [SEARCH_SCHEMA], "count": 99999999999999999999}),
        scim.get("/Users", count="99999999999999999999", cursor=""),
    ):
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["totalResults"] == 3
        assert len(response.json["Resources"]) == 3


def test_a_negative_count_is_read_as_zero_giving_only_the_total(
    scim: Scim, three_users: list[str]
) -> None:
    for count in ("-1", "-99999999999999999999"):
        response = scim.get("/Users", count=count)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["totalResults"] == 3
        assert response.json.get("Resources", []) == []


def test_a_start_index_or_count_that_is_not_a_number_is_400_invalid_value(scim: Scim) -> None:
    for query in ({"startIndex": "many"}, {"count": "1e400"}):
        response = scim.get("/Users", **query)
        assert_scim_error(response, 400, "invalidValue")


# -- filters too large to serve --------------------------------------------------------


def _or_filter(terms: int) -> str:
    return " or ".join(f'userName eq "user{n}@example.org"' for n in range(terms))


def test_a_filter_of_2000_terms_is_400_invalid_filter_not_503(
    scim: Scim, three_users: list[str]
) -> None:
    for response in (
        scim.get("/Users", filter=_or_filter(2000)),
        scim.post("/Users/.search", {"schemas": [SEARCH_SCHEMA], "filter": _or_filter(2000)}),
        scim.post("/.search", {"schemas": [SEARCH_SCHEMA], "filter": _or_filter(2000)}),
        scim.get("/Users", filter=_or_filter(2000), cursor=""),
    ):
        assert_scim_error(response, 400, "invalidFilter")
        assert "2000" in response.json["detail"]


def test_a_filter_as_large_as_the_setting_allows_is_served(
    runtime: Runtime, scim: Scim, three_users: list[str]
) -> None:
    limit = runtime.settings.scim_filter_max_terms
    response = scim.get("/Users", filter=_or_filter(limit))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["totalResults"] == 3


def test_the_filter_limit_is_a_setting_of_at_least_one_term() -> None:
    assert Settings.from_env({}).scim_filter_max_terms == 100
    assert Settings.from_env({"ROLECALL_SCIM_FILTER_MAX_TERMS": "500"}).scim_filter_max_terms == 500
    with pytest.raises(SettingsError, match="ROLECALL_SCIM_FILTER_MAX_TERMS"):
        Settings.from_env({"ROLECALL_SCIM_FILTER_MAX_TERMS": "0"})


def test_a_filter_value_holding_nul_is_400_invalid_filter(scim: Scim) -> None:
    for expression in ('userName eq "a\u0000"', 'emails[value co "\u0000"]', 'id eq "\u0000"'):
        assert_scim_error(scim.get("/Users", filter=expression), 400, "invalidFilter")
    assert_scim_error(
        scim.get("/Groups", filter='members[value eq "\u0000"]'), 400, "invalidFilter"
    )


# -- JSON nested too deep --------------------------------------------------------------


@pytest.mark.parametrize("depth", [300, 5000, 100_000])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/Users"), ("POST", "/Groups"), ("POST", "/Bulk"), ("POST", "/Users/.search")],
)
def test_json_nested_too_deep_is_400_invalid_syntax(
    scim: Scim, method: str, path: str, depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    body = f'{{"schemas": ["{USER_SCHEMA}"], "userName": "deep", "x": {nested}}}'
    assert_scim_error(scim.request(method, path, body), 400, "invalidSyntax")


def test_a_patch_nested_too_deep_is_400_invalid_syntax(scim: Scim) -> None:
    user = scim.create_user("deep@example.org")
    nested = "[" * 5000 + "]" * 5000
    body = f'{{"schemas": ["{PATCH_SCHEMA}"], "Operations": {nested}}}'
    assert_scim_error(scim.request("PATCH", f"/Users/{user['id']}", body), 400, "invalidSyntax")


# -- what the server tells clients about its limits ------------------------------------


def test_bulk_max_payload_size_announces_the_request_body_limit(runtime: Runtime) -> None:
    for limit in (runtime.settings.max_request_bytes, 65_536):
        settings = runtime.settings.with_overrides(max_request_bytes=limit)
        app = create_app(runtime=dataclasses.replace(runtime, settings=settings))
        response = app.test_client().get("/scim/v2/ServiceProviderConfig")
        assert response.json["bulk"]["maxPayloadSize"] == limit


def test_every_scim_by_id_operation_declares_its_id_parameter(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    by_id = [path for path in paths if path.startswith("/scim/v2/") and "{id}" in path]
    assert by_id
    for path in by_id:
        for method, operation in paths[path].items():
            if method == "parameters":
                continue
            declared = paths[path].get("parameters", []) + operation.get("parameters", [])
            assert any(
                p.get("name") == "id" and p.get("in") == "path" and p.get("required") is True
                for p in declared
            ), (path, method)


def test_me_is_documented_as_the_501_it_answers(client: FlaskClient, scim: Scim) -> None:
    me = client.get("/api/openapi.json").json["paths"]["/scim/v2/Me"]
    for method in ("get", "post", "put", "patch", "delete"):
        assert sorted(me[method]["responses"]) == ["401", "501"], method
        assert_scim_error(scim.request(method.upper(), "/Me"), 501)


def test_every_documented_scim_success_status_is_the_one_served(
    client: FlaskClient, scim: Scim
) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    user = scim.create_user("doc@example.org")
    group = scim.create_group("Doc")
    served = {
        ("/scim/v2/Users", "get"): scim.get("/Users").status_code,
        ("/scim/v2/Users/{id}", "get"): scim.get(f"/Users/{user['id']}").status_code,
        ("/scim/v2/Groups/{id}", "patch"): scim.patch(
            f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [user["id"]]}]
        ).status_code,
        ("/scim/v2/Groups/{id}", "delete"): scim.delete(f"/Groups/{group['id']}").status_code,
        ("/scim/v2/ServiceProviderConfig", "get"): scim.get("/ServiceProviderConfig").status_code,
        ("/scim/v2/Schemas/{id}", "get"): scim.get(f"/Schemas/{USER_SCHEMA}").status_code,
    }
    for (path, method), status in served.items():
        assert str(status) in paths[path][method]["responses"], (path, method, status)
