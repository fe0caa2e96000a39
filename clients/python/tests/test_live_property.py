"""Property, against a real rolecall: for any interleaving of changes (group joins and
leaves, deprovisioning and reprovisioning, a scope moving) with the client's checks
(each a fetch racing the feed thread), once the changes stop the client's set for every
user it holds is the server's set.

"The server's set at the same version": rolecall records an event only when a set's
permissions change, so the server's cache may hold a newer version of the same content
than the client's last event (the feed contract). The client's version is never newer
than the server's, and the content is the same.

A seeded random generator makes the interleavings (hypothesis would shrink across a
server whose state it cannot reset); each seed is one reproducible sequence of requests,
while the feed thread runs at its own pace.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from rolecall_client import Client
from tests.live_server import PATCH_SCHEMA, LiveServer, Tenant, eventually

GROUPS = {"Prop Editors": ("edit", "folder"), "Prop Sharers": ("share", "org")}


class Scene:
    def __init__(self, server: LiveServer) -> None:
        tenant = self.tenant = Tenant(server)
        tenant.load("reporting")
        self.org = tenant.scope("organization", "Prop Org")
        self.folder = tenant.scope("folder", "Prop Folder", self.org)
        self.report = tenant.scope("report", "Prop Report", self.folder)
        self.groups = {}
        for name, (role, at) in GROUPS.items():
            tenant.map(name, role, self.org if at == "org" else self.folder, product="reporting")
            self.groups[name] = tenant.group(name)
        self.users = [tenant.user(f"prop{i}@live.example") for i in range(4)]

    def set_active(self, user: str, active: bool) -> None:
        operation = {"op": "replace", "path": "active", "value": active}
        self.tenant.scim(
            "PATCH", f"/Users/{user}", {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
        )


@pytest.fixture(scope="module")
def scene(live_server: LiveServer) -> Scene:
    return Scene(live_server)


def content(body: dict[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    return {k: v for k, v in body.items() if k not in ("version", "computed_at")}


@pytest.mark.parametrize("seed", range(8))
def test_after_any_interleaving_the_client_holds_the_servers_sets(scene: Scene, seed: int) -> None:
    rng = random.Random(seed)
    tenant = scene.tenant
    scopes = [scene.org, scene.folder, scene.report]
    with Client(tenant.base_url, tenant.read_token, max_users=3) as client:
        assert client.wait_until_fresh(15)
        for _ in range(24):
            user = rng.choice(scene.users)
            action = rng.choice(["join", "leave", "active", "check", "check", "move"])
            if action in ("join", "leave"):
                group = scene.groups[rng.choice(list(GROUPS))]
                tenant.members(group, "add" if action == "join" else "remove", user)
            elif action == "active":
                scene.set_active(user, rng.random() < 0.6)
            elif action == "move":
                tenant.move(scene.report, rng.choice([scene.folder, scene.org]))
            else:
                ref = rng.choice([user, f"prop{scene.users.index(user)}@LIVE.example"])
                area = rng.choice(["reporting/edit", "share", "view"])
                client.check(ref, area, "granted", rng.choice(scopes))

        def settled() -> bool:
            for user in scene.users:
                held = client.cached(user)
                if held is None:
                    continue
                server = tenant.permissions(user)
                if content(held) != content(server) or held["version"] > server["version"]:
                    return False
            return True

        eventually(settled, 15, "the client's held sets to equal the server's")
        assert client.status().fresh
        held_users = [u for u in scene.users if client.cached(u) is not None]
        assert held_users, "the sequence held no user: it tested nothing"
