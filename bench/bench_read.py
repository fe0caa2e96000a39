"""Cached permission reads against their baselines (issue 6, ../shared/BENCHMARKS.md).

Starts PostgreSQL-backed rolecall under gunicorn (-w 2 -k sync) beside a bare Flask
app doing one Redis GET of a ~2 KB value (and the same with no Redis call), loads
each with wrk -t1 -c16 (3 s warm-up, 3 x 10 s runs) and prints requests/s, client
p99, server time (Server-Timing) and the ratios. Needs PostgreSQL and Redis on
127.0.0.1; uses its own database (created and dropped) and Redis db 11.

    python bench/bench_read.py [--seconds 10] [--users 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Load, gunicorn, load
from service.persistence import schema
from service.persistence.base import new_id, utcnow
from service.persistence.scim_models import ScimGroup, ScimGroupMember, ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import catalogs, permission_recompute, tokens
from service.services.permission_model import load_model
from service.settings import Settings
from service.wiring import build_runtime

DATABASE = "rolecall_bench_read"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/11"


def seed(users: int) -> tuple[dict[str, str], list[str], list[str]]:
    """A reporting tenant: 200 folders, 20 groups mapped to rights, users in 3 groups each."""
    settings = Settings(
        environment="test", database_url=DATABASE_URL, redis_url=REDIS_URL, secret_key="bench"
    )
    runtime = build_runtime(settings)
    runtime.redis.flushdb()
    schema.upgrade(runtime.engine)
    with runtime.unit_of_work() as uow:
        tenant = tokens.create_tenant(uow, "bench")
        keys = {
            k.value: tokens.issue_token(uow, tenant.id, k.value).plaintext for k in tokens.TokenKind
        }
        tenant_id = tenant.id
    from service.services import mappings, scopes

    with runtime.unit_of_work() as uow:
        catalogs.load_catalog(uow, tenant_id, "reporting", actor="bench")
        org = scopes.create_scope(
            uow,
            tenant_id,
            type="organization",
            name="Org",
            parent_id=None,
            account_type=None,
            actor="bench",
        )
        folders = [
            scopes.create_scope(
                uow,
                tenant_id,
                type="folder",
                name=f"Folder {i}",
                parent_id=org.id,
                account_type=None,
                actor="bench",
            ).id
            for i in range(200)
        ]
        for g in range(20):
            mapping = {
                "group": {"kind": "displayName", "value": f"Group {g}"},
                "role_key": random.choice(["view", "edit", "share", "manage"]),
                "scope_id": folders[g * 10],
                "assign_account": False,
            }
            mappings.create_mapping(uow, tenant_id, mapping, actor="bench")
    now = utcnow()
    user_ids = [new_id() for _ in range(users)]
    group_ids = [new_id() for _ in range(20)]
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        session.add_all(
            ScimGroup(
                id=gid,
                tenant_id=tenant_id,
                display_name=f"Group {g}",
                display_name_lower=f"group {g}",
                document={},
                created=now,
                last_modified=now,
            )
            for g, gid in enumerate(group_ids)
        )
        session.add_all(
            ScimUser(
                id=uid,
                tenant_id=tenant_id,
                user_name=f"user{i}@bench.example",
                user_name_lower=f"user{i}@bench.example",
                active=True,
                document={},
                created=now,
                last_modified=now,
            )
            for i, uid in enumerate(user_ids)
        )
        session.flush()
        session.add_all(
            ScimGroupMember(tenant_id=tenant_id, group_id=gid, member_id=uid, member_type="User")
            for uid in user_ids
            for gid in random.sample(group_ids, 3)
        )
    permission_recompute.recompute_users(runtime, tenant_id, user_ids)
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        load_model(session, tenant_id)
    runtime.close()
    return keys, user_ids, folders


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=2000)
    args = parser.parse_args()

    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    try:
        keys, user_ids, folders = seed(args.users)
        user = user_ids[7]
        check_body = json.dumps(
            {"checks": [{"user": user, "area": "view", "level": "granted", "scope": folders[10]}]}
        )
        env = {
            "ROLECALL_ENV": "production",
            "ROLECALL_DATABASE_URL": DATABASE_URL,
            "ROLECALL_REDIS_URL": REDIS_URL,
            "ROLECALL_BROKER_URL": REDIS_URL,
            "ROLECALL_SECRET_KEY": "bench",
            "ROLECALL_LOG_LEVEL": "WARNING",
        }
        auth = f"Bearer {keys['read']}"
        # Both servers run side by side and the runs alternate (baseline, rolecall,
        # baseline, ...), so drift in the machine's speed touches every series alike;
        # each ratio is taken within one round, and the median round is reported.
        series = {
            "baseline: bare Flask, no I/O": [],
            "baseline: bare Flask + one Redis GET": [],
            "rolecall GET /users/{id}/permissions": [],
            "rolecall POST /check (one check)": [],
        }
        with (
            gunicorn("bench.baseline_apps:redis_get()", {"BENCH_REDIS_URL": REDIS_URL}) as base,
            gunicorn("service.app:create_app()", env) as url,
        ):
            targets = {
                "baseline: bare Flask, no I/O": {"url": f"{base}/noop"},
                "baseline: bare Flask + one Redis GET": {"url": f"{base}/redis"},
                "rolecall GET /users/{id}/permissions": {
                    "url": f"{url}/api/v1/users/{user}/permissions",
                    "auth": auth,
                },
                "rolecall POST /check (one check)": {
                    "url": f"{url}/api/v1/check",
                    "auth": auth,
                    "method": "POST",
                    "body": check_body,
                },
            }
            for _ in range(3):
                for name, target in targets.items():
                    target = dict(target)
                    series[name].append(
                        load(target.pop("url"), seconds=args.seconds, runs=1, **target)
                    )
        print(
            f"users seeded: {args.users}; 3 rounds x {args.seconds}s per series, "
            "alternating, each after a 3s warm-up"
        )
        merged = {name: Load([], [], [], [], 0) for name in series}
        for name, rounds in series.items():
            for one in rounds:
                merged[name].rps += one.rps
                merged[name].p99_ms += one.p99_ms
                merged[name].server_p50_ms += one.server_p50_ms
                merged[name].server_p99_ms += one.server_p99_ms
                merged[name].errors += one.errors
            print(f"{name}: {merged[name].describe()}")
        redis_rps = merged["baseline: bare Flask + one Redis GET"].rps
        floor_rps = merged["baseline: bare Flask, no I/O"].rps
        for name in ("rolecall GET /users/{id}/permissions", "rolecall POST /check (one check)"):
            ratios = [ours / base for ours, base in zip(merged[name].rps, redis_rps, strict=True)]
            floors = [ours / base for ours, base in zip(merged[name].rps, floor_rps, strict=True)]
            print(
                f"ratio {name} / Redis-GET baseline, per round: "
                f"{', '.join(f'{x:.2f}' for x in ratios)}; "
                f"median {statistics.median(ratios):.2f} (target >= 0.70)"
            )
            print(f"ratio {name} / no-I/O floor, median: {statistics.median(floors):.2f}")
    finally:
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=False
        )


if __name__ == "__main__":
    main()
