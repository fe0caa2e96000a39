"""The feed thread's rules, step by step against the in-memory rolecall: the version
rule, deletions, scope moves, a cursor out of the window, and refs that change hands."""

from __future__ import annotations

from collections.abc import Callable

from rolecall_client import Client
from tests.conftest import caught_up
from tests.fake_rolecall import AREA, FakeRolecall

EDIT, VIEW = "edit", "view"


def tree(fake: FakeRolecall) -> None:
    fake.add_scope("org", None)
    fake.add_scope("folder", "org")
    fake.add_scope("report", "folder")


def test_a_change_to_a_held_user_reaches_the_next_check(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    tree(fake)
    fake.add_user("u1", "alice@x")
    client = client_of()
    caught_up(client, fake)
    assert not client.check("u1", AREA, VIEW, "report")

    fake.grant("u1", "folder", 1)
    caught_up(client, fake)

    assert client.check("u1", AREA, EDIT, "report")
    assert client.cached("u1") == fake.body("u1")
    assert fake.calls["user_set"] == 1  # the change came by the feed, not by a refetch


def test_events_of_users_not_held_are_not_held(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    fake.add_user("u1", "alice@x")
    client = client_of()
    caught_up(client, fake)
    fake.add_user("u2", "bob@x")
    fake.grant("u2", "org", 2)
    caught_up(client, fake)
    assert client.cached("u2") is None
    assert client.status().users == 0


def test_an_event_older_than_the_held_set_is_ignored(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    """The contract's version rule: apply an event only when it is newer than what is held
    (a set fetched over HTTP may be newer than events still in the feed)."""
    tree(fake)
    fake.add_user("u1", "alice@x")
    client = client_of()
    caught_up(client, fake)
    fake.grant("u1", "org", 0)
    fake.grant("u1", "org", 2)  # two events; the client fetches after both
    assert client.check("u1", AREA, "admin", "org")

    caught_up(client, fake)  # now reads both events, the first older than what it holds

    assert client.check("u1", AREA, "admin", "org")
    assert client.cached("u1") == fake.body("u1")


def test_a_deleted_user_is_denied_and_its_name_is_free_for_another(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    tree(fake)
    fake.add_user("u1", "alice@x")
    fake.grant("u1", "org", 1)
    client = client_of()
    caught_up(client, fake)
    assert client.check("alice@x", AREA, EDIT, "org")

    fake.delete("u1")
    caught_up(client, fake)
    assert not client.check("u1", AREA, VIEW, "org")
    assert not client.check("alice@x", AREA, VIEW, "org")
    assert client.permissions("u1") is None

    fake.add_user("u2", "Alice@X")
    fake.grant("u2", "org", 0)
    caught_up(client, fake)
    assert client.check("alice@x", AREA, VIEW, "org")
    assert not client.check("alice@x", AREA, EDIT, "org")


def test_a_name_another_user_takes_over_is_resolved_again(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    """rolecall resolves a ref by id, then userName, then externalId: a ref that named
    u1 by externalId names u2 once u2 has it as userName."""
    tree(fake)
    fake.add_user("u1", "alice@x", external_id="ext-7")
    fake.grant("u1", "org", 2)
    client = client_of()
    caught_up(client, fake)
    assert client.check("ext-7", AREA, "admin", "org")

    fake.add_user("u2", "ext-7")
    caught_up(client, fake)

    assert not client.check("ext-7", AREA, VIEW, "org")
    assert client.check("u1", AREA, "admin", "org")


def test_a_scope_move_drops_every_held_chain(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    tree(fake)
    fake.add_scope("elsewhere", None)
    fake.add_user("u1", "alice@x")
    fake.grant("u1", "folder", 1)
    client = client_of()
    caught_up(client, fake)
    assert client.check("u1", AREA, EDIT, "report")

    fake.move_scope("report", "elsewhere")
    caught_up(client, fake)

    assert client.status().scopes == 0
    assert not client.check("u1", AREA, EDIT, "report")


def test_a_cursor_out_of_the_window_rebuilds_held_users_from_the_snapshot(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    tree(fake)
    for user in ("u1", "u2", "u3"):
        fake.add_user(user, f"{user}@x")
    client = client_of()
    caught_up(client, fake)
    assert not client.check("u1", AREA, VIEW, "org")
    assert not client.check("u2", AREA, VIEW, "org")

    fake.grant("u1", "org", 2)
    fake.delete("u2")
    fake.grant("u3", "org", 2)
    fake.expire()  # the client's cursor is now behind the window: 410
    snapshots = fake.calls["snapshot"]
    caught_up(client, fake)

    assert fake.calls["snapshot"] > snapshots
    assert client.cached("u1") == fake.body("u1")
    assert client.cached("u2") is None  # absent from the snapshot: gone
    assert client.cached("u3") is None  # never held
    assert client.check("u1", AREA, "admin", "org")
    assert not client.check("u2", AREA, VIEW, "org")


def test_min_version_fetches_a_newer_set_than_the_one_held(
    fake: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    tree(fake)
    fake.add_user("u1", "alice@x")
    client = client_of()
    caught_up(client, fake)
    assert not client.check("u1", AREA, VIEW, "org")

    fake.grant("u1", "org", 0)  # the feed has not been read since
    written = fake.latest["u1"]

    assert not client.check("u1", AREA, VIEW, "org")
    assert client.check("u1", AREA, VIEW, "org", min_version=written)
    assert client.permissions("u1", min_version=written) == fake.body("u1")
