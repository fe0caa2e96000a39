"""Permissions on the production stack: an IdP's change reaches a reader through the
worker; deprovisioning acts at once; a broker outage, a killed worker, racing
recomputes and a Redis outage all end with the right answer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select

from service.persistence.base import new_id, utcnow
from service.persistence.models import Tenant
from service.persistence.scim_models import ScimGroupMember, ScimUser
from tests.e2e.conftest import LiveStack

pytestmark = pytest.mark.e2e

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def eventually(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.1)


class Setup:
    def __init__(self, stack: LiveStack) -> None:
        self.stack = stack
        engine = create_engine(_driver_url(stack))
        with engine.connect() as connection:
            found = connection.execute(select(Tenant.id).where(Tenant.name == stack.tenant))
            self.tenant_id: str = found.scalar_one()
        engine.dispose()
        loaded = stack.api("POST", "/api/v1/catalogs/reporting/load", json={})
        assert loaded.status_code == 200, loaded.text
        org = stack.api(
            "POST", "/api/v1/scopes", json={"type": "organization", "name": "E2E Org"}
        ).json()["id"]
        self.folder = stack.api(
            "POST", "/api/v1/scopes", json={"type": "folder", "name": "E2E", "parent_id": org}
        ).json()["id"]
        mapped = stack.api(
            "POST",
            "/api/v1/mappings",
            json={
                "group": {"kind": "displayName", "value": "E2E Editors"},
                "role_key": "edit",
                "scope_id": self.folder,
            },
        )
        assert mapped.status_code == 201, mapped.text
        self.group = self.scim(
            "POST",
            "/Groups",
            {"schemas": [GROUP_SCHEMA], "displayName": "E2E Editors", "members": []},
        )["id"]

    def scim(self, method: str, path: str, body: dict | None = None) -> Any:
        response = self.stack.api(method, f"/scim/v2{path}", kind="scim", json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def user(self, name: str) -> str:
        return self.scim(
            "POST", "/Users", {"schemas": [USER_SCHEMA], "userName": name, "active": True}
        )["id"]

    def join(self, *user_ids: str) -> None:
        self.scim(
            "PATCH",
            f"/Groups/{self.group}",
            {
                "schemas": [PATCH_SCHEMA],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": u} for u in user_ids]}
                ],
            },
        )

    def cached_edit(self, user_id: str) -> bool:
        """What the worker wrote to Redis, read directly (no read-through)."""
        body = self.stack.cache().body_of(self.tenant_id, user_id)
        return bool(body and body["scopes"].get(self.folder, {}).get("edit"))

    def read(self, ref: str) -> Any:
        return self.stack.api(
            "GET", f"/api/v1/users/{ref}/permissions", kind="read", params={"scope": self.folder}
        )


def _driver_url(stack: LiveStack) -> str:
    return stack.env["ROLECALL_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture(scope="module")
def setup(live_stack: LiveStack) -> Setup:
    return Setup(live_stack)


def test_a_scim_group_change_reaches_a_reader_through_the_worker(setup: Setup) -> None:
    ada = setup.user("ada@e2e.example")
    setup.join(ada)
    eventually(lambda: setup.cached_edit(ada), 20, "the worker cached the new set")
    assert "edit" in setup.read(ada).json()["at_scope"]["areas"]


def test_deprovisioning_takes_effect_for_readers_at_once(setup: Setup) -> None:
    bob = setup.user("bob@e2e.example")
    setup.join(bob)
    eventually(lambda: setup.cached_edit(bob), 20, "bob can edit")
    setup.scim(
        "PATCH",
        f"/Users/{bob}",
        {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    # No waiting: the request that deactivated bob has already emptied his set.
    body = setup.read(bob).json()
    assert body["active"] is False and body["at_scope"]["areas"] == {}
    check = setup.stack.api(
        "POST",
        "/api/v1/check",
        kind="read",
        json={"checks": [{"user": bob, "area": "edit", "level": "granted", "scope": setup.folder}]},
    )
    assert check.json()["results"][0]["allowed"] is False


def test_changes_committed_while_the_broker_is_down_all_arrive(setup: Setup) -> None:
    users = [setup.user(f"outage{i}@e2e.example") for i in range(3)]
    setup.stack.processes["broker"].stop()
    try:
        for user in users:
            setup.join(user)  # each commits; its recompute waits in the outbox
        time.sleep(1)
        assert not any(setup.cached_edit(u) for u in users)
    finally:
        setup.stack.start_broker()
    eventually(
        lambda: all(setup.cached_edit(u) for u in users),
        45,
        "every change made during the outage arrived",
    )


def _pool_children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def test_a_worker_killed_mid_task_is_rerun_with_no_duplicate_effect(setup: Setup) -> None:
    stack = setup.stack
    tenant_id = setup.tenant_id
    now = utcnow()
    ids = [new_id() for _ in range(5000)]
    engine = create_engine(_driver_url(stack))
    with engine.begin() as connection:
        connection.execute(
            insert(ScimUser),
            [
                {
                    "id": uid,
                    "tenant_id": tenant_id,
                    "user_name": f"bulk{i}@e2e.example",
                    "user_name_lower": f"bulk{i}@e2e.example",
                    "active": True,
                    "document": {},
                    "created": now,
                    "last_modified": now,
                    "version": 1,
                }
                for i, uid in enumerate(ids)
            ],
        )
        connection.execute(
            insert(ScimGroupMember),
            [
                {
                    "tenant_id": tenant_id,
                    "group_id": setup.group,
                    "member_id": uid,
                    "member_type": "User",
                }
                for uid in ids
            ],
        )
    worker = stack.processes["worker"]
    log_before = len(worker.log())
    job = stack.api("POST", "/api/v1/recomputes", json={}).json()
    eventually(lambda: "recompute_batch" in worker.log()[log_before:], 30, "a batch started")
    [child] = _pool_children(worker.popen.pid)
    os.kill(child, signal.SIGKILL)

    final = eventually(
        lambda: (
            (state := stack.api("GET", f"/api/v1/recomputes/{job['id']}").json())["status"]
            == "finished"
            and state
        ),
        90,
        "the job finished",
    )
    assert final["done_users"] == final["total_users"] == job["total_users"]
    assert final["done_batches"] == final["batches"]
    assert worker.popen.poll() is None  # a new pool process took over
    assert "WorkerLostError" in worker.log()[log_before:]
    assert all(setup.cached_edit(u) for u in ids[::250])


def test_two_racing_recomputes_end_with_the_newer_set(setup: Setup) -> None:
    """Two worker processes recompute one user while the user's groups change; however
    the runs interleave, the cache ends with the set of the final state."""
    stack = setup.stack
    second = stack.start_worker("worker-2", "--concurrency", "2", "-n", "second@%h")
    try:
        cyd = setup.user("cyd@e2e.example")
        for _ in range(10):
            setup.join(cyd)
            setup.scim(
                "PATCH",
                f"/Groups/{setup.group}",
                {
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [{"op": "remove", "path": f'members[value eq "{cyd}"]'}],
                },
            )
        setup.join(cyd)  # the final state: a member
        eventually(lambda: setup.cached_edit(cyd), 30, "the final state won")
        time.sleep(2)  # any straggling older run has had its chance to land by now
        assert setup.cached_edit(cyd)
        # Runs still queued recompute the same final state under newer versions: the
        # reader and the cache agree once they are done, and no version goes back.
        seen = stack.cache().body_of(setup.tenant_id, cyd)["version"]

        def agreed() -> bool:
            fresh = setup.read(cyd).json()
            cached = stack.cache().body_of(setup.tenant_id, cyd)
            assert fresh["version"] >= seen and cached["version"] >= seen
            return fresh["version"] == cached["version"] and setup.cached_edit(cyd)

        eventually(agreed, 30, "the reader sees the cached final set")
    finally:
        second.stop()


def test_reads_are_answered_from_the_database_while_redis_is_down(setup: Setup) -> None:
    dee = setup.user("dee@e2e.example")
    setup.join(dee)
    eventually(lambda: setup.cached_edit(dee), 20, "dee can edit")
    setup.stack.processes["cache"].stop()
    try:
        read = setup.read(dee)
        assert read.status_code == 200, read.text
        assert "edit" in read.json()["at_scope"]["areas"]
        ready = setup.stack.api("GET", "/readyz")
        assert ready.status_code == 503 and ready.json()["failing"] == ["redis"]
    finally:
        setup.stack.start_cache()
