"""The change feed (GET /api/v1/changes): every new effective set of the tenant's users,
in one order, resumable by cursor; what it records and what it leaves out."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from service.runtime import Runtime
from service.services import change_feed, permission_recompute
from tests.conftest import TenantKeys
from tests.feed.conftest import FeedReader
from tests.permissions.conftest import Admin
from tests.permissions.test_scim_changes_reach_readers import Idp


def content(permission_set: dict) -> dict:
    """A set without its version and time: a recompute that finds the same permissions
    writes the cache at a new version but records no change (the feed's set is the
    same permissions, at the version they were first computed at)."""
    return {k: v for k, v in permission_set.items() if k not in ("version", "computed_at")}


def current_sets(admin: Admin, user_ids: list[str]) -> dict[str, dict]:
    """What the read API answers for each user now (the cached set apps read)."""
    read = admin.keys.auth("read")
    return {
        uid: content(admin.client.get(f"/api/v1/users/{uid}/permissions", headers=read).json)
        for uid in user_ids
    }


def held(reader: FeedReader) -> dict[str, dict]:
    return {uid: content(s) for uid, s in reader.sets.items()}


def test_a_group_change_is_one_change_carrying_the_new_set(
    admin: Admin, idp: Idp, reader: FeedReader
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    admin.map("Editors", "edit", org)
    ada = idp.user("ada@example.org", externalId="ext-ada")
    reader.catch_up()

    idp.group("Editors", ada)
    changes = reader.catch_up()

    assert [c["user_id"] for c in changes] == [ada]
    change = changes[0]
    assert change["kind"] == "changed"
    assert change["user_name"] == "ada@example.org"
    assert change["external_id"] == "ext-ada"
    assert content(change["permissions"]) == current_sets(admin, [ada])[ada]
    assert change["version"] == change["permissions"]["version"]
    assert change["permissions"]["scopes"][org]["reporting/edit"]["level"] == "granted"


def test_the_same_set_computed_again_is_not_a_change(
    admin: Admin, idp: Idp, reader: FeedReader, runtime: Runtime
) -> None:
    ada = idp.user("ada@example.org")
    reader.catch_up()
    permission_recompute.recompute_users(runtime, admin.keys.id, [ada])
    assert reader.catch_up() == []


def test_deactivation_and_deletion_are_changes_of_their_own_kind(
    admin: Admin, idp: Idp, reader: FeedReader
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    admin.map("Editors", "edit", org)
    ada = idp.user("ada@example.org")
    idp.group("Editors", ada)
    reader.catch_up()

    idp.patch("Users", ada, {"op": "replace", "path": "active", "value": False})
    deactivated = reader.catch_up()
    assert [(c["kind"], c["permissions"]["scopes"]) for c in deactivated] == [("deprovisioned", {})]
    idp.delete("Users", ada)
    assert [c["kind"] for c in reader.catch_up()] == ["deleted"]
    assert reader.sets[ada]["scopes"] == {}


def test_cursors_page_through_in_order_without_gaps(
    admin: Admin, idp: Idp, reader: FeedReader
) -> None:
    users = [idp.user(f"user{i}@example.org") for i in range(7)]
    pages = []
    while True:
        page = reader.changes(limit=3)
        pages.append(page)
        reader.cursor = page["cursor"]
        if not page["more"]:
            break
    cursors = [int(c["cursor"]) for p in pages for c in p["changes"]]
    assert [len(p["changes"]) for p in pages] == [3, 3, 1]
    assert cursors == list(range(cursors[0], cursors[0] + 7))
    assert [c["user_id"] for p in pages for c in p["changes"]] == users
    # Asked again from the end: nothing, and the cursor stays where it was.
    assert reader.changes() == {"changes": [], "cursor": reader.cursor, "more": False}


def test_a_long_poll_is_answered_as_soon_as_a_change_is_recorded(
    idp: Idp, reader: FeedReader
) -> None:
    reader.catch_up()
    threading.Timer(0.3, lambda: idp.user("late@example.org")).start()
    started = time.monotonic()
    page = reader.changes(wait=10)
    waited = time.monotonic() - started
    assert [c["user_name"] for c in page["changes"]] == ["late@example.org"]
    assert 0.25 < waited < 5, waited


def test_a_long_poll_with_nothing_to_say_answers_empty_when_its_wait_is_over(
    reader: FeedReader,
) -> None:
    started = time.monotonic()
    assert reader.changes(wait=0.5)["changes"] == []
    assert time.monotonic() - started >= 0.5


def test_a_cursor_behind_the_window_is_gone_and_the_snapshot_recovers(
    admin: Admin, idp: Idp, reader: FeedReader, runtime: Runtime
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    admin.map("Editors", "edit", org)
    ada = idp.user("ada@example.org")
    bob = idp.user("bob@example.org")
    editors = idp.group("Editors", ada)
    behind = reader.catch_up()[0]["cursor"]

    with runtime.unit_of_work() as uow:  # everything recorded so far is out of the window
        assert change_feed.prune(uow.session, timedelta(0)) > 0
    idp.patch("Groups", editors, {"op": "add", "path": "members", "value": [{"value": bob}]})

    response = reader.client.get(
        "/api/v1/changes", headers=reader.headers, query_string={"after": behind}
    )
    assert response.status_code == 410
    assert response.json["reason"] == "cursor_expired" and "after" in response.json["errors"]

    reader.start_from_snapshot(limit=1)
    reader.catch_up()
    assert held(reader) == current_sets(admin, [ada, bob])


def test_a_snapshot_taken_while_sets_change_ends_equal_to_the_server(
    admin: Admin, idp: Idp, reader: FeedReader, client, tenant: TenantKeys
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    admin.map("Editors", "edit", org)
    users = [idp.user(f"user{i}@example.org") for i in range(6)]
    editors = idp.group("Editors", *users[:2])

    first = reader.get("/snapshot", limit=2)
    # Between its pages, sets change: one already paged, one not yet.
    for uid in (users[0], users[5]):
        idp.patch("Groups", editors, {"op": "add", "path": "members", "value": [{"value": uid}]})
    idp.patch("Groups", editors, {"op": "remove", "path": f'members[value eq "{users[0]}"]'})
    page, sets = first, {}
    while True:
        assert page["feed_cursor"] == first["feed_cursor"]
        for row in page["sets"]:
            sets[row["user_id"]] = row["permissions"]
        if page["next"] is None:
            break
        page = reader.get("/snapshot", cursor=page["next"], limit=2)
    reader.sets, reader.cursor = sets, first["feed_cursor"]
    reader.catch_up()
    assert held(reader) == current_sets(admin, users)


def test_a_cursor_the_feed_never_gave_is_refused(reader: FeedReader) -> None:
    for after, status, code in [
        ("999", 410, "cursor_expired"),
        ("-1", 400, "invalid_cursor"),
        ("abc", 400, "invalid_cursor"),
        ("1" * 19, 410, "cursor_expired"),
    ]:
        response = reader.client.get(
            "/api/v1/changes", headers=reader.headers, query_string={"after": after}
        )
        assert response.status_code == status, (after, response.get_data(True))
        assert response.json["reason"] == code
        assert "after" in response.json["errors"]


def test_a_tenant_reads_only_its_own_feed(
    idp: Idp, reader: FeedReader, make_tenant, client
) -> None:
    other = make_tenant("globex")
    Idp(client, other).user("spy@globex.example")
    idp.user("ada@example.org")
    names = [c["user_name"] for c in reader.catch_up()]
    assert names == ["ada@example.org"]
    theirs = FeedReader(client, other)
    assert [c["user_name"] for c in theirs.catch_up()] == ["spy@globex.example"]
    snapshot_users = [s["user_name"] for s in theirs.get("/snapshot")["sets"]]
    assert snapshot_users == ["spy@globex.example"]


def test_the_feed_needs_a_read_or_admin_token(client, tenant: TenantKeys) -> None:
    assert client.get("/api/v1/changes").status_code == 401
    assert client.get("/api/v1/changes", headers=tenant.auth("scim")).status_code == 403
    assert client.get("/api/v1/changes", headers=tenant.auth("admin")).status_code == 200
