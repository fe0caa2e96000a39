"""One consumer of the change feed (issue 18: "one feed consumer keeps up with >= 5,000
events/s"), ../shared/BENCHMARKS.md's method.

The producer: a full recompute of bench_recompute's tenant (its `seed`; 20,000 users by
default), which records one change per user, each carrying the user's whole set, as a
worker records them. Its rate (changes recorded per second, computing included) is the
baseline measured in the same run: a consumer keeps up when it reads faster than the
fastest producer writes.

The consumer: GET /api/v1/changes?after=CURSOR&limit=1000 from a PostgreSQL-backed
rolecall under gunicorn (-w 2 -k gthread --threads 4), following the cursor from the
start of the feed to its end and parsing each page's JSON, as rolecall-client's feed
thread does; three passes, min / median / max events/s. Never fails on speed.

    python bench/bench_feed.py [--users 20000] [--groups 2000] [--scopes 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.bench_recompute import seed
from bench.harness import fresh_runtime, gunicorn
from service.persistence import schema
from service.services import change_feed, permission_recompute, tokens

DATABASE = "rolecall_bench_feed"
REDIS_URL = "redis://127.0.0.1:6379/7"


def consume(url: str, read_token: str, expected: int) -> float:
    """Read the whole feed once; its events/s."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {read_token}"
    cursor, seen = "0", 0
    started = time.perf_counter()
    while True:
        page = session.get(f"{url}/api/v1/changes", params={"after": cursor, "limit": 1000})
        page.raise_for_status()
        body = page.json()
        seen += len(body["changes"])
        cursor = body["cursor"]
        if not body["more"]:
            break
    elapsed = time.perf_counter() - started
    if seen != expected:
        raise SystemExit(f"read {seen} changes, expected {expected}")
    return seen / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=2000)  # seed nests groups 1000 apart
    parser.add_argument("--scopes", type=int, default=2000)
    args = parser.parse_args()
    with fresh_runtime(DATABASE, REDIS_URL) as runtime:
        runtime.redis.flushdb()
        schema.upgrade(runtime.engine)
        tenant_id, user_ids = seed(runtime, args.users, args.groups, args.scopes)
        with runtime.unit_of_work() as uow:
            read_token = tokens.issue_token(uow, tenant_id, "read").plaintext

        started = time.perf_counter()
        permission_recompute.recompute_users(runtime, tenant_id, user_ids)
        produced = len(user_ids) / (time.perf_counter() - started)
        with runtime.unit_of_work().reading() as session:
            recorded = change_feed.end_of(session, tenant_id)
        env = {
            "ROLECALL_ENV": "production",
            "ROLECALL_DATABASE_URL": runtime.settings.database_url,
            "ROLECALL_REDIS_URL": REDIS_URL,
            "ROLECALL_BROKER_URL": "redis://127.0.0.1:6379/8",
            "ROLECALL_SECRET_KEY": "bench",
            "ROLECALL_LOG_LEVEL": "WARNING",
        }
        with gunicorn("service.app:create_app()", env, threads=4) as url:
            consume(url, read_token, recorded)  # warm-up
            rates = [consume(url, read_token, recorded) for _ in range(3)]
    median = statistics.median(rates)
    print(f"feed: {recorded} changes recorded (one per user, each with its whole set)")
    print(
        f"consumer: min {min(rates):.0f} / median {median:.0f} / max {max(rates):.0f} events/s "
        f"(target >= 5000)"
    )
    print(f"baseline: the producer (a full recompute recording them): {produced:.0f} events/s")
    print(f"ratio consumer / producer: {median / produced:.2f} (above 1: it keeps up)")


if __name__ == "__main__":
    main()
