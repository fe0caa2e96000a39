"""Fixtures: an in-memory rolecall for tests that place each step of a race, and a
real rolecall server (tests/live_server.py) for everything else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rolecall_client import Client
from tests.fake_rolecall import FakeRolecall
from tests.live_server import LiveServer, start_live_server


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake() -> FakeRolecall:
    return FakeRolecall()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client_of(fake: FakeRolecall, clock: FakeClock) -> Iterator[Callable[..., Client]]:
    """A client of the fake rolecall whose feed the test steps itself (``poll_feed``)."""
    made: list[Client] = []

    def make(**options: Any) -> Client:
        client = Client(
            "http://fake",
            "token",
            start=False,
            transport_factory=lambda: fake,
            clock=clock,
            **{"max_staleness": 5.0, **options},
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def caught_up(client: Client, fake: FakeRolecall) -> None:
    """Step the feed until the client has read all of the fake's feed."""
    for _ in range(1000):
        client.poll_feed()
        status = client.status()
        if status.fresh and status.cursor == str(len(fake.feed)):
            return
    raise AssertionError("the feed never caught up")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live_server(tmp_path_factory.mktemp("rolecall"))
    try:
        yield server
    finally:
        server.stop()
