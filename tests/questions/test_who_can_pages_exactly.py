"""Who-can is exact: it pages by a cursor in user id order, never skips nor repeats a
user who did not change between pages, says when a deadline cut a page short, and
refuses bad input naming the field."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.runtime import Runtime
from service.services import questions
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.questions.conftest import Questions


@dataclass
class Team:
    org: str
    folder: str
    team: str  # the "Team" group, mapped to View at the organization
    members: list[str]  # user ids, in the group
    direct: list[str]  # user ids with View at the folder directly


@pytest.fixture
def team(admin: Admin, directory: Directory) -> Team:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    folder = admin.scope("folder", "Folder", org)
    members = [directory.user(f"member{i}") for i in range(9)]
    team = directory.group("Team", users=members)
    admin.map("Team", "view", org)
    direct = [directory.user(f"direct{i}") for i in range(3)]
    for i in range(3):
        admin.assign(f"direct{i}", "view", folder)
    return Team(org, folder, team, members, direct)


def test_pages_follow_user_ids_and_end_with_a_complete_page(ask: Questions, team: Team) -> None:
    pages = []
    cursor = None
    while True:
        page = ask.who_can_page(team.folder, "view", "granted", limit=5, cursor=cursor)
        pages.append(page)
        if page["complete"]:
            break
        cursor = page["next_cursor"]

    ids = [e["user_id"] for p in pages for e in p["entries"]]
    assert sorted(ids) == sorted(team.members + team.direct)
    assert [len(p["entries"]) for p in pages][:2] == [5, 5]
    assert all(p["next_cursor"] for p in pages[:-1]) and pages[-1]["next_cursor"] is None
    assert not any(p["deadline_reached"] for p in pages)
    assert pages[0]["area"] == "reporting/view"


def test_no_unchanged_user_is_skipped_or_repeated_when_the_model_changes_between_pages(
    admin: Admin, ask: Questions, directory: Directory, team: Team
) -> None:
    """Between pages of two or three, users join and leave the group, a deactivated user
    drops out, a new group is mapped and another mapping is deleted: every user whose
    access did not change is listed exactly once, and ids keep rising."""
    more = [directory.user(f"more{i}") for i in range(6)]
    for uid in more:
        directory.add(team.team, uid)
    extra = [directory.user(f"extra{i}") for i in range(6)]
    directory.group("Extra", users=extra)
    extra_mapping = admin.map("Extra", "view", team.folder)
    changed: set[str] = set(extra)
    late = [directory.user(f"late{i}") for i in range(3)]
    changes: list[Callable[[], None]] = [
        lambda: directory.remove(team.team, team.members[0]),
        lambda: directory.add(team.team, late[0]),
        lambda: directory.set_active(team.members[4], False),
        lambda: (directory.group("Late", users=late[1:]), admin.map("Late", "view", team.org)),
        lambda: admin.ok(admin.delete(f"/mappings/{extra_mapping}"), 204),
        lambda: directory.add(team.team, team.members[0]),
    ]
    changed |= {team.members[0], team.members[4], *late}

    seen: list[str] = []
    cursor = None
    for size in itertools.cycle([2, 3]):
        page = ask.who_can_page(team.folder, "view", "granted", limit=size, cursor=cursor)
        seen += [e["user_id"] for e in page["entries"]]
        if page["complete"]:
            break
        cursor = page["next_cursor"]
        if changes:
            changes.pop(0)()

    assert not changes, "the listing ended before every change was made"
    assert len(seen) == len(set(seen)), "a user was listed twice"
    assert seen == sorted(seen)
    unchanged = set(team.members + team.direct + more) - changed
    assert unchanged <= set(seen)


def test_a_deadline_answers_what_it_confirmed_with_the_cursor_to_go_on(
    ask: Questions, directory: Directory, team: Team
) -> None:
    """With a deadline of 0 ms a page decides one batch of candidates and stops. Nine
    group members are deactivated (candidates the computation turns down), so a page of
    four cannot fill from its first batch: it says the deadline was reached, is not
    complete, and following its cursor lists the three others exactly once."""
    for uid in team.members:
        directory.set_active(uid, False)

    pages = []
    cursor = None
    while True:
        page = ask.who_can_page(
            team.folder, "view", "granted", limit=4, cursor=cursor, deadline_ms=0
        )
        pages.append(page)
        if page["complete"]:
            break
        cursor = page["next_cursor"]

    assert pages[0]["deadline_reached"] and not pages[0]["complete"]
    assert pages[0]["next_cursor"]
    ids = [e["user_id"] for p in pages for e in p["entries"]]
    assert sorted(ids) == sorted(team.direct)
    assert not pages[-1]["deadline_reached"]


def test_a_page_of_candidates_all_turned_down_stops_at_the_deadline_not_silently(
    runtime: Runtime, tenant: TenantKeys, directory: Directory, team: Team
) -> None:
    """The service's clock is injected: a deadline passed after the first batch, where
    no candidate held the right, answers no users, deadline_reached and a cursor; the
    next page, with time to spare, ends the listing."""
    for uid in team.members + team.direct:
        directory.set_active(uid, False)
    ticks = itertools.count(0, 10.0)

    first = questions.who_can(
        runtime.unit_of_work(),
        tenant.id,
        team.folder,
        "view",
        "granted",
        limit=2,
        deadline_s=1.0,
        clock=lambda: next(ticks),
    )

    assert first.entries == ()
    assert first.deadline_reached and not first.complete and first.next_cursor
    rest = questions.who_can(
        runtime.unit_of_work(), tenant.id, team.folder, "view", "granted", cursor=first.next_cursor
    )
    assert rest.entries == () and rest.complete and rest.next_cursor is None


def test_members_of_nested_groups_count_and_nested_groups_are_not_users(
    admin: Admin, ask: Questions, directory: Directory, team: Team
) -> None:
    """A mapped group's nested groups bring their members; the nested groups themselves
    are read as rows but are no users, and pages of them alone still move on (a page of
    one, with a dozen nested groups, ends with the one user)."""
    inner = directory.user("inner")
    nested = [directory.group(f"Nested {i}") for i in range(11)]
    nested.append(directory.group("Nested with a user", users=[inner]))
    directory.group("Outer", groups=nested)
    admin.map("Outer", "edit", team.org)

    entries = ask.who_can(team.folder, "edit", "granted", limit=1)

    assert [e["user_name"] for e in entries] == ["inner"]
    assert entries[0]["chains"][0]["via_group_names"] == ["Nested with a user", "Outer"]


# -- bad input ---------------------------------------------------------------------------


def errors_of(response: TestResponse) -> dict[str, Any]:
    """The fields an error names: a domain error's, or a query parameter's (the
    parser's errors are keyed by location)."""
    errors = dict(response.json.get("errors", {}))
    return {**errors, **errors.pop("query", {})}


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"area": "nope", "level": "granted"}, 404, "area"),
        ({"area": "view", "level": "superb"}, 422, "level"),
        ({"area": "view", "level": "granted", "product": "nope"}, 404, "product"),
        ({"area": "view", "level": "granted", "cursor": "not-a-cursor!"}, 400, "cursor"),
        ({"area": "view", "level": "granted", "cursor": "e30"}, 400, "cursor"),
        ({"area": "view", "level": "granted", "limit": 0}, 422, "limit"),
        ({"area": "view", "level": "granted", "limit": 1001}, 422, "limit"),
        ({"area": "view", "level": "granted", "deadline_ms": -1}, 422, "deadline_ms"),
        ({"level": "granted"}, 422, "area"),
    ],
)
def test_bad_who_can_input_is_refused_naming_the_field(
    admin: Admin, team: Team, query: dict[str, Any], status: int, field: str
) -> None:
    response = admin.get(f"/scopes/{team.folder}/who-can", **query)

    assert response.status_code == status, response.json
    assert field in errors_of(response)


