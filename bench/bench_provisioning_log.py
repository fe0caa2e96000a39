"""The provisioning log's filtered pages over 100,000 audit rows of one tenant (on
PostgreSQL): 60 % admin events, 40 % SCIM operations from two IdPs over 30 days, 2 %
of those rejected. Measured in one process through the service functions, each figure
beside the baseline measured in the same run: the admin audit log's first page
(service.services.audit.list_events), the same table read the same way without the
provisioning log's filters.

    python bench/bench_provisioning_log.py [--rows 100000] [--calls 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from bench.harness import fresh_runtime, p99
from service.persistence import schema
from service.persistence.base import new_id, utcnow
from service.persistence.models import AuditEvent
from service.runtime import Runtime
from service.services import audit, provisioning_log, tokens

DATABASE = "provlog_bench"
REDIS_URL = "redis://127.0.0.1:6379/12"
BATCH = 5000
SCIM_SHARE = 0.4
REJECTED_SHARE = 0.02
AGENTS = {"entra": "Azure AD SCIM Client", "okta": "Okta SCIM Client 1.0.0"}


def _row(tenant_id: str, number: int, rng: random.Random) -> dict[str, object]:
    occurred = utcnow() - timedelta(seconds=rng.uniform(0, 30 * 86400))
    row: dict[str, object] = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "occurred_at": occurred,
        "actor": "token:bench",
        "target_id": new_id(),
        "before": None,
        "after": {"n": number},
        "request_id": None,
    }
    if rng.random() >= SCIM_SHARE:
        return row | {"action": "mapping.create", "target_type": "mapping"}
    idp = rng.choice(list(AGENTS))
    resource_type = rng.choice(["User", "User", "User", "Group"])
    operation = rng.choice(["create", "patch", "patch", "replace", "delete"])
    draw = rng.random()
    if draw < REJECTED_SHARE:
        outcome, reason = "rejected", f"409 uniqueness: userName 'u{number}' is already taken"
    elif draw < 0.1:
        outcome, reason = "no_change", "PATCH User: replace (active)"
    elif draw < 0.12 and resource_type == "Group":
        outcome, reason = "member_skipped", f"member m{number} skipped: the id names nothing"
    else:
        outcome, reason = "applied", None
    return row | {
        "action": f"scim.{resource_type.lower()}.{operation}",
        "target_type": f"scim_{resource_type.lower()}",
        "outcome": outcome,
        "scim_operation": operation,
        "resource_type": resource_type,
        "resource_name": f"u{number}@example.org",
        "reason": reason,
        "idp": idp,
        "user_agent": AGENTS[idp],
    }


def seed(runtime: Runtime, rows: int) -> str:
    with runtime.unit_of_work() as uow:
        tenant_id = tokens.create_tenant(uow, "bench").id
    rng = random.Random(19)
    columns = AuditEvent.__table__.c.keys()
    for start in range(0, rows, BATCH):
        batch = [_row(tenant_id, n, rng) for n in range(start, min(rows, start + BATCH))]
        with runtime.engine.begin() as connection:
            connection.execute(
                insert(AuditEvent.__table__),
                [{name: row.get(name) for name in columns} for row in batch],
            )
    with runtime.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE audit_events")
        )
    return tenant_id


def timed(call: Callable[[], object], calls: int) -> list[float]:
    for _ in range(max(5, calls // 10)):  # warm-up
        call()
    out = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    arguments = parser.parse_args()
    with fresh_runtime(DATABASE, REDIS_URL) as runtime:
        schema.upgrade(runtime.engine)
        tenant_id = seed(runtime, arguments.rows)
        print(f"rows: {arguments.rows} audit events, {SCIM_SHARE:.0%} of them SCIM operations")

        def page(**filters: object) -> Callable[[], object]:
            return lambda: provisioning_log.list_operations(
                runtime.unit_of_work(), tenant_id, page=1, per_page=50, **filters
            )

        baseline = timed(
            lambda: audit.list_events(runtime.unit_of_work(), tenant_id, page=1, per_page=50),
            arguments.calls,
        )
        base_p50 = statistics.median(baseline) * 1000
        print(
            f"baseline audit log first page: p50 {base_p50:.2f} ms, "
            f"p99 {p99(baseline) * 1000:.2f} ms, max {max(baseline) * 1000:.2f} ms"
        )
        figures: dict[str, Callable[[], object]] = {
            "provisioning log first page": page(),
            "outcome=rejected": page(outcome="rejected"),
            "operation=patch resource_type=Group": page(operation="patch", resource_type="Group"),
            "idp=okta outcome=no_change": page(idp="okta", outcome="no_change"),
            "reason_contains=uniqueness": page(reason_contains="uniqueness"),
            "idp_activity": lambda: provisioning_log.idp_activity(
                runtime.unit_of_work(), tenant_id
            ),
        }
        for name, call in figures.items():
            times = timed(call, arguments.calls)
            median = statistics.median(times) * 1000
            print(
                f"{name}: p50 {median:.2f} ms, p99 {p99(times) * 1000:.2f} ms, "
                f"max {max(times) * 1000:.2f} ms, p50 ratio to baseline {median / base_p50:.2f}"
            )


if __name__ == "__main__":
    main()
