"""The client holds at most max_users users and max_scopes chains, least recently
asked about dropped first, and drops what nobody asked about for idle_seconds."""

from __future__ import annotations

from collections.abc import Callable

from rolecall_client import Client
from tests.conftest import FakeClock, caught_up
from tests.fake_rolecall import AREA, FakeRolecall


def users(fake: FakeRolecall, count: int) -> list[str]:
    fake.add_scope("org", None)
    ids = [f"u{i}" for i in range(count)]
    for user in ids:
        fake.add_user(user, f"{user}@x")
        fake.grant(user, "org", 0)
    return ids


def test_past_max_users_the_least_recently_asked_about_are_dropped(
    fake: FakeRolecall, client_of: Callable[..., Client], clock: FakeClock
) -> None:
    ids = users(fake, 25)
    client = client_of(max_users=20)
    caught_up(client, fake)
    for user in ids[:20]:
        clock.advance(0.01)
        assert client.check(user, AREA, "view", "org")
    clock.advance(0.01)
    assert client.check(ids[0], AREA, "view", "org")  # asked again: now the newest

    clock.advance(0.01)
    assert client.check(ids[20], AREA, "view", "org")

    held = {user for user in ids if client.cached(user) is not None}
    assert len(held) <= 20
    assert ids[0] in held and ids[20] in held
    assert ids[1] not in held  # the least recently asked about


def test_a_user_not_asked_about_for_idle_seconds_is_dropped(
    fake: FakeRolecall, client_of: Callable[..., Client], clock: FakeClock
) -> None:
    ids = users(fake, 2)
    client = client_of(idle_seconds=60)
    caught_up(client, fake)
    assert client.check(ids[0], AREA, "view", "org")
    assert client.check(ids[1], AREA, "view", "org")

    clock.advance(45)
    caught_up(client, fake)
    assert client.check(ids[1], AREA, "view", "org")
    clock.advance(45)
    caught_up(client, fake)  # the feed thread sweeps after each answer that caught up

    assert client.cached(ids[0]) is None
    assert client.cached(ids[1]) is not None
    assert client.status().scopes == 1


def test_a_dropped_user_is_fetched_again_with_its_newest_set(
    fake: FakeRolecall, client_of: Callable[..., Client], clock: FakeClock
) -> None:
    ids = users(fake, 1)
    client = client_of(idle_seconds=60)
    caught_up(client, fake)
    assert client.check(ids[0], AREA, "view", "org")
    clock.advance(61)
    caught_up(client, fake)
    fake.grant(ids[0], "org", 2)
    caught_up(client, fake)

    assert client.check(ids[0], AREA, "admin", "org")
