"""Deprovisioning (issue 14): from the IdP's SCIM request to a healthy web process
answering "denied", with the request's own cache write succeeding, and with it
failing (the request went to a web process whose Redis is unreachable, and the IdP
does not retry: the outbox's effect, applied by the relay and a worker, must do it).

Runs the production shape on PostgreSQL and Redis: a healthy gunicorn, a degraded
gunicorn (its Redis address has nothing listening), the outbox relay and one worker
(--concurrency 1). Each sample takes both timestamps on this process's monotonic
clock: before the SCIM PATCH `active: false`, and when a `POST /api/v1/check` to the
healthy process first answers allowed false (polled back to back). Samples of the two
kinds and of the baseline alternate over the run.

Baseline, same run: a SCIM PATCH that deprovisions nothing (a displayName change) on
the healthy process, followed by one check: the floor of the measurement.

    python bench/bench_deprovision.py [samples]   (default 200 of each kind)
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

from bench.harness import BIN, ROOT, cli, free_port, gunicorn, p99

DATABASE = "rolecall_bench_deprovision"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/7"
BROKER_URL = "redis://127.0.0.1:6379/8"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DEACTIVATE = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}


def _background(env: dict[str, str], *argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


class Tenant:
    """The bench's tenant, seen through the HTTP APIs as an admin, an IdP and an app."""

    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.url = url
        self.session = requests.Session()
        self.tokens = tokens

    def call(
        self, method: str, path: str, kind: str, url: str = "", **kwargs: object
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[kind]}"}
        return self.session.request(method, f"{url or self.url}{path}", headers=headers,
                                    timeout=30, **kwargs)  # type: ignore[arg-type]  # fmt: skip

    def made(self, method: str, path: str, kind: str, body: dict[str, object]) -> dict:
        answer = self.call(method, path, kind, json=body)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else {}

    def allowed(self, users: list[str], scope: str) -> list[bool]:
        checks = [{"user": u, "area": "edit", "level": "granted", "scope": scope} for u in users]
        answer = self.call("POST", "/api/v1/check", "read", json={"checks": checks})
        assert answer.status_code == 200, answer.text
        return [result["allowed"] for result in answer.json()["results"]]


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99(ordered) * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"
    )


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE],
                   check=True)  # fmt: skip
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    for url in (REDIS_URL, BROKER_URL):
        subprocess.run(["redis-cli", "-u", url, "flushdb"], check=True, capture_output=True)
    env = {
        **os.environ,
        "ROLECALL_ENV": "production",
        "ROLECALL_DATABASE_URL": DATABASE_URL,
        "ROLECALL_REDIS_URL": REDIS_URL,
        "ROLECALL_BROKER_URL": BROKER_URL,
        "ROLECALL_SECRET_KEY": "bench",
        "ROLECALL_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    cli(env, "db", "upgrade")
    cli(env, "tenant", "create", "bench")
    tokens = {
        kind: cli(env, "token", "create", "--tenant", "bench", "--kind", kind)
        for kind in ("scim", "admin", "read")
    }
    worker = _background(env, str(BIN / "celery"), "-A", "worker.celery_app", "worker",
                         "--queues", "permissions,invitations", "--concurrency", "1",
                         "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
                         "--without-heartbeat")  # fmt: skip
    relay = _background(env, str(BIN / "rolecall"), "relay")
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    healthy_times: list[float] = []
    degraded_times: list[float] = []
    baseline_times: list[float] = []
    refused = 0
    try:
        with (
            gunicorn("service.app:create_app()", env) as url,
            gunicorn(
                "service.app:create_app()", {**env, "ROLECALL_REDIS_URL": dead_redis}
            ) as degraded_url,
        ):
            tenant = Tenant(url, tokens)
            tenant.made("POST", "/api/v1/catalogs/reporting/load", "admin", {})
            org = tenant.made("POST", "/api/v1/scopes", "admin",
                              {"type": "organization", "name": "Org"})["id"]  # fmt: skip
            tenant.made("POST", "/api/v1/mappings", "admin", {
                "group": {"kind": "displayName", "value": "Editors"},
                "role_key": "edit", "scope_id": org,
            })  # fmt: skip
            group = tenant.made("POST", "/scim/v2/Groups", "scim",
                                {"schemas": [GROUP], "displayName": "Editors"})["id"]  # fmt: skip
            users = [
                tenant.made("POST", "/scim/v2/Users", "scim",
                            {"schemas": [USER], "userName": f"u{i}@bench.example"})["id"]
                for i in range(samples * 3)
            ]  # fmt: skip
            for start in range(0, len(users), 500):
                tenant.made("PATCH", f"/scim/v2/Groups/{group}", "scim", {
                    "schemas": [PATCH], "Operations": [{"op": "add", "path": "members",
                    "value": [{"value": u} for u in users[start:start + 500]]}],
                })  # fmt: skip
            deadline = time.monotonic() + 120
            while not all(a for s in range(0, len(users), 500)
                          for a in tenant.allowed(users[s:s + 500], org)):  # fmt: skip
                if time.monotonic() > deadline:
                    raise SystemExit("the users' sets were not cached within 120 s")
                time.sleep(0.2)

            def until_denied(user: str, started: float) -> float:
                while tenant.allowed([user], org)[0]:
                    if time.monotonic() - started > 30:
                        raise SystemExit(f"{user} still allowed after 30 s")
                return time.monotonic() - started

            for i in range(samples):
                healthy, degraded, untouched = users[3 * i : 3 * i + 3]
                started = time.monotonic()
                answer = tenant.call("PATCH", f"/scim/v2/Users/{healthy}", "scim",
                                     json=DEACTIVATE)  # fmt: skip
                assert answer.status_code == 200, answer.text
                healthy_times.append(until_denied(healthy, started))

                started = time.monotonic()
                answer = tenant.call("PATCH", f"/scim/v2/Users/{degraded}", "scim",
                                     url=degraded_url, json=DEACTIVATE)  # fmt: skip
                refused += answer.status_code == 503
                degraded_times.append(until_denied(degraded, started))

                started = time.monotonic()
                answer = tenant.call("PATCH", f"/scim/v2/Users/{untouched}", "scim", json={
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "value": {"displayName": f"N{i}"}}],
                })  # fmt: skip
                assert answer.status_code == 200, answer.text
                assert tenant.allowed([untouched], org)[0]
                baseline_times.append(time.monotonic() - started)
    finally:
        for process in (relay, worker):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE],
                       check=False)  # fmt: skip

    print(f"deprovisioning until a healthy process denies, {samples} samples of each kind")
    print(f"healthy request (its cache write succeeds): {_percentiles(healthy_times)} "
          "(target p99 < 250 ms)")  # fmt: skip
    print(f"degraded request (its Redis unreachable, no IdP retry): "
          f"{_percentiles(degraded_times)} (target < 1.5 s)")  # fmt: skip
    print(f"  the degraded process answered 503 with Retry-After to {refused} of {samples}")
    print(f"baseline: a SCIM PATCH deprovisioning nothing, then one check: "
          f"{_percentiles(baseline_times)}")  # fmt: skip
    base = statistics.median(baseline_times)
    print(f"ratio healthy / baseline (p50): {statistics.median(healthy_times) / base:.2f}; "
          f"(p99): {p99(healthy_times) / p99(baseline_times):.2f}")  # fmt: skip
    print(f"ratio degraded / baseline (p50): {statistics.median(degraded_times) / base:.2f}")


if __name__ == "__main__":
    main()
