"""Propagation (issue 6): one SCIM PATCH adds 1,000 users to a mapped group; how long
until all 1,000 permission sets in Redis reflect it, with one Celery worker process?

Runs gunicorn, the outbox relay and one worker (--concurrency 1) against PostgreSQL
and Redis, and
prints, over 3 rounds, the PATCH's own time, the time until every set is updated
(target under 3 s), and as a baseline measured in the same run the time to
recompute the same 1,000 users directly in this process.

    python bench/bench_propagation.py
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from sqlalchemy import insert

from bench.harness import BIN, ROOT, gunicorn
from service.persistence import schema
from service.persistence.base import new_id, utcnow
from service.persistence.scim_models import ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import catalogs, mappings, permission_recompute, scopes, tokens
from service.settings import Settings
from service.wiring import build_runtime

DATABASE = "rolecall_bench_propagation"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/11"
BROKER_URL = "redis://127.0.0.1:6379/12"
USERS = 1000
ROUNDS = 3
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def main() -> None:
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    settings = Settings(
        environment="test", database_url=DATABASE_URL, redis_url=REDIS_URL, secret_key="bench"
    )
    runtime = build_runtime(settings)
    runtime.redis.flushdb()
    runtime.redis.from_url(BROKER_URL).flushdb()
    schema.upgrade(runtime.engine)
    with runtime.unit_of_work() as uow:
        tenant_id = tokens.create_tenant(uow, "bench").id
        scim_token = tokens.issue_token(uow, tenant_id, "scim").plaintext
        catalogs.load_catalog(uow, tenant_id, "reporting", actor="bench")
        org = scopes.create_scope(uow, tenant_id, type="organization", name="Org", actor="bench").id
    env = {
        "ROLECALL_ENV": "production",
        "ROLECALL_DATABASE_URL": DATABASE_URL,
        "ROLECALL_REDIS_URL": REDIS_URL,
        "ROLECALL_BROKER_URL": BROKER_URL,
        "ROLECALL_SECRET_KEY": "bench",
        "ROLECALL_LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "worker.celery_app",
            "worker",
            "--queues",
            "permissions",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # As in production, the web process only writes the outbox; the relay sends it.
    relay = subprocess.Popen(
        [str(BIN / "rolecall"), "relay"],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    headers = {"Authorization": f"Bearer {scim_token}", "Content-Type": "application/scim+json"}
    patch_times, propagation_times, direct_times = [], [], []
    try:
        with gunicorn("service.app:create_app()", env) as url:
            for round_number in range(ROUNDS):
                folder = f"Group {round_number}"
                mappings.create_mapping(
                    runtime.unit_of_work(),
                    tenant_id,
                    {
                        "group": {"kind": "displayName", "value": folder},
                        "role_key": "edit",
                        "scope_id": org,
                        "assign_account": False,
                    },
                    actor="bench",
                )
                group = requests.post(
                    f"{url}/scim/v2/Groups",
                    headers=headers,
                    json={
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": folder,
                    },
                    timeout=30,
                ).json()["id"]
                now = utcnow()
                user_ids = [new_id() for _ in range(USERS)]
                with UnitOfWork(runtime.sessions) as uow:
                    session = uow.session
                    session.execute(
                        insert(ScimUser),
                        [
                            {
                                "id": u,
                                "tenant_id": tenant_id,
                                "user_name": f"r{round_number}-{i}",
                                "user_name_lower": f"r{round_number}-{i}",
                                "active": True,
                                "document": {},
                                "created": now,
                                "last_modified": now,
                                "version": 1,
                            }
                            for i, u in enumerate(user_ids)
                        ],
                    )
                permission_recompute.recompute_users(runtime, tenant_id, user_ids)  # before: none
                time.sleep(1)  # let the model change's own recompute settle
                started = time.perf_counter()
                response = requests.patch(
                    f"{url}/scim/v2/Groups/{group}",
                    headers=headers,
                    json={
                        "schemas": [PATCH],
                        "Operations": [
                            {
                                "op": "add",
                                "path": "members",
                                "value": [{"value": u} for u in user_ids],
                            }
                        ],
                    },
                    timeout=60,
                )
                patch_times.append(time.perf_counter() - started)
                assert response.status_code in (200, 204), response.text
                pending = set(user_ids)
                deadline = time.perf_counter() + 60
                while pending and time.perf_counter() < deadline:
                    for user_id in list(pending):
                        body = runtime.cache.body_of(tenant_id, user_id)
                        if body and body["scopes"].get(org, {}).get("reporting/edit"):
                            pending.discard(user_id)
                    if pending:
                        time.sleep(0.02)
                propagation_times.append(time.perf_counter() - started)
                if pending:
                    print(f"round {round_number}: {len(pending)} sets NOT updated within 60 s")
                started = time.perf_counter()
                permission_recompute.recompute_users(runtime, tenant_id, user_ids)
                direct_times.append(time.perf_counter() - started)
    finally:
        for process in (relay, worker):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        runtime.close()
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=False
        )

    def span(values: list[float]) -> str:
        return " / ".join(f"{v:.3f}" for v in (min(values), statistics.median(values), max(values)))

    print(f"{USERS} users added to a mapped group by one PATCH, {ROUNDS} rounds, one worker")
    print(f"PATCH request, s (min/median/max): {span(patch_times)}")
    print(
        f"PATCH sent until all {USERS} sets updated in Redis, s: {span(propagation_times)} "
        "(target < 3 s)"
    )
    print(f"baseline: recomputing the same {USERS} users in this process, s: {span(direct_times)}")
    print(
        f"ratio propagation / direct recompute (median): "
        f"{statistics.median(propagation_times) / statistics.median(direct_times):.2f}"
    )


if __name__ == "__main__":
    main()
