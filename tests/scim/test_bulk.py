"""/Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, limits."""

from __future__ import annotations

import json

from tests.scim.conftest import GROUP_SCHEMA, USER_SCHEMA, Scim, assert_scim_error

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def test_a_user_created_and_added_to_a_group_in_one_request(scim: Scim) -> None:
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK_REQUEST],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "u1",
                    "data": {"schemas": [USER_SCHEMA], "userName": "bulky"},
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g1",
                    "data": {
                        "schemas": [GROUP_SCHEMA],
                        "displayName": "Bulk group",
                        "members": [{"value": "bulkId:u1"}],
                    },
                },
            ],
        },
    )
    assert response.status_code == 200
    assert response.json["schemas"] == [BULK_RESPONSE]
    results = response.json["Operations"]
    assert [r["status"] for r in results] == ["201", "201"]
    user_id = results[0]["location"].rsplit("/", 1)[1]
    group = scim.get("/Groups", filter='displayName eq "Bulk group"').json["Resources"][0]
    assert [m["value"] for m in group["members"]] == [user_id]


def test_each_operation_reports_its_own_error_and_the_others_still_apply(scim: Scim) -> None:
    scim.create_user("taken")
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK_REQUEST],
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "taken"}},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "fresh"}},
                {"method": "DELETE", "path": "/Users/00000000-0000-0000-0000-000000000000"},
            ],
        },
    )
    statuses = [r["status"] for r in response.json["Operations"]]
    assert statuses == ["409", "201", "404"]
    assert response.json["Operations"][0]["response"]["scimType"] == "uniqueness"
    assert scim.get("/Users", filter='userName eq "fresh"').json["totalResults"] == 1


def test_fail_on_errors_stops_after_that_many_errors(scim: Scim) -> None:
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK_REQUEST],
            "failOnErrors": 1,
            "Operations": [
                {"method": "DELETE", "path": "/Users/00000000-0000-0000-0000-000000000000"},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "never"}},
            ],
        },
    )
    assert response.status_code == 200
    assert [r["status"] for r in response.json["Operations"]] == ["404"]
    assert scim.get("/Users").json["totalResults"] == 0


def test_bulk_patch_put_and_delete(scim: Scim) -> None:
    user = scim.create_user("u")
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK_REQUEST],
            "Operations": [
                {
                    "method": "PATCH",
                    "path": f"/Users/{user['id']}",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "Replace", "path": "title", "value": "T"}],
                    },
                },
                {
                    "method": "PUT",
                    "path": f"/Users/{user['id']}",
                    "data": {"schemas": [USER_SCHEMA], "userName": "u", "nickName": "n"},
                },
                {"method": "DELETE", "path": f"/Users/{user['id']}"},
            ],
        },
    )
    assert [r["status"] for r in response.json["Operations"]] == ["200", "200", "204"]
    assert scim.get(f"/Users/{user['id']}").status_code == 404


def test_more_operations_than_max_operations_is_413(scim: Scim) -> None:
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": str(i), "data": {"userName": f"u{i}"}}
        for i in range(1001)
    ]
    response = scim.post("/Bulk", {"schemas": [BULK_REQUEST], "Operations": operations})
    assert_scim_error(response, 413)
    assert scim.get("/Users", count=0).json["totalResults"] == 0


def test_a_payload_above_max_payload_size_is_413(scim: Scim) -> None:
    padding = "x" * 1_100_000
    body = json.dumps(
        {
            "schemas": [BULK_REQUEST],
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": padding}}
            ],
        }
    )
    assert_scim_error(scim.post("/Bulk", body), 413)


def test_bulk_limits_are_advertised(scim: Scim) -> None:
    bulk = scim.get("/ServiceProviderConfig").json["bulk"]
    assert bulk == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
