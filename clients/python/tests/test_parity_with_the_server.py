"""check() answers as rolecall's POST /api/v1/check does, for every combination of
user ref, area name (ref, key, key with product, ambiguous, unknown), level (held,
lower, higher, unknown) and scope (inherited, fenced, unknown) in a tenant built to
exercise each rule (tests/worlds.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from rolecall_client import Check, Client
from rolecall_client.permission_set import PermissionSet
from tests.live_server import LiveServer, eventually
from tests.worlds import ENTITLEMENTS, World, build_world

AREAS: list[tuple[str, str | None]] = [
    ("reporting/edit", None),
    ("edit", None),  # held in two products by alice: ambiguous
    ("edit", "reporting"),
    ("edit", "wiki"),
    ("reporting/edit", "wiki"),  # the product decides: wiki/edit
    ("edit", "nope"),
    ("wiki/edit", None),
    ("view", None),
    (ENTITLEMENTS, None),
    ("end_user_portal.entitlements", None),
    ("data-platform/data_dictionary", None),
    ("data_dictionary", "data-platform"),
    ("data-platform/workspaces", None),
    ("nope/none", None),
]
LEVELS = [
    "granted",
    "view",
    "manage",
    "View",
    "View and manage",
    "View, manage, and delete",
    "bogus",
]


def settled(world: World) -> dict[str, dict[str, Any]]:
    """Every user's set once the recomputes the setup started have all landed."""
    tenant, u = world.tenant, world.users

    def sets() -> dict[str, dict[str, Any]] | None:
        found = {name: tenant.permissions(uid) for name, uid in u.items()}
        alice_areas = found["alice"]["areas"]
        bob_grants = [g for grants in found["bob"]["scopes"].values() for g in grants.values()]
        done = (
            {"reporting/edit", "wiki/edit", "data-platform/workspaces"} <= set(alice_areas)
            and any("inherited_level" in g for g in bob_grants)
            and found["carol"].get("fences")
            and not found["erin"]["scopes"]
        )
        return found if done else None

    return eventually(sets, 30, "the setup's sets to be computed")


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> World:
    built = build_world(live_server)
    settled(built)
    return built


def questions(world: World) -> list[Check]:
    refs = [*world.users.values(), "ALICE@PARITY.EXAMPLE", "ext-alice", "nobody@parity.example"]
    scopes = [*world.scopes.values(), "no-such-scope"]
    return [
        Check(ref, area, level, scope, product)
        for ref, (area, product), level, scope in itertools.product(refs, AREAS, LEVELS, scopes)
    ]


def server_answers(world: World, asked: list[Check]) -> list[bool]:
    answers: list[bool] = []
    for start in range(0, len(asked), 500):
        answers.extend(world.tenant.checks([c._asdict() for c in asked[start : start + 500]]))
    return answers


def disagreements(asked: list[Check], ours: list[bool], theirs: list[bool]) -> Iterator[str]:
    for check, mine, server in zip(asked, ours, theirs, strict=True):
        if mine != server:
            yield f"{check}: client {mine}, server {server}"


def test_the_decision_rules_answer_as_the_server_does(world: World) -> None:
    """The ported rules alone: each user's set as rolecall serves it, each scope's
    ancestors as the test built the tree."""
    tenant = world.tenant
    sets: dict[str, PermissionSet | None] = {}
    asked = questions(world)
    for ref in {c.user for c in asked}:
        response = tenant.read_response("GET", f"/users/{ref}/permissions")
        sets[ref] = PermissionSet(response.json()) if response.status_code == 200 else None
    ours = []
    for c in asked:
        held = sets[c.user]
        known_scope = c.scope in tenant.parents
        ours.append(
            held is not None
            and known_scope
            and held.allows(c.scope, c.area, c.level, c.product, tenant.ancestors(c.scope))
        )

    wrong = list(disagreements(asked, ours, server_answers(world, asked)))

    assert not wrong, f"{len(wrong)} of {len(asked)} differ, e.g.\n" + "\n".join(wrong[:20])
    assert any(ours) and not all(ours)


def test_the_client_answers_from_memory_as_the_server_does(world: World) -> None:
    asked = questions(world)
    with Client(world.tenant.base_url, world.tenant.read_token, max_staleness=10) as client:
        assert client.wait_until_fresh(15), "the client never caught up with the feed"
        ours = [client.check(*c) for c in asked]
        assert client.status().fresh  # so every answer above came from memory
        assert client.check_many(asked[:50]) == ours[:50]

    wrong = list(disagreements(asked, ours, server_answers(world, asked)))

    assert not wrong, f"{len(wrong)} of {len(asked)} differ, e.g.\n" + "\n".join(wrong[:20])
