"""Who-can and where-can on a large tenant (issue 17): 100,000 users in 2,000 groups over
a 10,000-scope tree (bench_recompute's seed), plus 70 more groups mapped to the data
platform's Viewer at the root workspace, so that about 10,000 users or more can View
workspaces there. Measured in one process through the service functions, and the first
page through the HTTP app as well; baselines in the same run:

- who-can: the indexed SQL that reads the same question's candidates alone, to the end;
- where-can: computing the user's permission set alone (what where-can answers from).

    python bench/bench_questions.py [--users 100000] [--groups 2000] [--scopes 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text

from bench.bench_recompute import mapping_row, seed
from bench.harness import fresh_runtime, shape_arguments
from service.app import create_app
from service.persistence import schema
from service.persistence.permission_models import MappingRow, ScopeRow
from service.persistence.unit_of_work import UnitOfWork
from service.runtime import Runtime
from service.services import effective, questions, tokens
from service.services.permission_model import bump_model_version, load_model

DATABASE = "q17_bench"
REDIS_URL = "redis://127.0.0.1:6379/5"
# Reporting groups (odd numbers in the seed) also mapped to Viewer at the root workspace.
WIDE_GROUPS = 70


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max, in milliseconds."""
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000


def timed(call: Callable[[], object], times: int) -> list[float]:
    out: list[float] = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def widen(runtime: Runtime, tenant_id: str) -> str:
    """Map WIDE_GROUPS more groups to Viewer at the root workspace; return its id."""
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        root = session.scalar(
            select(ScopeRow.id).where(
                ScopeRow.tenant_id == tenant_id,
                ScopeRow.name == "Root",
                ScopeRow.parent_id.is_(None),
            )
        )
        viewer = load_model(session, tenant_id).role_ids["data-platform/viewer"]
        bump_model_version(session, tenant_id)
        session.execute(
            insert(MappingRow),
            [mapping_row(tenant_id, g, viewer, root) for g in range(1, 2 * WIDE_GROUPS, 2)],
        )
    # VACUUM too: a table in steady state has its visibility map set by autovacuum,
    # which the index-only scan of memberships relies on.
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    assert root is not None
    return root


def enumerate_who_can(
    runtime: Runtime, tenant_id: str, scope: str, area: str, level: str, limit: int
) -> tuple[int, int, float]:
    """Follow the cursors to the end: (users, pages, seconds)."""
    started = time.perf_counter()
    users = pages = 0
    cursor = None
    while True:
        page = questions.who_can(
            runtime.unit_of_work(), tenant_id, scope, area, level, cursor=cursor, limit=limit,
            deadline_s=runtime.settings.questions_deadline_s(),
        )  # fmt: skip
        users += len(page.entries)
        pages += 1
        if page.complete:
            return users, pages, time.perf_counter() - started
        cursor = page.next_cursor


def candidates_to_the_end(
    runtime: Runtime, tenant_id: str, scope: str, area: str, level: str, size: int
) -> tuple[int, float]:
    """The baseline: the indexed SQL reading the same question's candidates, to the end."""
    started = time.perf_counter()
    found = 0
    with runtime.unit_of_work().reading() as session:
        model = load_model(session, tenant_id)
        the_area = model.areas[area]
        after = None
        while True:
            batch = questions.candidate_batch(
                session, tenant_id, model, scope, the_area, level, after=after, size=size
            )
            found += len(batch.ids)
            if batch.last:
                return found, time.perf_counter() - started
            after = batch.end


