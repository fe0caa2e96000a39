"""Property: for any interleaving of changes, feed reads, fetches and cache lag, every
set the client holds is the server's set at that version, and once the feed is read to
its end the client holds each user's newest set and answers as the server does.

Run against the in-memory rolecall, which lets a change and a feed read happen in the
middle of a fetch (between the server reading a set and the client holding it), and a
cache lag behind the feed (rolecall records an event before it writes the set to its
cache). tests/test_live_property.py asks the same of the real server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from rolecall_client import Check, Client
from tests.conftest import FakeClock, caught_up
from tests.fake_rolecall import AREA, LEVELS, FakeRolecall

USERS = ["u0", "u1", "u2"]
SCOPES = ["org", "folder", "report", "elsewhere"]
PARENTS = {"org": None, "folder": "org", "report": "folder", "elsewhere": None}

user = st.sampled_from(USERS)
scope = st.sampled_from(SCOPES)
rank = st.one_of(st.none(), st.integers(0, len(LEVELS) - 1))
# What may happen on the server side, or in the feed thread, at any moment.
background = st.one_of(
    st.tuples(st.just("grant"), user, scope, rank),
    st.tuples(st.just("delete"), user),
    st.tuples(st.just("feed")),
    st.tuples(st.just("flush")),
    st.tuples(st.just("lag"), st.booleans()),
    st.tuples(st.just("expire")),
    st.tuples(st.just("move"), st.sampled_from(["report", "folder"]), scope),
)
ref_kind = st.sampled_from(["id", "name", "NAME", "external"])
# An app's question, with what happens while its fetch (if it needs one) is in flight.
ask = st.tuples(
    st.just("check"), user, ref_kind, scope, st.booleans(), st.lists(background, max_size=4)
)
steps = st.lists(st.one_of(background, ask), max_size=40)


def ref_of(fake: FakeRolecall, user_id: str, kind: str) -> str:
    held = fake.users[user_id]
    if kind == "id":
        return user_id
    if kind == "external":
        return held.external_id or user_id
    return held.user_name.upper() if kind == "NAME" else held.user_name


def server_answer(fake: FakeRolecall, ref: str, scope_id: str, level: str) -> bool:
    return fake.check([Check(ref, AREA, level, scope_id)], None)[0]


def run(fake: FakeRolecall, client: Client, step: tuple[Any, ...]) -> None:
    kind = step[0]
    if kind == "grant":
        if fake.users[step[1]].exists:
            fake.grant(step[1], step[2], step[3])
    elif kind == "delete":
        if fake.users[step[1]].exists:
            fake.delete(step[1])
    elif kind == "feed":
        client.poll_feed()
    elif kind == "flush":
        fake.flush()
    elif kind == "lag":
        fake.lagging = step[1]
        if not step[1]:
            fake.flush()
    elif kind == "expire":
        fake.expire()
    elif kind == "move":
        moved, parent = step[1], step[2]
        if parent != moved and not below(parent, moved):
            fake.move_scope(moved, parent)
    elif kind == "check":
        _, user_id, ref_kind_, scope_id, with_min_version, during = step
        fake.during_fetch = [lambda s=s: run(fake, client, s) for s in during]
        min_version = fake.latest[user_id] if with_min_version else None
        client.check(
            ref_of(fake, user_id, ref_kind_), AREA, "view", scope_id, min_version=min_version
        )
        fake.during_fetch = []


def below(scope_id: str | None, ancestor: str) -> bool:
    while scope_id is not None:
        if scope_id == ancestor:
            return True
        scope_id = PARENTS_NOW[scope_id]
    return False


PARENTS_NOW: dict[str, str | None] = {}


def held_sets_are_server_sets(
    fake: FakeRolecall, client: Client, newest_held: dict[str, int]
) -> None:
    """Each held set is the server's at its version, and no user's goes back in time."""
    for user_id in USERS:
        held = client.cached(user_id)
        if held is not None:
            assert held == fake.history[(user_id, held["version"])]
            assert held["version"] >= newest_held.get(user_id, 0), f"{user_id} went back"
            newest_held[user_id] = held["version"]


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# A change just before the cursor the feed restarts from, its cache write still due.
@example(
    steps=[
        ("lag", True),
        ("move", "report", "org"),
        ("expire",),
        ("grant", "u0", "org", 0),
        ("feed",),
        ("check", "u0", "id", "org", False, []),
    ],
    max_users=2,
    feed_limit=1,
)
# A set fetched newer than events still unread in the feed (the version rule).
@example(
    steps=[
        ("grant", "u0", "org", 1),
        ("grant", "u0", "org", 2),
        ("check", "u0", "id", "org", False, []),
        ("feed",),
    ],
    max_users=100,
    feed_limit=1,
)
@given(steps=steps, max_users=st.sampled_from([2, 100]), feed_limit=st.sampled_from([1, 1000]))
def test_any_interleaving_ends_with_the_servers_newest_sets(
    steps: list[tuple[Any, ...]], max_users: int, feed_limit: int
) -> None:
    note(f"steps={steps!r} max_users={max_users} feed_limit={feed_limit}")
    fake = FakeRolecall()
    clock = FakeClock()
    for scope_id, parent in PARENTS.items():
        fake.add_scope(scope_id, parent)
    PARENTS_NOW.clear()
    PARENTS_NOW.update(fake.parents)
    fake.parents = PARENTS_NOW
    for i, user_id in enumerate(USERS):
        fake.add_user(user_id, f"user{i}@x", external_id=f"ext-{i}" if i % 2 else None)
    client = Client(
        "http://fake",
        "token",
        start=False,
        transport_factory=lambda: fake,
        clock=clock,
        max_users=max_users,
        feed_limit=feed_limit,
    )
    caught_up(client, fake)

    newest_held: dict[str, int] = {}
    for step in steps:
        run(fake, client, step)
        held_sets_are_server_sets(fake, client, newest_held)

    fake.lagging = False
    fake.flush()
    clock.advance(3)  # past the check-up of users fetched just after a restart
    caught_up(client, fake)
    for user_id in USERS:
        held = client.cached(user_id)
        if held is not None:
            assert held == fake.body(user_id), f"{user_id} is held at an old version"
    for user_id in USERS:
        for kind in ("id", "name", "NAME", "external"):
            ref = ref_of(fake, user_id, kind)
            for scope_id in SCOPES:
                for level in LEVELS:
                    assert client.check(ref, AREA, level, scope_id) == server_answer(
                        fake, ref, scope_id, level
                    ), (ref, scope_id, level)


def test_an_event_that_lands_while_a_user_is_fetched_is_not_lost(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    """The race named in the store's docstring, spelled out: the server reads u1's set,
    then u1 changes and the feed thread reads that change (u1 not held yet, so it has no
    one to apply it to), then the client holds the set it fetched, now older."""
    fake.add_scope("org", None)
    fake.add_user("u1", "alice@x")
    client = client_of()
    caught_up(client, fake)
    fake.during_fetch = [lambda: fake.grant("u1", "org", 2), client.poll_feed]

    client.check("u1", AREA, "view", "org")

    assert client.cached("u1") == fake.body("u1")
    assert client.check("u1", AREA, "admin", "org")


def test_an_event_out_before_the_cache_is_written_is_not_lost(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    """rolecall records the event, then writes its cache: a fetch in between reads the
    older set although the feed has already told of the newer one."""
    fake.add_scope("org", None)
    fake.add_user("u1", "alice@x")
    client = client_of()
    caught_up(client, fake)
    fake.lagging = True
    fake.grant("u1", "org", 2)
    caught_up(client, fake)

    assert client.check("u1", AREA, "admin", "org")
    assert client.cached("u1") == fake.body("u1")


def test_a_fetch_that_spans_a_rebuild_from_the_snapshot_is_answered_but_not_held(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    """u1 changes while its fetch is in flight, and the feed falls out of the window
    before the client read that change: the rebuild does not know u1 (not held yet), so
    the fetched set, older, must not be held."""
    fake.add_scope("org", None)
    fake.add_user("u1", "alice@x")
    client = client_of()
    caught_up(client, fake)
    fake.during_fetch = [lambda: fake.grant("u1", "org", 2), fake.expire, client.poll_feed]

    assert not client.check("u1", AREA, "view", "org")  # the answer of the fetched set

    assert client.cached("u1") is None
    assert client.check("u1", AREA, "admin", "org")


def test_a_user_dropped_for_memory_and_fetched_again_does_not_go_back_in_time(
    fake: FakeRolecall, client_of: Callable[..., Client], clock: FakeClock
) -> None:
    """The feed gave u0 a newer set than rolecall's cache holds yet; u0 is dropped (the
    least recently used) and fetched again before the cache is written."""
    fake.add_scope("org", None)
    for user_id in ("u0", "u1"):
        fake.add_user(user_id, f"{user_id}@x")
    client = client_of(max_users=1)
    caught_up(client, fake)
    assert not client.check("u0", AREA, "view", "org")
    fake.lagging = True
    fake.grant("u0", "org", 2)
    caught_up(client, fake)
    clock.advance(0.1)
    assert not client.check("u1", AREA, "view", "org")  # u0 is dropped for u1
    assert client.cached("u0") is None

    assert client.check("u0", AREA, "admin", "org")
