"""Past max_staleness the client does not answer from memory: rolecall answers over
HTTP, and when it cannot, checks deny and permissions() raises."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rolecall_client import Client, RolecallUnavailable
from tests.conftest import FakeClock, caught_up
from tests.fake_rolecall import AREA, FakeRolecall


@pytest.fixture
def granted(fake: FakeRolecall) -> FakeRolecall:
    fake.add_scope("org", None)
    fake.add_user("u1", "alice@x")
    fake.grant("u1", "org", 2)
    return fake


def test_before_the_feed_has_caught_up_checks_are_asked_over_http(
    granted: FakeRolecall, client_of: Callable[..., Client]
) -> None:
    client = client_of()
    assert client.check("u1", AREA, "admin", "org")
    assert granted.calls == {"check": 1}
    assert client.status().users == 0


def test_within_max_staleness_checks_answer_from_memory(
    granted: FakeRolecall, client_of: Callable[..., Client], clock: FakeClock
) -> None:
    client = client_of(max_staleness=5.0)
    caught_up(client, granted)
    assert client.check("u1", AREA, "admin", "org")
    clock.advance(4.9)
    granted.down = True
    assert client.check("u1", AREA, "admin", "org")
    assert "check" not in granted.calls


def test_past_max_staleness_rolecall_answers_over_http(
    granted: FakeRolecall, client_of: Callable[..., Client], clock: FakeClock
) -> None:
    client = client_of(max_staleness=5.0)
    caught_up(client, granted)
    assert client.check("u1", AREA, "admin", "org")
    clock.advance(5.1)

    assert client.check("u1", AREA, "admin", "org")
    assert client.check_many([("u1", AREA, "admin", "org"), ("u1", AREA, "admin", "nowhere")]) == [
        True,
        False,
    ]
    assert granted.calls["check"] == 2  # one per call: check_many asks in one request
    assert client.permissions("u1") == granted.body("u1")


def test_past_max_staleness_with_rolecall_down_checks_deny_and_permissions_raise(
    granted: FakeRolecall, client_of: Callable[..., Client], clock: FakeClock
) -> None:
    client = client_of(max_staleness=5.0)
    caught_up(client, granted)
    assert client.check("u1", AREA, "admin", "org")
    granted.down = True
    with pytest.raises(RolecallUnavailable):
        client.poll_feed()
    clock.advance(5.1)

    assert not client.check("u1", AREA, "view", "org")
    assert client.check_many([("u1", AREA, "view", "org")]) == [False]
    with pytest.raises(RolecallUnavailable, match="max_staleness"):
        client.permissions("u1")


def test_the_feed_coming_back_makes_memory_answer_again(
    granted: FakeRolecall, client_of: Callable[..., Client], clock: FakeClock
) -> None:
    client = client_of(max_staleness=5.0)
    caught_up(client, granted)
    assert client.check("u1", AREA, "admin", "org")
    clock.advance(60)
    granted.grant("u1", "org", None)  # changed while the client was not listening

    caught_up(client, granted)
    granted.down = True

    assert not client.check("u1", AREA, "view", "org")
    assert client.cached("u1") == granted.body("u1")


def test_a_feed_wait_as_long_as_max_staleness_is_refused() -> None:
    with pytest.raises(ValueError, match="feed_wait"):
        Client("http://rolecall.invalid", "token", max_staleness=2, feed_wait=2, start=False)
