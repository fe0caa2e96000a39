"""The HTTP transport against a real rolecall: each endpoint of the feed contract answers
what the client reads, including the 404s and the 410 it acts on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from rolecall_client.errors import CursorExpired, RolecallRefused
from rolecall_client.transport import Check, HttpTransport
from tests.live_server import LiveServer, Tenant, eventually


class Small:
    """A reporting tenant with three users in a group mapped at a folder."""

    def __init__(self, server: LiveServer) -> None:
        self.tenant = tenant = Tenant(server)
        tenant.load("reporting")
        self.org = tenant.scope("organization", "Contract Org")
        self.folder = tenant.scope("folder", "Contract Folder", self.org)
        tenant.map("Contract Editors", "edit", self.folder, product="reporting")
        self.users = [tenant.user(f"c{i}@contract.example", f"ext-c{i}") for i in range(3)]
        self.group = tenant.group("Contract Editors", *self.users)
        for user in self.users:
            eventually(lambda u=user: tenant.permissions(u)["scopes"], 10, "the sets")


@pytest.fixture(scope="module")
def small(live_server: LiveServer) -> Small:
    return Small(live_server)


@pytest.fixture
def http(small: Small) -> Iterator[HttpTransport]:
    transport = HttpTransport(small.tenant.base_url, small.tenant.read_token, timeout=10)
    yield transport
    transport.close()


def test_the_feed_pages_from_the_start_and_resumes_from_its_cursor(
    small: Small, http: HttpTransport
) -> None:
    first = http.changes("0", 0, 2)
    assert len(first.changes) == 2 and first.more
    rest = http.changes(first.cursor, 0, 1000)
    seen = {c["user_id"] for c in first.changes + rest.changes if c["kind"] != "scopes"}
    assert set(small.users) <= seen
    for change in first.changes + rest.changes:
        if change["kind"] != "scopes":
            assert change["permissions"]["version"] == change["version"]
    assert http.changes(rest.cursor, 0, 1000).changes == []


def test_a_long_poll_is_woken_by_a_change_before_its_wait_is_over(
    small: Small, http: HttpTransport
) -> None:
    late = small.tenant.user("late@contract.example")
    head = http.snapshot(None, 1).feed_cursor
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        polling = pool.submit(http.changes, head, 20, 1000)
        time.sleep(0.3)
        small.tenant.members(small.group, "add", late)
        page = polling.result()
    assert time.monotonic() - started < 20
    assert late in {c.get("user_id") for c in page.changes}


def test_a_cursor_the_feed_never_issued_is_410(http: HttpTransport) -> None:
    with pytest.raises(CursorExpired):
        http.changes("999999999999", 0, 10)


def test_the_snapshot_pages_every_set_with_one_feed_cursor(
    small: Small, http: HttpTransport
) -> None:
    page = http.snapshot(None, 1)
    cursors = {page.feed_cursor}
    rows = list(page.sets)
    while page.next is not None:
        assert len(rows) <= 100, "the snapshot's pages do not advance"
        page = http.snapshot(page.next, 1)
        cursors.add(page.feed_cursor)
        rows.extend(page.sets)
    assert len(cursors) == 1
    by_user = {row["user_id"]: row for row in rows}
    for user in small.users:
        assert by_user[user]["permissions"]["version"] == by_user[user]["version"]
        assert by_user[user]["external_id"] == f"ext-c{small.users.index(user)}"


def test_ancestors_are_nearest_first_and_an_unknown_scope_is_none(
    small: Small, http: HttpTransport
) -> None:
    chain = http.ancestors(small.folder, None)
    assert chain is not None and chain.ancestors == (small.org,)
    assert http.ancestors(small.org, chain.version).ancestors == ()  # type: ignore[union-attr]
    assert http.ancestors("no-such-scope", None) is None


def test_a_user_is_found_by_any_ref_and_an_unknown_one_is_none(
    small: Small, http: HttpTransport
) -> None:
    by_id = http.user_set(small.users[0], None)
    assert by_id is not None
    assert http.user_set("C0@contract.example", None) == by_id
    assert http.user_set("ext-c0", by_id["version"]) == by_id
    assert http.user_set("nobody@contract.example", None) is None


def test_checks_are_answered_in_order(small: Small, http: HttpTransport) -> None:
    asked = [
        Check(small.users[0], "reporting/edit", "granted", small.folder),
        Check(small.users[0], "edit", "granted", small.org, "reporting"),
    ]
    assert http.check(asked, None) == [True, False]


def test_a_token_of_another_kind_is_refused(small: Small) -> None:
    scim = HttpTransport(small.tenant.base_url, small.tenant.tokens["scim"], timeout=10)
    with pytest.raises(RolecallRefused) as refused:
        scim.changes("0", 0, 1)
    assert refused.value.status in (401, 403)