def run(runtime: Runtime, args: argparse.Namespace) -> None:
    schema.upgrade(runtime.engine)
    started = time.perf_counter()
    tenant_id, user_ids = seed(runtime, args.users, args.groups, args.scopes)
    root = widen(runtime, tenant_id)
    print(
        f"seeded {args.users} users, {args.groups} groups, {args.scopes} scopes, "
        f"+{WIDE_GROUPS} groups mapped at the root workspace, "
        f"in {time.perf_counter() - started:.1f}s"
    )
    with runtime.unit_of_work().reading() as session:
        model = load_model(session, tenant_id)
        workspaces = [sid for sid in model.tree.children(root)]
        folders = [sid for w in workspaces[:20] for sid in model.tree.children(w)[:2]]
    area, level = "data-platform/workspaces", "View"
    uow = runtime.unit_of_work

    # -- who can: the big question, to the end --------------------------------------
    enumerate_who_can(runtime, tenant_id, root, area, level, 1000)  # warm-up
    for limit in (1000, 100):
        users, pages, elapsed = enumerate_who_can(runtime, tenant_id, root, area, level, limit)
        found, baseline = candidates_to_the_end(runtime, tenant_id, root, area, level, limit)
        print(
            f"who-can {area} {level} at the root workspace, to the end in pages of {limit}: "
            f"{users} users in {pages} pages, {elapsed * 1000:.0f} ms (target < 2000 ms)"
        )
        print(
            f"baseline: the candidate SQL alone, to the end in pages of {limit}: "
            f"{found} candidates, {baseline * 1000:.0f} ms; ratio {elapsed / baseline:.1f}"
        )

    # -- who can: first page of 100 -------------------------------------------------
    def first_page(scope: str, what: str, at: str) -> Callable[[], object]:
        return lambda: questions.who_can(uow(), tenant_id, scope, what, at, limit=100)

    def first_candidates(scope: str, what: str, at: str) -> Callable[[], object]:
        def call() -> object:
            with uow().reading() as session:
                the_model = load_model(session, tenant_id)
                return questions.candidate_batch(
                    session, tenant_id, the_model, scope, the_model.areas[what], at, size=100
                )

        return call

    timed(first_page(root, area, level), 20)
    big = timed(first_page(root, area, level), 200)
    big_base = timed(first_candidates(root, area, level), 200)
    mixed_questions = [
        *((w, "data-platform/datastreams", "View") for w in workspaces[:50]),
        *((f, "reporting/view", "granted") for f in folders),
    ]
    mixed: list[float] = []
    mixed_base: list[float] = []
    for scope, what, at in mixed_questions * 5:
        mixed += timed(first_page(scope, what, at), 1)
        mixed_base += timed(first_candidates(scope, what, at), 1)
    for name, values, base in (
        ("at the root workspace (>= 10k users)", big, big_base),
        (f"mixed ({len(mixed_questions)} workspaces and folders)", mixed, mixed_base),
    ):
        p50, p99, most = percentiles(values)
        b50, b99, _ = percentiles(base)
        print(
            f"who-can first page of 100, {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
            f"max {most:.1f} ms (n={len(values)}; target p99 < 50 ms)"
        )
        print(
            f"baseline: the first 100 candidates' SQL alone: p50 {b50:.1f} ms, p99 {b99:.1f} ms; "
            f"ratio p99 {p99 / b99:.1f}"
        )

    # -- who can through HTTP ---------------------------------------------------------
    admin = tokens.issue_token(uow(), tenant_id, "admin").plaintext
    client = create_app(runtime.settings, runtime).test_client()
    headers = {"Authorization": f"Bearer {admin}"}
    query = {"area": area, "level": level, "limit": 100}

    def http_page() -> object:
        response = client.get(f"/api/v1/scopes/{root}/who-can", query_string=query, headers=headers)
        assert response.status_code == 200, response.get_data(True)
        return response

    timed(http_page, 20)
    p50, p99, most = percentiles(timed(http_page, 200))
    print(
        f"who-can first page of 100 at the root workspace through the HTTP app (test client): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {most:.1f} ms (n=200)"
    )

    # -- where can ------------------------------------------------------------------
    rng = random.Random(17)
    sample = rng.sample(user_ids, 1000)
    where_area = "data-platform/datastreams"
    for uid in sample[:50]:
        questions.where_can(uow(), tenant_id, uid, where_area, "View")  # warm-up
    where = [
        t
        for uid in sample
        for t in timed(
            lambda uid=uid: questions.where_can(uow(), tenant_id, uid, where_area, "View"), 1
        )
    ]

    def compute_alone(uid: str) -> object:
        with uow().reading() as session:
            return effective.compute_user_permissions(
                session, tenant_id, uid, load_model(session, tenant_id)
            )

    where_base = [t for uid in sample for t in timed(lambda uid=uid: compute_alone(uid), 1)]
    p50, p99, most = percentiles(where)
    b50, b99, _ = percentiles(where_base)
    entries = [
        len(questions.where_can(uow(), tenant_id, uid, where_area, "View").entries)
        for uid in sample[:200]
    ]
    print(
        f"where-can {where_area} View for one user: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {most:.1f} ms (n={len(where)}, {statistics.mean(entries):.1f} entries on average; "
        f"target p99 < 20 ms)"
    )
    print(
        f"baseline: computing the user's permission set alone: p50 {b50:.1f} ms, "
        f"p99 {b99:.1f} ms; ratio p99 {p99 / b99:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    shape_arguments(parser)
    args = parser.parse_args()
    with fresh_runtime(DATABASE, REDIS_URL) as runtime:
        run(runtime, args)


if __name__ == "__main__":
    main()
