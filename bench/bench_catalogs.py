"""Loading all four preset catalogs into one tenant (issue 16: under 2 s).

Each repetition makes a fresh tenant on PostgreSQL and loads usage-analytics,
licensing-portal, reporting and data-platform through the service's use case (one
unit of work each, as the admin API and the CLI do), then loads them again (the
idempotent case: nothing changes). Baseline, measured in the same run: inserting the
same number of area and role rows with SQLAlchemy Core in one transaction per
catalog, with none of the planning, validation, audit or outbox work.

    python bench/bench_catalogs.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from bench.harness import fresh_runtime
from service import catalogs as shipped
from service.domain import Product
from service.persistence import schema
from service.persistence.base import new_id, utcnow
from service.persistence.permission_models import AreaRow, RoleRow
from service.persistence.unit_of_work import UnitOfWork
from service.services import catalogs, tokens
from service.services.products import add_product

DATABASE = "rolecall_bench_catalogs"
REDIS_URL = "redis://127.0.0.1:6379/12"
PRESETS = ("usage-analytics", "licensing-portal", "reporting", "data-platform")


def load_all(runtime, tenant_id: str) -> int:  # type: ignore[no-untyped-def]
    changed = 0
    for key in PRESETS:
        plan = catalogs.load_catalog(runtime.unit_of_work(), tenant_id, key, actor="bench")
        changed += plan.changes_anything
    return changed


def insert_rows_only(runtime, tenant_id: str) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    for key in PRESETS:
        catalog = shipped.load(key)
        with UnitOfWork(runtime.sessions) as uow:
            session = uow.session
            product = add_product(session, tenant_id, Product(key, catalog.product_name))
            session.execute(
                insert(AreaRow),
                [
                    {
                        **a.to_dict(),
                        "id": new_id(),
                        "tenant_id": tenant_id,
                        "product_id": product.id,
                        "created_at": now,
                    }
                    for a in catalog.areas
                ],
            )
            session.execute(
                insert(RoleRow),
                [
                    {
                        **r.to_dict(),
                        "id": new_id(),
                        "tenant_id": tenant_id,
                        "product_id": product.id,
                        "created_at": now,
                    }
                    for r in catalog.roles
                ],
            )


def summary(name: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(
        f"{name}: min {min(times) * 1000:.0f} ms / median {median * 1000:.0f} ms / "
        f"max {max(times) * 1000:.0f} ms"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with fresh_runtime(DATABASE, REDIS_URL) as runtime:
        run(runtime, args)


def run(runtime, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    schema.upgrade(runtime.engine)
    rows = sum(len(shipped.load(k).areas) + len(shipped.load(k).roles) for k in PRESETS)
    first: list[float] = []
    again: list[float] = []
    baseline: list[float] = []
    for i in range(args.repeat):
        with runtime.unit_of_work() as uow:
            tenant_id = tokens.create_tenant(uow, f"bench-{i}").id
            other_id = tokens.create_tenant(uow, f"baseline-{i}").id
        started = time.perf_counter()
        assert load_all(runtime, tenant_id) == len(PRESETS)
        first.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert load_all(runtime, tenant_id) == 0
        again.append(time.perf_counter() - started)
        started = time.perf_counter()
        insert_rows_only(runtime, other_id)
        baseline.append(time.perf_counter() - started)
    print(f"{len(PRESETS)} presets, {rows} areas and roles, {args.repeat} fresh tenants")
    loaded = summary("load all four into a fresh tenant (target < 2 s)", first)
    summary("load all four again (nothing changes)", again)
    floor = summary("baseline: insert the same rows with SQLAlchemy Core alone", baseline)
    print(f"ratio load / baseline: {loaded / floor:.1f}")


if __name__ == "__main__":
    main()
