"""What-if preview of a mapping change that affects 10,000 users (issue 17), on the
recompute benchmark's tenant: 100,000 users in 2,000 groups over a 10,000-scope tree.

A new IdP group holds 10,000 of the users; the previewed change maps it to the
reporting tool's Edit at a folder. The preview computes those users' sets before and
after the change (applied in a rolled-back savepoint) and diffs them. Printed: the
preview's time (median, min and max of several runs); as the baseline measured in the
same run, one compute_many of the same 10,000 users, the cost of recomputing them once;
their ratio; and where the preview's time goes.

    python bench/bench_previews.py [--users 100000] [--groups 2000] [--scopes 10000]
        [--affected 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text

from bench.bench_recompute import seed
from bench.harness import fresh_runtime, shape_arguments
from service.domain import GroupRef, GroupRefKind
from service.domain.changes import diff_user
from service.persistence import schema
from service.persistence.base import new_id, utcnow
from service.persistence.permission_models import ScopeRow
from service.persistence.scim_models import ScimGroup, ScimGroupMember
from service.persistence.unit_of_work import UnitOfWork
from service.services import mappings, previews
from service.services.affected import users_affected_by_mapping
from service.services.effective import compute_many, compute_under
from service.services.permission_model import load_model

DATABASE = "p17_bench_previews"
REDIS_URL = "redis://127.0.0.1:6379/6"
GROUP = "Bench preview group"


def add_group(runtime, tenant_id: str, members: list[str]) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    gid = new_id()
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        session.execute(
            insert(ScimGroup),
            [{"id": gid, "tenant_id": tenant_id, "display_name": GROUP,
              "display_name_lower": GROUP.lower(), "document": {}, "created": now,
              "last_modified": now, "version": 1}],
        )  # fmt: skip
        session.execute(
            insert(ScimGroupMember),
            [
                {"tenant_id": tenant_id, "group_id": gid, "member_id": uid, "member_type": "User"}
                for uid in members
            ],
        )
    with runtime.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser()
    shape_arguments(parser)
    parser.add_argument("--affected", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with fresh_runtime(DATABASE, REDIS_URL) as runtime:
        run(runtime, args)


def run(runtime, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    schema.upgrade(runtime.engine)
    started = time.perf_counter()
    tenant_id, user_ids = seed(runtime, args.users, args.groups, args.scopes)
    affected_users = user_ids[: args.affected]
    add_group(runtime, tenant_id, affected_users)
    print(
        f"seeded {args.users} users, {args.groups} groups, {args.scopes} scopes and a group "
        f"of {len(affected_users)} in {time.perf_counter() - started:.1f}s"
    )
    with runtime.unit_of_work().reading() as session:
        folder = session.scalar(
            select(ScopeRow.id)
            .where(ScopeRow.tenant_id == tenant_id, ScopeRow.type == "folder")
            .order_by(ScopeRow.id)
            .limit(1)
        )
    change = {
        "group": {"kind": "displayName", "value": GROUP},
        "role_key": "edit",
        "product": "reporting",
        "scope_id": folder,
    }

    # Warm-up: the model cache and the database's buffers, as a running service has them.
    previews.create_preview(runtime.unit_of_work(), tenant_id, "mapping.create", change, "bench")
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        row = previews.create_preview(
            runtime.unit_of_work(), tenant_id, "mapping.create", change, "bench"
        )
        times.append(time.perf_counter() - started)
    counts = row.counts

    # Baseline: recomputing the same users once (one compute_many, the model cached).
    baseline = []
    with runtime.unit_of_work() as uow:
        session = uow.session
        model = load_model(session, tenant_id)
        for _ in range(args.runs):
            started = time.perf_counter()
            compute_many(session, tenant_id, affected_users, model)
            baseline.append(time.perf_counter() - started)

    # Where a preview's time goes, step by step, in one unit as the preview runs them.
    steps: dict[str, float] = {}
    uow = runtime.unit_of_work()
    with uow:
        session = uow.session
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            steps[name] = now - clock
            clock = now

        model = load_model(session, tenant_id)
        ref = GroupRef(GroupRefKind.DISPLAY_NAME, GROUP)
        users = sorted(users_affected_by_mapping(session, tenant_id, ref))
        lap("affected users (query)")
        with uow.dry_run():
            mappings.create_mapping(uow, tenant_id, change, "bench")
            session.flush()
            lap("the change applied (use case)")
            changed = load_model(session, tenant_id, use_cache=False)
            lap("model reloaded after the change")
            # As the preview does: both sides from one read of each user's rows.
            pairs = list(compute_under(session, tenant_id, users, model, changed))
            lap("compute_under, before and after")
        lap("savepoint rolled back")
        # As the preview does: one tree object on both sides when the tree is unchanged.
        after_tree = model.tree if set(model.tree) == set(changed.tree) else changed.tree
        for _, (old, new) in pairs:
            diff_user(
                old.permissions, old.assignments.conflicts, model.tree,
                new.permissions, new.assignments.conflicts, after_tree,
            )  # fmt: skip
        lap("diff (domain)")

    median = statistics.median(times)
    base = statistics.median(baseline)
    print(
        f"counts: {counts['users_considered']} considered, {counts['users_gaining']} gaining, "
        f"{counts['users_losing']} losing"
    )
    print(
        f"preview of a mapping change affecting {len(affected_users)} users: median "
        f"{median:.2f}s (min {min(times):.2f}s, max {max(times):.2f}s, {args.runs} runs; "
        f"target < 2 s)"
    )
    print(
        f"baseline: compute_many of the same {len(affected_users)} users once: median "
        f"{base:.2f}s (min {min(baseline):.2f}s, max {max(baseline):.2f}s)"
    )
    print(f"ratio preview / baseline: {median / base:.2f}")
    print("where one preview's time goes (the same steps, timed one by one):")
    for name, seconds in steps.items():
        print(f"  {name}: {seconds:.3f}s")
    print(
        f"  (these steps, one run: {sum(steps.values()):.3f}s; a preview also stores its rows; "
        "timed apart, the sets of all users are held at once, which a preview does not)"
    )


if __name__ == "__main__":
    main()
