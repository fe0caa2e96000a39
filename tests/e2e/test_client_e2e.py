"""rolecall-client against the production stack (gunicorn, a Celery worker, the relay,
PostgreSQL and Redis): an IdP's group change reaches the client's answer; a
deprovisioning is denied by the client at once; with rolecall stopped, the client
denies once `max_staleness` has passed, and answers again when rolecall is back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from rolecall_client import Client

from tests.e2e.conftest import LiveStack
from tests.e2e.scenario import PATCH_SCHEMA, Setup, eventually

pytestmark = pytest.mark.e2e

MAX_STALENESS = 2.0


@pytest.fixture(scope="module")
def setup(live_stack: LiveStack) -> Setup:
    return Setup(live_stack, label="Client")


@pytest.fixture
def client(setup: Setup) -> Iterator[Client]:
    with Client(
        setup.stack.base_url, setup.stack.tokens["read"], max_staleness=MAX_STALENESS
    ) as client:
        assert client.wait_until_fresh(20)
        yield client


def may_edit(client: Client, setup: Setup, user: str) -> bool:
    return client.check(user, "reporting/edit", "granted", setup.folder)


def test_a_scim_group_change_reaches_the_clients_answer(setup: Setup, client: Client) -> None:
    ada = setup.user("ada@client.example")
    assert not may_edit(client, setup, ada)  # held now: the feed keeps it current

    setup.join(ada)

    eventually(lambda: may_edit(client, setup, ada), 20, "the client allows ada")
    assert client.cached(ada)["scopes"][setup.folder]["reporting/edit"]["level"] == "granted"


def test_a_deprovisioned_user_is_denied_by_the_client_at_once(setup: Setup, client: Client) -> None:
    bob = setup.user("bob@client.example")
    setup.join(bob)
    eventually(lambda: may_edit(client, setup, bob), 20, "the client allows bob")

    started = time.monotonic()
    setup.scim(
        "PATCH",
        f"/Users/{bob}",
        {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    # The figure (p99 < 250 ms) is bench/bench_client.py's; a test allows for a slow machine.
    eventually(lambda: not may_edit(client, setup, bob), 5, "the client denies bob")
    assert time.monotonic() - started < 5


def test_with_rolecall_stopped_the_client_denies_once_max_staleness_has_passed(
    setup: Setup, client: Client
) -> None:
    cy = setup.user("cy@client.example")
    setup.join(cy)
    eventually(lambda: may_edit(client, setup, cy), 20, "the client allows cy")

    stack = setup.stack
    stack.processes["web"].stop()
    stopped = time.monotonic()
    try:
        answers: list[tuple[float, bool]] = []
        while time.monotonic() - stopped < MAX_STALENESS + 2:
            answers.append((time.monotonic() - stopped, may_edit(client, setup, cy)))
            time.sleep(0.05)
        # Never allowed past max_staleness (before it, memory may still answer).
        assert not any(allowed for at, allowed in answers if at > MAX_STALENESS)
        assert not client.status().fresh
    finally:
        stack.start_web()
        stack.wait_ready()
    assert client.wait_until_fresh(20)
    assert may_edit(client, setup, cy)