def test_an_unknown_scope_is_404_naming_scope_id(admin: Admin, team: Team) -> None:
    response = admin.get("/scopes/no-such-scope/who-can", area="view", level="granted")

    assert response.status_code == 404
    assert "scope_id" in errors_of(response)


def test_a_cursor_of_another_question_is_refused(ask: Questions, admin: Admin, team: Team) -> None:
    page = ask.who_can_page(team.folder, "view", "granted", limit=1)

    elsewhere = admin.get(
        f"/scopes/{team.org}/who-can", area="view", level="granted", cursor=page["next_cursor"]
    )
    other_area = admin.get(
        f"/scopes/{team.folder}/who-can", area="edit", level="granted", cursor=page["next_cursor"]
    )
    where = admin.get(
        "/users/direct0/where-can", area="view", level="granted", cursor=page["next_cursor"]
    )

    for response in (elsewhere, other_area, where):
        assert response.status_code == 400, response.json
        assert "cursor" in errors_of(response)


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"area": "nope", "level": "granted"}, 404, "area"),
        ({"area": "view", "level": "superb"}, 422, "level"),
        ({"area": "view", "level": "granted", "cursor": "%%%"}, 400, "cursor"),
        ({"area": "view", "level": "granted", "limit": 0}, 422, "limit"),
    ],
)
def test_bad_where_can_input_is_refused_naming_the_field(
    admin: Admin, team: Team, query: dict[str, Any], status: int, field: str
) -> None:
    response = admin.get("/users/direct0/where-can", **query)

    assert response.status_code == status, response.json
    assert field in errors_of(response)


def test_an_unknown_user_is_404_naming_user(admin: Admin, team: Team) -> None:
    response = admin.get("/users/nobody/where-can", area="view", level="granted")

    assert response.status_code == 404
    assert "user" in errors_of(response)


def test_questions_need_an_admin_token(client: FlaskClient, tenant: TenantKeys, team: Team) -> None:
    response = client.get(
        f"/api/v1/scopes/{team.folder}/who-can",
        query_string={"area": "view", "level": "granted"},
        headers=tenant.auth("read"),
    )

    assert response.status_code == 403


def test_a_tenant_sees_only_its_own_scopes_and_users(
    client: FlaskClient, make_tenant: Callable[[str], TenantKeys], team: Team
) -> None:
    """Every tenant sees only its own data: another tenant's admin asking about this
    tenant's scope or user gets 404, as if they did not exist."""
    other = Admin(client, make_tenant("globex"))
    other.load("reporting")

    scope = other.get(f"/scopes/{team.folder}/who-can", area="view", level="granted")
    user = other.get("/users/direct0/where-can", area="view", level="granted")

    assert scope.status_code == 404 and "scope_id" in errors_of(scope)
    assert user.status_code == 404 and "user" in errors_of(user)
