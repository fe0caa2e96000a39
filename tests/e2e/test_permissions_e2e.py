"""Permissions on the production stack: an IdP's change reaches a reader through the
worker; deprovisioning acts at once; a broker outage, a killed worker, racing
recomputes and a Redis outage all end with the right answer."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from sqlalchemy import create_engine, insert

from service.persistence.base import new_id, utcnow
from service.persistence.scim_models import ScimGroupMember, ScimUser
from tests.e2e.conftest import LiveStack
from tests.e2e.scenario import PATCH_SCHEMA, Setup, driver_url, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def setup(live_stack: LiveStack) -> Setup:
    return Setup(live_stack)


def test_a_scim_group_change_reaches_a_reader_through_the_worker(setup: Setup) -> None:
    ada = setup.user("ada@e2e.example")
    setup.join(ada)
    eventually(lambda: setup.cached_edit(ada), 20, "the worker cached the new set")
    assert "reporting/edit" in setup.read(ada).json()["at_scope"]["areas"]


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
    engine = create_engine(driver_url(stack))
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
        assert "reporting/edit" in read.json()["at_scope"]["areas"]
        ready = setup.stack.api("GET", "/readyz")
        assert ready.status_code == 503 and ready.json()["failing"] == ["redis"]
    finally:
        setup.stack.start_cache()
