"""rolecall-client against a production-shaped rolecall (issue 18), ../shared/BENCHMARKS.md's
in-process and freshness method. Four figures, each with its baseline from the same run:

1. a cached `check` in the client: p50 / p99 / max over 200,000 calls (each timed with
   perf_counter_ns), against `POST /api/v1/check` on the same question (2,000 calls on a
   kept-alive connection) and a plain dict lookup (the floor);
2. a change seen by the client: from the moment a writer (this process, doing what a
   worker does: `record_and_store`) starts recording a user's new set until the client
   holds it, over 300 changes; baseline: one `GET /users/{id}/permissions` round trip;
3. deprovisioning: from before the IdP's SCIM `PATCH active: false` until the client's
   `check` answers False, over 200 users; baseline: the same PATCH changing only the
   displayName (the request's own time);
4. the client as a feed consumer: a model change gives every held user (5,000) a new
   set; from its first recorded change until the client holds every one, in events/s;
   baseline: the producer's own rate (the recompute recording them).

rolecall runs on PostgreSQL and Redis under gunicorn (-w 2 -k gthread --threads 8), with
the outbox relay and one Celery worker, as deploy/ runs it. Never fails on speed.

    python bench/bench_client.py [--users 5000]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rolecall_client import Client
from sqlalchemy import insert, select

from bench.bench_deprovision import Tenant
from bench.harness import BIN, ROOT, cli, fresh_database, gunicorn, p99
from service.persistence.models import Tenant as TenantRow
from service.persistence.scim_models import ScimGroupMember
from service.services import change_feed, permission_recompute
from service.services.permission_model import load_model
from service.settings import Settings
from service.wiring import build_runtime

REDIS_URL = "redis://127.0.0.1:6379/7"
BROKER_URL = "redis://127.0.0.1:6379/8"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def percentiles(values: list[float], unit: float, name: str) -> str:
    ordered = sorted(values)
    return (
        f"p50 {statistics.median(ordered) / unit:.2f} / p99 {p99(ordered) / unit:.2f} / "
        f"max {ordered[-1] / unit:.2f} {name} (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=5000)
    args = parser.parse_args()
    for url in (REDIS_URL, BROKER_URL):
        subprocess.run(["redis-cli", "-u", url, "flushdb"], check=True, capture_output=True)
    with fresh_database("rolecall_bench_client") as database_url:
        env = {
            **os.environ,
            "ROLECALL_ENV": "production",
            "ROLECALL_DATABASE_URL": database_url,
            "ROLECALL_REDIS_URL": REDIS_URL,
            "ROLECALL_BROKER_URL": BROKER_URL,
            "ROLECALL_SECRET_KEY": "bench",
            "ROLECALL_LOG_LEVEL": "WARNING",
            # The bench provisions thousands of users at once, faster than an IdP may.
            "ROLECALL_RATE_LIMIT_SCIM": "off",
            "ROLECALL_RATE_LIMIT_ADMIN": "off",
            "PYTHONPATH": str(ROOT),
        }
        cli(env, "db", "upgrade")
        cli(env, "tenant", "create", "bench")
        tokens = {
            k: cli(env, "token", "create", "--tenant", "bench", "--kind", k)
            for k in ("scim", "admin", "read")
        }
        background = [
            subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for argv in (
                [
                    str(BIN / "celery"),
                    "-A",
                    "worker.celery_app",
                    "worker",
                    "--queues",
                    "permissions,invitations,webhooks",
                    "--concurrency",
                    "1",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                [str(BIN / "rolecall"), "relay"],
            )
        ]
        runtime = build_runtime(
            Settings(
                environment="test",
                database_url=database_url,
                redis_url=REDIS_URL,
                broker_url=BROKER_URL,
                secret_key="bench",
                outbox_relay="process",
            )
        )
        try:
            with gunicorn("service.app:create_app()", env, threads=8) as url:
                run(Tenant(url, tokens), runtime, url, tokens["read"], args.users)
        finally:
            runtime.close()
            for process in background:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


def run(api: Tenant, runtime, url: str, read_token: str, count: int) -> None:  # type: ignore[no-untyped-def]
    api.made("POST", "/api/v1/catalogs/reporting/load", "admin", {})
    org = api.made("POST", "/api/v1/scopes", "admin", {"type": "organization", "name": "Org"})["id"]
    folder = api.made(
        "POST", "/api/v1/scopes", "admin", {"type": "folder", "name": "F", "parent_id": org}
    )["id"]
    api.made(
        "POST",
        "/api/v1/mappings",
        "admin",
        {"group": {"kind": "displayName", "value": "Editors"}, "role_key": "edit", "scope_id": org},
    )
    group = api.made(
        "POST", "/scim/v2/Groups", "scim", {"schemas": [GROUP], "displayName": "Editors"}
    )["id"]
    users = [
        api.made(
            "POST", "/scim/v2/Users", "scim", {"schemas": [USER], "userName": f"u{i}@bench.example"}
        )["id"]
        for i in range(count)
    ]
    for start in range(0, count, 500):
        api.made(
            "PATCH",
            f"/scim/v2/Groups/{group}",
            "scim",
            {
                "schemas": [PATCH],
                "Operations": [
                    {
                        "op": "add",
                        "path": "members",
                        "value": [{"value": u} for u in users[start : start + 500]],
                    }
                ],
            },
        )
    with runtime.unit_of_work().reading() as session:
        tenant_id = session.scalar(select(TenantRow.id).where(TenantRow.name == "bench"))

    client = Client(url, read_token, max_staleness=5.0, max_users=count + 100)
    try:
        assert client.wait_until_fresh(30), "the client did not catch up with the feed"
        deadline = time.monotonic() + 120
        while not all(client.check(u, "reporting/edit", "granted", folder) for u in users):
            if time.monotonic() > deadline:
                raise SystemExit("the users' sets did not reach the client within 120 s")
            time.sleep(0.2)
        cached_check(client, api, users[0], folder)
        change_seen(client, runtime, api, tenant_id, users, group, org)
        deprovisioning(client, api, users, folder)
    finally:
        client.close()
    consumer(runtime, api, tenant_id, users, org, folder)


def cached_check(client: Client, api: Tenant, user: str, folder: str) -> None:
    question = (user, "reporting/edit", "granted", folder)
    for _ in range(20_000):
        client.check(*question)
    clock = time.perf_counter_ns
    checks: list[float] = []
    for _ in range(200_000):
        started = clock()
        client.check(*question)
        checks.append(clock() - started)
    floor: list[float] = []
    held = {user: True}
    for _ in range(200_000):
        started = clock()
        held.get(user)
        floor.append(clock() - started)
    body = {"checks": [dict(zip(("user", "area", "level", "scope"), question, strict=True))]}
    remote: list[float] = []
    for _ in range(2000):
        started = clock()
        answer = api.call("POST", "/api/v1/check", "read", json=body)
        remote.append(clock() - started)
        assert answer.json()["results"][0]["allowed"] is True
    print(f"cached check: {percentiles(checks, 1000, 'us')} (target p99 < 10 us)")
    print(f"baseline: POST /api/v1/check, same question: {percentiles(remote, 1000, 'us')}")
    print(f"baseline: a dict lookup (the floor): {percentiles(floor, 1000, 'us')}")
    print(
        f"ratio POST /check / cached check: p50 "
        f"{statistics.median(remote) / statistics.median(checks):.0f}x, "
        f"p99 {p99(remote) / p99(checks):.0f}x (target >= 100x)"
    )


def change_seen(client, runtime, api, tenant_id, users, group, org) -> None:  # type: ignore[no-untyped-def]
    """A writer gives a held user a new set (another group's role at the org) and records
    it as a worker does; the client is polled until it holds that version."""
    api.made(
        "POST",
        "/api/v1/mappings",
        "admin",
        {"group": {"kind": "displayName", "value": "Viewers"}, "role_key": "view", "scope_id": org},
    )
    viewers = api.made(
        "POST", "/scim/v2/Groups", "scim", {"schemas": [GROUP], "displayName": "Viewers"}
    )["id"]
    seen: list[float] = []
    reads: list[float] = []
    for i, user in enumerate(users[1:301]):
        with runtime.unit_of_work() as uow:  # the IdP's membership change, already committed
            member = {"group_id": viewers, "member_id": user, "member_type": "User"}
            uow.session.execute(
                insert(ScimGroupMember.__table__).values(tenant_id=tenant_id, **member)
            )
        with runtime.unit_of_work() as uow:  # what the worker computes
            version = permission_recompute.clock_version(uow.session)
            model = load_model(uow.session, tenant_id)
            sets = permission_recompute.compute_sets(uow.session, tenant_id, [user], model, version)
        started = time.perf_counter()
        permission_recompute.record_and_store(runtime, tenant_id, sets)
        while (client.cached(user) or {}).get("version", 0) < version:
            if time.perf_counter() - started > 10:
                raise SystemExit(f"change {i} not seen by the client within 10 s")
            time.sleep(0)
        seen.append(time.perf_counter() - started)
        started = time.perf_counter()
        api.call("GET", f"/api/v1/users/{user}/permissions", "read")
        reads.append(time.perf_counter() - started)
    print(f"change seen by the client: {percentiles(seen, 0.001, 'ms')} (target p99 < 100 ms)")
    print(f"baseline: one GET /users/{{id}}/permissions: {percentiles(reads, 0.001, 'ms')}")
    print(f"ratio change seen / one read, p99: {p99(seen) / p99(reads):.1f}")


def deprovisioning(client: Client, api: Tenant, users: list[str], folder: str) -> None:
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    denied: list[float] = []
    baseline: list[float] = []
    for i, user in enumerate(users[301:501]):
        started = time.perf_counter()
        answer = api.call("PATCH", f"/scim/v2/Users/{user}", "scim", json=deactivate)
        assert answer.status_code == 200, answer.text
        while client.check(user, "reporting/edit", "granted", folder):
            if time.perf_counter() - started > 10:
                raise SystemExit(f"{user} still allowed by the client after 10 s")
            time.sleep(0)
        denied.append(time.perf_counter() - started)
        rename = {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "value": {"displayName": f"N{i}"}}],
        }
        started = time.perf_counter()
        api.call("PATCH", f"/scim/v2/Users/{users[501 + i]}", "scim", json=rename)
        baseline.append(time.perf_counter() - started)
    print(
        f"deprovisioning, SCIM request to the client denying: "
        f"{percentiles(denied, 0.001, 'ms')} (target p99 < 250 ms)"
    )
    print(f"baseline: a SCIM PATCH that deprovisions nothing: {percentiles(baseline, 1e-3, 'ms')}")
    print(f"ratio denied / the request alone, p99: {p99(denied) / p99(baseline):.1f}")


def consumer(runtime, api, tenant_id, users, org, folder) -> None:  # type: ignore[no-untyped-def]
    """A second client, its feed driven by hand (start=False), holds every user; a model
    change gives each a new set, recorded by the worker while this client waits; then
    the client catches up, and its rate is the changes it read over the time it took."""
    reader = Client(
        api.url, api.tokens["read"], start=False, max_staleness=600, max_users=len(users) + 100
    )
    try:
        reader.poll_feed()
        while reader.status().cursor != str(end_of(runtime, tenant_id)):
            reader.poll_feed()
        held = [u for u in users if reader.check(u, "reporting/edit", "granted", folder)]
        start_cursor = end_of(runtime, tenant_id)
        posted = time.perf_counter()
        api.made(
            "POST",
            "/api/v1/mappings",
            "admin",
            {
                "group": {"kind": "displayName", "value": "Editors"},
                "role_key": "share",
                "scope_id": org,
            },
        )
        end, grew_at = start_cursor, posted
        while time.perf_counter() - grew_at < 2.0:  # the worker is done when it stops
            time.sleep(0.05)
            now_end = end_of(runtime, tenant_id)
            if now_end != end:
                end, grew_at = now_end, time.perf_counter()
        produced = (end - start_cursor) / (grew_at - posted)

        started = time.perf_counter()
        while reader.status().cursor != str(end):
            reader.poll_feed()
        elapsed = time.perf_counter() - started
        stale = [u for u in held if not reader.check(u, "reporting/share", "granted", folder)]
        assert not stale, f"{len(stale)} held users without their new set"
    finally:
        reader.close()
    events = end - start_cursor
    print(
        f"client as a feed consumer: {events} changes ({len(held)} users held) read and "
        f"applied in {elapsed:.2f}s = {events / elapsed:.0f} events/s (target >= 5000)"
    )
    print(f"baseline: the producer (one worker recording them): {produced:.0f} events/s")
    print(f"ratio consumer / producer: {(events / elapsed) / produced:.1f}")


def end_of(runtime, tenant_id: str) -> int:  # type: ignore[no-untyped-def]
    with runtime.unit_of_work().reading() as session:
        return change_feed.end_of(session, tenant_id)


if __name__ == "__main__":
    main()
