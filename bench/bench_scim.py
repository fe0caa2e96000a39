"""SCIM under load on PostgreSQL, against baselines measured in the same run.

Issue 4's performance section, with 100,000 users and 2,000 groups in one tenant
(100 of the groups have 10,000 members each, the rest 10):

- lookups by `userName eq`, `externalId eq`, `displayName eq`: server time p99
  (from the access log's duration_ms), beside the same point query issued
  on a bare psycopg connection;
- creating users through SCIM (scim2-server's handler, one unit of work: the user,
  its audit event and its outbox row in one transaction): requests/s beside a bare
  Flask + SQLAlchemy endpoint inserting the same row (userName unique per tenant on
  lower(), as BENCHMARKS.md says; issue 14 asks for at least 0.45 of it), both
  under gunicorn -w 2 -k sync, their runs alternating;
  rolecall's outbox relay process runs beside it, as in production;
- one PATCH adding 1,000 members;
- one PATCH adding or removing one member of a 10,000-member group, and of a
  10-member group (their ratio shows the member list is never read);
- GET /Groups?count=100&excludedAttributes=members over groups of 10,000 members.

Method as in ../shared/BENCHMARKS.md: wrk -t1 -c16 -d10s --latency after a 3 s
warm-up, 3 runs, min/median/max. Machines drift 3-7% between runs, so the ratios
are the figures to read.

Run: .venv/bin/python bench/bench_scim.py   (needs PostgreSQL on 127.0.0.1:5432 and
Redis on 127.0.0.1:6379; set BENCH_PG to another server URL). Prints one figure
per line and exits 0; it never fails on speed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from flask import Flask, Response, request
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    create_engine,
    func,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_SCIM_DATABASE", "rolecall_bench_scim")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")
# Tasks go to a broker, as in production, so that a request pays for recording and
# sending its recompute, not for running it (with the default eager broker a PATCH
# on a 10,000-member group would recompute 10,000 users inside the request). No
# worker consumes this queue; it is emptied before and after the run.
BROKER_URL = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/13")
USERS = 100_000
GROUPS = 2_000
BIG_GROUPS = 100
BIG_MEMBERS = 10_000
SMALL_MEMBERS = 10
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIM_JSON = "application/scim+json"

# -- the write baseline: a bare Flask + SQLAlchemy insert of the same row ------------

_baseline_metadata = MetaData()
baseline_users = Table(
    "bench_baseline_users",
    _baseline_metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("user_name", String(300), nullable=False),
    Column("external_id", String(300)),
    Column("document", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)
# ../shared/BENCHMARKS.md: userName unique per tenant on lower().
Index(
    "uq_bench_baseline_users_tenant_user_name",
    baseline_users.c.tenant_id,
    func.lower(baseline_users.c.user_name),
    unique=True,
)


def baseline_app() -> Flask:
    """gunicorn 'bench.bench_scim:baseline_app()'"""
    url = os.environ["BENCH_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url, pool_size=5)
    app = Flask("baseline")

    @app.post("/insert")
    def insert() -> Response:
        body = request.get_json(force=True)
        with engine.begin() as connection:
            connection.execute(
                baseline_users.insert().values(
                    id=str(uuid.uuid4()),
                    tenant_id="bench",
                    user_name=body["userName"],
                    external_id=body.get("externalId"),
                    document=body,
                    created=datetime.now(UTC),
                )
            )
        return Response(json.dumps(body), status=201, mimetype="application/json")

    @app.get("/floor")
    def floor() -> Response:
        return Response('{"ok": true}', mimetype="application/json")

    return app


# -- processes ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(app: str, env: dict[str, str], log: Path) -> Iterator[str]:
    port = _free_port()
    # Production's gunicorn settings (deploy/gunicorn.conf.py) for both servers, with
    # BENCHMARKS.md's workers and bind on top.
    argv = [
        str(BIN / "gunicorn"), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
        "-w", "2", "-k", "sync", "--no-control-socket", "-b", f"127.0.0.1:{port}", app,
    ]  # fmt: skip
    with log.open("wb") as handle:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn {app} exited:\n{log.read_text()[-3000:]}")
            try:
                requests.get(base + "/", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        yield base
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def relay_process(env: dict[str, str], log: Path) -> Iterator[None]:
    """`rolecall relay`: sends the outbox rows that SCIM writes commit (ROLECALL_OUTBOX_RELAY
    is `process` with a real broker, as in production)."""
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [str(BIN / "rolecall"), "relay"], env=env, cwd=ROOT, stdout=handle,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield
    finally:
        _stop(process)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def run_wrk(wrk: str, url: str, script: Path, seconds: int = 10) -> dict[str, float]:
    # Every wrk run (the warm-up too) draws new names: seed from the clock.
    source = script.read_text()
    if "math.randomseed" not in source:
        script.write_text(f"math.randomseed({time.time_ns() % 2**31})\n" + source)
    subprocess.run(
        [wrk, "-t1", "-c16", "-d3s", "-s", str(script), url], check=True, capture_output=True
    )
    done = subprocess.run(
        [wrk, "-t1", "-c16", f"-d{seconds}s", "--latency", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    )
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", done.stdout)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    return {
        "rps": rps,
        "client_p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "errors": float(non_2xx.group(1)) if non_2xx else 0.0,
    }


def lua(tmp: Path, name: str, source: str) -> Path:
    path = tmp / f"{name}.lua"
    path.write_text(source)
    return path


# -- data ----------------------------------------------------------------------------


def fresh_database() -> str:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return f"{PG}/{DATABASE}"


def load(database_url: str) -> dict[str, Any]:
    """Migrate, make a tenant and its token, then COPY users, groups and members in bulk."""
    from service.persistence import schema
    from service.persistence.db import make_engine, make_session_factory
    from service.persistence.unit_of_work import UnitOfWork
    from service.services import tokens
    from service.settings import Settings

    engine = make_engine(Settings(database_url=database_url))
    schema.upgrade(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        tenant = tokens.create_tenant(uow, "bench")
        token = tokens.issue_token(uow, tenant.id, "scim").plaintext
        tenant_id = tenant.id
    engine.dispose()
    _baseline_metadata.create_all(
        create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    )

    now = datetime.now(UTC)
    user_ids = [str(uuid.uuid4()) for _ in range(USERS)]
    group_ids = [str(uuid.uuid4()) for _ in range(GROUPS)]
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        with cursor.copy(
            "COPY scim_users (id, tenant_id, user_name, user_name_lower, external_id,"
            " display_name, active, user_type, given_name, family_name, document, created,"
            " last_modified, version) FROM STDIN"
        ) as copy:
            for n, user_id in enumerate(user_ids):
                name = f"user{n}@example.org"
                document = {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                    "userName": name,
                    "externalId": f"ext-{n}",
                    "displayName": f"User {n}",
                    "name": {"givenName": "User", "familyName": str(n)},
                    "active": True,
                    "emails": [{"value": name, "type": "work", "primary": True}],
                    ENTERPRISE: {"employeeNumber": str(n), "department": f"dept-{n % 50}"},
                }
                copy.write_row(
                    (user_id, tenant_id, name, name, f"ext-{n}", f"User {n}", True, "Employee",
                     "User", str(n), json.dumps(document), now, now, 1)
                )  # fmt: skip
        with cursor.copy(
            "COPY scim_groups (id, tenant_id, display_name, display_name_lower, external_id,"
            " document, created, last_modified, version) FROM STDIN"
        ) as copy:
            for n, group_id in enumerate(group_ids):
                name = f"big-{n}" if n < BIG_GROUPS else f"group-{n}"
                document = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                            "displayName": name, "externalId": f"gext-{n}"}  # fmt: skip
                copy.write_row(
                    (
                        group_id,
                        tenant_id,
                        name,
                        name,
                        f"gext-{n}",
                        json.dumps(document),
                        now,
                        now,
                        1,
                    )
                )
        with cursor.copy(
            "COPY scim_group_members (tenant_id, group_id, member_id, member_type) FROM STDIN"
        ) as copy:
            for n, group_id in enumerate(group_ids):
                size = BIG_MEMBERS if n < BIG_GROUPS else SMALL_MEMBERS
                start = (n * 997) % (USERS - size)
                for user_id in user_ids[start : start + size]:
                    copy.write_row((tenant_id, group_id, user_id, "User"))
        connection.commit()
        cursor.execute("ANALYZE")
    return {"token": token, "users": user_ids, "groups": group_ids, "tenant_id": tenant_id}


# -- measurements -----------------------------------------------------------------------


def access_log_durations(log: Path, offset: int, path_prefix: str) -> list[float]:
    durations = []
    with log.open("rb") as handle:
        handle.seek(offset)
        for line in handle:
            if b'"message": "request"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if str(entry.get("path", "")).startswith(path_prefix):
                durations.append(float(entry["duration_ms"]))
    return durations


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def server_ms(response: requests.Response) -> float:
    match = re.search(r"dur=([\d.]+)", response.headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else float("nan")


def emit(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.3f} {unit}", flush=True)


def three(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def emit3(name: str, values: list[float], unit: str) -> None:
    low, mid, high = three(values)
    print(f"{name}: min {low:.3f} / median {mid:.3f} / max {high:.3f} {unit}", flush=True)


def bare_lookup_p99(database_url: str, tenant_id: str) -> float:
    timings = []
    with psycopg.connect(database_url) as connection:
        for n in range(2_000):
            name = f"user{(n * 7919) % USERS}@example.org"
            started = time.perf_counter()
            connection.execute(
                "SELECT id, document FROM scim_users WHERE tenant_id = %s AND user_name_lower = %s",
                (tenant_id, name),
            ).fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return pct(timings, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()

    wrk = ensure_wrk()
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    database_url = fresh_database()
    started = time.perf_counter()
    data = load(database_url)
    emit(
        "setup: load 100,000 users, 2,000 groups, 1,019,000 memberships",
        time.perf_counter() - started,
        "s",
    )
    token = data["token"]
    tmp = Path(tempfile.mkdtemp(prefix="bench-scim-"))
    env = {
        **os.environ,
        "ROLECALL_ENV": "development",
        "ROLECALL_DATABASE_URL": database_url,
        "ROLECALL_REDIS_URL": REDIS_URL,
        "ROLECALL_BROKER_URL": BROKER_URL,
        "ROLECALL_SECRET_KEY": "bench-secret",
        "ROLECALL_LOG_LEVEL": "INFO",
        "ROLECALL_DATABASE_POOL_SIZE": "4",
        # One tenant at hundreds of requests per second: far past the default SCIM limit.
        # The limit stays on, set out of reach, so each request still pays its check.
        "ROLECALL_RATE_LIMIT_SCIM": "1000000 per 1 second",
        "BENCH_DATABASE_URL": database_url,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp),
    }
    auth = f"Bearer {token}"
    headers_lua = (
        f'wrk.headers["Authorization"] = "{auth}"\nwrk.headers["Content-Type"] = "{SCIM_JSON}"\n'
    )
    lookups = {
        "userName eq": 'userName eq "user{n}@example.org"',
        "externalId eq": 'externalId eq "ext-{n}"',
        "displayName eq": 'displayName eq "User {n}"',
    }
    log = tmp / "rolecall.log"
    with (
        relay_process(env, tmp / "relay.log"),
        gunicorn("service.app:create_app()", env, log) as base,
    ):
        env["ROLECALL_PUBLIC_BASE_URL"] = base
        for label, template in lookups.items():
            lua_filter = template.replace('"', "%22").replace(" ", "%20").replace("@", "%40")
            left, right = lua_filter.split("{n}")
            script = lua(tmp, label.split()[0], headers_lua + (
                "request = function()\n"
                f"  local n = math.random(0, {USERS - 1})\n"
                f'  return wrk.format("GET", "/scim/v2/Users?filter={left}" .. n .. "{right}")\n'
                "end\n"
            ))  # fmt: skip
            rps, p99s, server99 = [], [], []
            for _ in range(args.runs):
                offset = log.stat().st_size
                result = run_wrk(wrk, base, script, args.seconds)
                durations = access_log_durations(log, offset, "/scim/v2/Users")
                rps.append(result["rps"])
                p99s.append(result["client_p99_ms"])
                server99.append(pct(durations, 0.99))
            emit3(f"lookup {label} requests/s", rps, "req/s")
            emit3(f"lookup {label} server p99", server99, "ms")
            emit3(f"lookup {label} client p99 (16 connections)", p99s, "ms")
        emit(
            "baseline: the same point query on a bare psycopg connection, p99",
            bare_lookup_p99(database_url, data["tenant_id"]),
            "ms",
        )

        create = lua(tmp, "create", headers_lua + (
            "local counter = 0\n"
            "local prefix = tostring(os.time()) .. tostring(math.random(1, 1e9))\n"
            "request = function()\n"
            "  counter = counter + 1\n"
            '  local name = "new-" .. prefix .. "-" .. counter .. "@example.org"\n'
            '  local body = \'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
            '"userName":"\' .. name .. \'","externalId":"x-\' .. name .. \'",'
            '"displayName":"New user"}\'\n'
            '  return wrk.format("POST", "/scim/v2/Users", nil, body)\n'
            "end\n"
        ))  # fmt: skip
        insert = lua(tmp, "insert", (
            'wrk.headers["Content-Type"] = "application/json"\n'
            "local counter = 0\n"
            "local prefix = tostring(os.time()) .. tostring(math.random(1, 1e9))\n"
            "request = function()\n"
            "  counter = counter + 1\n"
            '  local name = "new-" .. prefix .. "-" .. counter .. "@example.org"\n'
            '  local body = \'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],\'\n'
            '    .. \'"userName":"\' .. name .. \'","externalId":"x-\' .. name .. \'",\'\n'
            '    .. \'"displayName":"New user"}\'\n'
            '  return wrk.format("POST", "/insert", nil, body)\n'
            "end\n"
        ))  # fmt: skip
        # The two servers run side by side and their runs alternate, so that drift in
        # the machine's speed falls on both. rolecall's relay process runs too: in
        # production it sends the outbox rows each create writes, on the same cores.
        scim_create, baseline_insert = [], []
        with gunicorn("bench.bench_scim:baseline_app()", env, tmp / "baseline.log") as bare:
            for _ in range(args.runs):
                scim_create.append(run_wrk(wrk, base, create, args.seconds))
                baseline_insert.append(run_wrk(wrk, bare, insert, args.seconds))
            floor_script = lua(
                tmp, "floor", 'request = function() return wrk.format("GET", "/floor") end\n'
            )
            floor = [run_wrk(wrk, bare, floor_script, args.seconds) for _ in range(args.runs)]

        session = requests.Session()
        session.headers.update({"Authorization": auth, "Content-Type": SCIM_JSON})
        big, small = data["groups"][0], data["groups"][BIG_GROUPS]
        spare_users = data["users"][-5_000:]

        def patch(group: str, operations: list[dict[str, Any]]) -> requests.Response:
            response = session.patch(
                f"{base}/scim/v2/Groups/{group}",
                json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": operations,
                },
            )
            assert response.status_code in (200, 204), response.text
            return response

        thousand = []
        for attempt in range(3):
            members = spare_users[attempt * 1000 : (attempt + 1) * 1000]
            t0 = time.perf_counter()
            response = patch(data["groups"][BIG_GROUPS + 1 + attempt], [
                {"op": "add", "path": "members", "value": [{"value": m} for m in members]}
            ])  # fmt: skip
            thousand.append(((time.perf_counter() - t0) * 1000, server_ms(response)))
        emit3("PATCH adding 1,000 members, client", [c for c, _ in thousand], "ms")
        emit3("PATCH adding 1,000 members, server", [s for _, s in thousand], "ms")

        def one_member(group: str) -> list[float]:
            timings = []
            for n in range(200):
                member = spare_users[3000 + n]
                timings.append(
                    server_ms(
                        patch(
                            group, [{"op": "add", "path": "members", "value": [{"value": member}]}]
                        )
                    )
                )
                timings.append(
                    server_ms(
                        patch(group, [{"op": "remove", "path": f'members[value eq "{member}"]'}])
                    )
                )
            return timings

        large, little = one_member(big), one_member(small)
        emit("PATCH one member of a 10,000-member group, server p50", pct(large, 0.5), "ms")
        emit("PATCH one member of a 10,000-member group, server p99", pct(large, 0.99), "ms")
        emit("PATCH one member of a 10-member group, server p50", pct(little, 0.5), "ms")
        emit("PATCH one member of a 10-member group, server p99", pct(little, 0.99), "ms")
        emit(
            "ratio PATCH one member 10,000 / 10 members (p50)",
            pct(large, 0.5) / pct(little, 0.5),
            "x",
        )

        listing = []
        for _ in range(30):
            response = session.get(
                f"{base}/scim/v2/Groups",
                params={
                    "count": 100,
                    "excludedAttributes": "members",
                    "filter": 'displayName sw "big-"',
                },
            )
            assert response.status_code == 200 and len(response.json()["Resources"]) == 100
            listing.append(server_ms(response))
        emit(
            "GET /Groups?count=100&excludedAttributes=members (10,000-member groups), server p50",
            pct(listing, 0.5),
            "ms",
        )
        emit(
            "GET /Groups?count=100&excludedAttributes=members (10,000-member groups), server p99",
            pct(listing, 0.99),
            "ms",
        )

    scim_rps = [r["rps"] for r in scim_create]
    base_rps = [r["rps"] for r in baseline_insert]
    emit3("create user through SCIM requests/s", scim_rps, "req/s")
    emit3("baseline: bare Flask + SQLAlchemy insert requests/s", base_rps, "req/s")
    emit(
        "ratio create SCIM / baseline insert (medians; target >= 0.45)",
        statistics.median(scim_rps) / statistics.median(base_rps),
        "x",
    )
    emit3("baseline: bare Flask with no I/O requests/s", [r["rps"] for r in floor], "req/s")
    errors = sum(r["errors"] for r in scim_create + baseline_insert)
    emit("non-2xx responses during the write runs", errors, "responses")
    shutil.rmtree(tmp, ignore_errors=True)
    broker.flushdb()


if __name__ == "__main__":
    main()
