"""AuthZEN evaluation against POST /api/v1/check on the same question (issue 17: "within
10 % of POST /api/v1/check"), ../shared/BENCHMARKS.md's method.

The tenant is bench_read's (a reporting tenant: 200 folders, 20 groups mapped to
rights, users in three groups each; its `seed`, pointed at this benchmark's own
database and Redis db). One PostgreSQL-backed rolecall under gunicorn (-w 2 -k sync)
serves both series; wrk -t1 -c16 loads each (3 s warm-up, then 10 s), the series
alternating over 3 rounds so that drift in the machine's speed touches both alike.
Printed: requests/s, client p99 and server time (Server-Timing) of each series, and
per round the ratio evaluation / check. Also a batch of 20 questions each way
(/access/v1/evaluations against /api/v1/check with 20 checks). Never fails on speed.

    python bench/bench_authzen.py [--seconds 10] [--users 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_read
from bench.harness import Load, fresh_database, gunicorn, load

DATABASE = "a17_bench_authzen"
REDIS_URL = "redis://127.0.0.1:6379/7"
BATCH = 20


def bodies(user: str, folders: list[str]) -> dict[str, tuple[str, str]]:
    """Each series' path and body: the same questions asked both ways."""
    one = {"user": user, "area": "view", "level": "granted", "scope": folders[10]}
    many = [{**one, "scope": folders[i]} for i in range(BATCH)]

    def evaluation(check: dict[str, str]) -> dict[str, object]:
        return {
            "action": {"name": f"{check['area']}:{check['level']}"},
            "resource": {"type": "folder", "id": check["scope"]},
        }

    subject = {"type": "user", "id": user}
    return {
        "POST /api/v1/check (one check)": ("/api/v1/check", json.dumps({"checks": [one]})),
        "POST /access/v1/evaluation": (
            "/access/v1/evaluation",
            json.dumps({"subject": subject, **evaluation(one)}),
        ),
        f"POST /api/v1/check ({BATCH} checks)": ("/api/v1/check", json.dumps({"checks": many})),
        f"POST /access/v1/evaluations ({BATCH})": (
            "/access/v1/evaluations",
            json.dumps({"subject": subject, "evaluations": [evaluation(c) for c in many]}),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with fresh_database(DATABASE) as database_url:
        # bench_read's tenant, in this benchmark's database and Redis db.
        bench_read.DATABASE_URL, bench_read.REDIS_URL = database_url, REDIS_URL
        keys, user_ids, folders = bench_read.seed(args.users)
        env = {
            "ROLECALL_ENV": "production",
            "ROLECALL_DATABASE_URL": database_url,
            "ROLECALL_REDIS_URL": REDIS_URL,
            "ROLECALL_BROKER_URL": REDIS_URL,
            "ROLECALL_SECRET_KEY": "bench",
            "ROLECALL_LOG_LEVEL": "WARNING",
        }
        targets = bodies(user_ids[7], folders)
        series: dict[str, list[Load]] = {name: [] for name in targets}
        with gunicorn("service.app:create_app()", env) as url:
            for _ in range(args.rounds):
                for name, (path, body) in targets.items():
                    series[name].append(
                        load(
                            f"{url}{path}",
                            auth=f"Bearer {keys['read']}",
                            method="POST",
                            body=body,
                            seconds=args.seconds,
                            runs=1,
                        )
                    )
    print(
        f"users seeded: {args.users}; {args.rounds} rounds x {args.seconds}s per series, "
        "alternating, each after a 3s warm-up; one gunicorn (-w 2 -k sync) serves all"
    )
    merged: dict[str, Load] = {}
    for name, rounds in series.items():
        merged[name] = Load(
            rps=[r.rps[0] for r in rounds],
            p99_ms=[r.p99_ms[0] for r in rounds],
            server_p50_ms=[r.server_p50_ms[0] for r in rounds],
            server_p99_ms=[r.server_p99_ms[0] for r in rounds],
            errors=sum(r.errors for r in rounds),
        )
        print(f"{name}: {merged[name].describe()}")
    names = list(targets)
    for ours, baseline, target in (
        (names[1], names[0], "target >= 0.90"),
        (names[3], names[2], "no target"),
    ):
        ratios = [a / b for a, b in zip(merged[ours].rps, merged[baseline].rps, strict=True)]
        server = statistics.median(merged[ours].server_p50_ms) / statistics.median(
            merged[baseline].server_p50_ms
        )
        print(
            f"ratio req/s {ours} / {baseline}, per round: "
            f"{', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f} "
            f"({target}); server p50 ratio {server:.2f}"
        )


if __name__ == "__main__":
    main()
