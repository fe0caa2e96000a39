"""Sorting, index pagination and RFC 9865 cursors."""

from __future__ import annotations

import time

import pytest

from tests.scim.conftest import LIST_SCHEMA, Scim, assert_scim_error

NAMES = ["dora", "Alice", "eve", "bob", "carol"]


@pytest.fixture
def users(scim: Scim) -> list[str]:
    return [scim.create_user(name, title=name.upper())["id"] for name in NAMES]


def names(response: object) -> list[str]:
    return [user["userName"] for user in response.json.get("Resources", [])]  # type: ignore[attr-defined]


def test_start_index_and_count_page_with_the_full_total(scim: Scim, users: list[str]) -> None:
    first = scim.get("/Users", sortBy="userName", startIndex=1, count=2)
    assert first.json["schemas"] == [LIST_SCHEMA]
    assert first.json["totalResults"] == 5
    assert first.json["startIndex"] == 1
    assert first.json["itemsPerPage"] == 2
    assert names(first) == ["Alice", "bob"]
    last = scim.get("/Users", sortBy="userName", startIndex=5, count=2)
    assert names(last) == ["eve"] and last.json["totalResults"] == 5
    beyond = scim.get("/Users", startIndex=9, count=2)
    assert beyond.json["totalResults"] == 5 and names(beyond) == []


def test_count_zero_gives_only_the_total(scim: Scim, users: list[str]) -> None:
    response = scim.get("/Users", count=0)
    assert response.status_code == 200
    assert response.json["totalResults"] == 5
    assert "Resources" not in response.json or response.json["Resources"] == []


def test_sort_order_descending_and_case_insensitive_strings(scim: Scim, users: list[str]) -> None:
    response = scim.get("/Users", sortBy="userName", sortOrder="descending")
    assert names(response) == ["eve", "dora", "carol", "bob", "Alice"]


def test_sorting_by_an_unknown_attribute_is_a_400(scim: Scim, users: list[str]) -> None:
    response = scim.get("/Users", sortBy="noSuchThing")
    assert response.status_code == 400


def test_paging_all_users_with_start_index_and_count_visits_each_once(
    scim: Scim, users: list[str]
) -> None:
    seen: list[str] = []
    start = 1
    while True:
        page = scim.get("/Users", startIndex=start, count=2).json
        resources = page.get("Resources", [])
        if not resources:
            break
        seen += [r["id"] for r in resources]
        start += len(resources)
    assert sorted(seen) == sorted(users)


def test_cursors_walk_every_user_once_forwards_and_backwards(scim: Scim, users: list[str]) -> None:
    first = scim.get("/Users", sortBy="userName", count=2, cursor="").json
    assert names_of(first) == ["Alice", "bob"]
    assert "previousCursor" not in first
    second = scim.get("/Users", sortBy="userName", count=2, cursor=first["nextCursor"]).json
    assert names_of(second) == ["carol", "dora"]
    third = scim.get("/Users", sortBy="userName", count=2, cursor=second["nextCursor"]).json
    assert names_of(third) == ["eve"]
    assert "nextCursor" not in third
    back = scim.get("/Users", sortBy="userName", count=2, cursor=third["previousCursor"]).json
    assert names_of(back) == ["carol", "dora"]


def names_of(page: dict[str, object]) -> list[str]:
    return [r["userName"] for r in page.get("Resources", [])]  # type: ignore[attr-defined, index]


def test_a_tampered_cursor_is_400_invalid_cursor(scim: Scim, users: list[str]) -> None:
    page = scim.get("/Users", count=2, cursor="").json
    tampered = page["nextCursor"][:-2] + ("AA" if not page["nextCursor"].endswith("AA") else "BB")
    assert_scim_error(scim.get("/Users", count=2, cursor=tampered), 400, "invalidCursor")
    assert_scim_error(scim.get("/Users", count=2, cursor="garbage"), 400, "invalidCursor")


def test_a_cursor_of_another_query_is_invalid(scim: Scim, users: list[str]) -> None:
    page = scim.get("/Users", count=2, cursor="").json
    response = scim.get("/Users", count=2, cursor=page["nextCursor"], filter='userName sw "a"')
    assert_scim_error(response, 400, "invalidCursor")


def test_an_old_cursor_is_400_expired_cursor(
    scim: Scim, users: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    page = scim.get("/Users", count=2, cursor="").json
    later = time.time() + 7200
    monkeypatch.setattr(time, "time", lambda: later)
    assert_scim_error(scim.get("/Users", count=2, cursor=page["nextCursor"]), 400, "expiredCursor")


def test_page_sizes_and_cursor_support_are_advertised(scim: Scim) -> None:
    pagination = scim.get("/ServiceProviderConfig").json["pagination"]
    assert pagination["cursor"] is True and pagination["index"] is True
    assert pagination["defaultPageSize"] == 100
    assert pagination["maxPageSize"] == 1000
    assert pagination["cursorTimeout"] == 3600


def test_a_count_above_the_maximum_is_capped(scim: Scim, users: list[str]) -> None:
    response = scim.get("/Users", count=5000)
    assert response.status_code == 200
    assert response.json["totalResults"] == 5
