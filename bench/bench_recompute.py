"""Full recompute throughput (issues 6 and 16): 100,000 users in 2,000 groups over a
10,000-scope tree, holding roles of two products (the data platform's at workspaces,
the reporting tool's at folders), computed from PostgreSQL and written to Redis by
one process, as one worker process does it. Prints users/s and, as baselines measured in the
same run, the time to read the same membership rows alone and to write the same
sets to Redis alone.

    python bench/bench_recompute.py [--users 100000] [--groups 2000] [--scopes 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text

from bench.harness import fresh_runtime, shape_arguments
from service.domain import split_ref
from service.persistence import schema
from service.persistence.base import new_id, utcnow
from service.persistence.permission_models import MappingRow, ScopeRow
from service.persistence.scim_models import ScimGroup, ScimGroupMember, ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import catalogs, permission_recompute, tokens
from service.services.permission_model import bump_model_version, load_model

DATABASE = "rolecall_bench_recompute"
REDIS_URL = "redis://127.0.0.1:6379/11"


def mapping_row(tenant_id: str, group: int, role_id: str, scope_id: str) -> dict[str, object]:
    """A mapping of the seed's group number ``group`` (by displayName), as a row: through
    the admin API each mapping would be its own change of the model and recompute."""
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "group_kind": "displayName",
        "group_value": f"Group {group}",
        "group_value_lower": f"group {group}",
        "role_id": role_id,
        "scope_id": scope_id,
        "assign_account": False,
        "created_by": "bench",
        "created_at": utcnow(),
    }


def seed(runtime, users: int, groups: int, scopes: int) -> tuple[str, list[str]]:
    rng = random.Random(7)
    with runtime.unit_of_work() as uow:
        tenant_id = tokens.create_tenant(uow, "bench").id
        catalogs.load_catalog(uow, tenant_id, "data-platform", actor="bench")
        catalogs.load_catalog(uow, tenant_id, "reporting", actor="bench")
    # A 10,000-scope tree: a root workspace, 99 child workspaces, the rest below them.
    now = utcnow()
    root = new_id()
    workspaces = [new_id() for _ in range(99)]
    rows = [
        {
            "id": root,
            "tenant_id": tenant_id,
            "type": "workspace",
            "name": "Root",
            "parent_id": None,
            "account_type": None,
            "created_at": now,
        }
    ]
    rows += [
        {
            "id": w,
            "tenant_id": tenant_id,
            "type": "workspace",
            "name": f"W{i}",
            "parent_id": root,
            "account_type": None,
            "created_at": now,
        }
        for i, w in enumerate(workspaces)
    ]
    rows += [
        {
            "id": new_id(),
            "tenant_id": tenant_id,
            "type": "folder",
            "name": f"F{i}",
            "parent_id": rng.choice(workspaces),
            "account_type": None,
            "created_at": now,
        }
        for i in range(scopes - 100)
    ]
    scope_ids = [r["id"] for r in rows]
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        session.execute(insert(ScopeRow), rows)
    # Mappings are written as rows: through the admin API each would be its own change
    # of the model (and its own recompute), which is not what is measured here.
    # Every other group maps a data-platform role at a workspace, the rest a reporting
    # role at a folder, so a user in three groups mostly holds roles of both products.
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        model = load_model(session, tenant_id)
        platform = [
            model.role_ids[f"data-platform/{k}"]
            for k in ("creator", "viewer", "datastream_manager", "dashboard_manager")
        ]
        reporting = [model.role_ids[f"reporting/{k}"] for k in ("view", "edit", "share", "manage")]
        folders = scope_ids[100:2100]
        bump_model_version(session, tenant_id)
        session.execute(
            insert(MappingRow),
            [
                mapping_row(
                    tenant_id,
                    g,
                    rng.choice(platform if g % 2 == 0 else reporting),
                    rng.choice(scope_ids[:100] if g % 2 == 0 else folders),
                )
                for g in range(groups)
            ],
        )
    group_ids = [new_id() for _ in range(groups)]
    user_ids = [new_id() for _ in range(users)]
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        session.execute(
            insert(ScimGroup),
            [
                {
                    "id": gid,
                    "tenant_id": tenant_id,
                    "display_name": f"Group {g}",
                    "display_name_lower": f"group {g}",
                    "document": {},
                    "created": now,
                    "last_modified": now,
                    "version": 1,
                }
                for g, gid in enumerate(group_ids)
            ],
        )
        for start in range(0, users, 10000):
            chunk = user_ids[start : start + 10000]
            session.execute(
                insert(ScimUser),
                [
                    {
                        "id": uid,
                        "tenant_id": tenant_id,
                        "user_name": f"u{start + i}@bench",
                        "user_name_lower": f"u{start + i}@bench",
                        "active": True,
                        "document": {},
                        "created": now,
                        "last_modified": now,
                        "version": 1,
                    }
                    for i, uid in enumerate(chunk)
                ],
            )
            session.execute(
                insert(ScimGroupMember),
                [
                    {
                        "tenant_id": tenant_id,
                        "group_id": gid,
                        "member_id": uid,
                        "member_type": "User",
                    }
                    for uid in chunk
                    for gid in rng.sample(group_ids, 3)
                ],
            )
        # 100 nested groups, so the recursive membership query has work to do.
        session.execute(
            insert(ScimGroupMember),
            [
                {
                    "tenant_id": tenant_id,
                    "group_id": group_ids[i],
                    "member_id": group_ids[i + 1000],
                    "member_type": "Group",
                }
                for i in range(100)
            ],
        )
    with runtime.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return tenant_id, user_ids


def main() -> None:
    parser = argparse.ArgumentParser()
    shape_arguments(parser)
    args = parser.parse_args()
    with fresh_runtime(DATABASE, REDIS_URL) as runtime:
        run(runtime, args)


def run(runtime, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    runtime.redis.flushdb()
    schema.upgrade(runtime.engine)
    started = time.perf_counter()
    tenant_id, user_ids = seed(runtime, args.users, args.groups, args.scopes)
    print(
        f"seeded {args.users} users, {args.groups} groups, {args.scopes} scopes "
        f"in {time.perf_counter() - started:.1f}s"
    )

    # Baseline 1: read the membership rows the recompute reads, and nothing else.
    started = time.perf_counter()
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        for start in range(0, len(user_ids), 500):
            list(
                session.execute(
                    select(ScimGroupMember.group_id, ScimGroupMember.member_id).where(
                        ScimGroupMember.member_id.in_(user_ids[start : start + 500])
                    )
                )
            )
    read_only = time.perf_counter() - started

    started = time.perf_counter()
    written = permission_recompute.recompute_users(runtime, tenant_id, user_ids)
    elapsed = time.perf_counter() - started

    # Baseline 2: write sets of the same size to Redis, with no computing.
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        model = load_model(session, tenant_id)
        sample = permission_recompute.cache_entries(session, tenant_id, user_ids[:500], model, 1)
    started = time.perf_counter()
    for _ in range(0, len(user_ids), 500):
        runtime.cache.store_many(sample)
    write_only = time.perf_counter() - started

    rate = len(user_ids) / elapsed
    print(
        f"full recompute: {len(user_ids)} users in {elapsed:.1f}s = {rate:.0f} users/s "
        f"in one process (target >= 2000); {written} sets written"
    )
    print(
        f"baseline: reading the membership rows alone: {read_only:.1f}s "
        f"({len(user_ids) / read_only:.0f} users/s)"
    )
    print(
        f"baseline: writing the same number of sets to Redis alone: {write_only:.1f}s "
        f"({len(user_ids) / write_only:.0f} users/s)"
    )
    print(f"ratio recompute / (read + write baselines): {elapsed / (read_only + write_only):.2f}")
    print(f"average cached set size: {sum(len(e.body) for e in sample) / len(sample):.0f} bytes")
    products = [{split_ref(a)[0] for a in json.loads(e.body)["areas"]} for e in sample]
    both = sum(1 for held in products if len(held) == 2)
    print(f"users of the sample holding roles of both products: {both} of {len(sample)}")


if __name__ == "__main__":
    main()
