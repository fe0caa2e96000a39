"""Shared pieces of the benchmarks (see ../shared/BENCHMARKS.md): start a WSGI app
under gunicorn (-w 2 -k sync), load it with wrk from a second process, report
min / median / max of three runs after a warm-up, and the server-side time taken
from each response's Server-Timing header. Benchmarks print figures; they never
fail on speed."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service.runtime import Runtime
from service.settings import Settings
from service.wiring import build_runtime

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]

# Collects Server-Timing "app;dur=X" of every response; prints its percentiles.
_TIMING_LUA = """
times = {}
n = 0
errors = 0
wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
response = function(status, headers, body)
  if status >= 400 then errors = errors + 1 end
  local timing = headers["Server-Timing"]
  if timing then
    local dur = string.match(timing, "dur=([%d%.]+)")
    if dur then n = n + 1; times[n] = tonumber(dur) end
  end
end
function setup(thread) table.insert(threads, thread) end
threads = {}
done = function(summary, latency, requests)
  local all = {}
  local failed = 0
  for _, t in ipairs(threads) do
    local ts = t:get("times")
    failed = failed + (t:get("errors") or 0)
    for _, v in ipairs(ts) do all[#all + 1] = v end
  end
  table.sort(all)
  local function pct(p)
    if #all == 0 then return -1 end
    return all[math.max(1, math.ceil(#all * p))]
  end
  io.write(string.format("BENCH_JSON {\\"rps\\": %f, \\"p50_ms\\": %f, \\"p99_ms\\": %f, " ..
    "\\"server_p50_ms\\": %f, \\"server_p99_ms\\": %f, \\"errors\\": %d, \\"requests\\": %d}\\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, pct(0.5), pct(0.99), failed + summary.errors.status,
    summary.requests))
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


def cli(env: dict[str, str], *args: str) -> str:
    """`rolecall ARGS` with `env`; its output, stripped."""
    done = subprocess.run(
        [str(BIN / "rolecall"), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """A new, empty database `name` on the local PostgreSQL (its URL), dropped afterwards."""
    server = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *server, "--if-exists", name], check=True)
    subprocess.run(["createdb", *server, name], check=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        subprocess.run(["dropdb", *server, "--if-exists", name], check=False)


@contextmanager
def fresh_runtime(name: str, redis_url: str) -> Iterator[Runtime]:
    """A service runtime on a new database `name` (dropped afterwards) and `redis_url`,
    as the in-process benchmarks measure the service's own functions."""
    with fresh_database(name) as database_url:
        settings = Settings(
            environment="test", database_url=database_url, redis_url=redis_url, secret_key="bench"
        )
        runtime = build_runtime(settings)
        try:
            yield runtime
        finally:
            runtime.close()


def shape_arguments(parser: argparse.ArgumentParser) -> None:
    """The recompute benchmark's tenant shape, which the questions and previews share."""
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--scopes", type=int, default=10_000)


@contextmanager
def gunicorn(
    app_spec: str, env: dict[str, str], workers: int = 2, threads: int = 1
) -> Iterator[str]:
    """Serve `app_spec` on a free loopback port; stop it by PID afterwards. Sync workers,
    or gthread workers with `threads` each (what the change feed's long polls need)."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
        prefix="bench-gunicorn-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            "-k",
            "sync" if threads == 1 else "gthread",
            "--threads",
            str(threads),
            "--no-control-socket",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app_spec,
        ],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=log,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited: {Path(log.name).read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Load:
    rps: list[float]
    p99_ms: list[float]
    server_p50_ms: list[float]
    server_p99_ms: list[float]
    errors: int

    @property
    def median_rps(self) -> float:
        return statistics.median(self.rps)

    def describe(self) -> str:
        def span(values: list[float], fmt: str) -> str:
            return " / ".join(
                fmt.format(v) for v in (min(values), statistics.median(values), max(values))
            )

        text = f"req/s min/median/max {span(self.rps, '{:.0f}')}; "
        text += f"client p99 ms {span(self.p99_ms, '{:.2f}')}"
        if min(self.server_p99_ms) >= 0:
            text += f"; server p50 ms {span(self.server_p50_ms, '{:.3f}')}"
            text += f"; server p99 ms {span(self.server_p99_ms, '{:.3f}')}"
        if self.errors:
            text += f"; ERROR RESPONSES {self.errors}"
        return text


def load(
    url: str,
    *,
    auth: str = "",
    cookie: str = "",
    method: str = "GET",
    body: str | None = None,
    content_type: str = "application/json",
    seconds: int = 10,
    warmup: int = 3,
    runs: int = 3,
    connections: int = 16,
    lua: str | None = None,
) -> Load:
    """wrk -t1 -c16 against `url`: a warm-up, then `runs` timed runs."""
    wrk = ensure_wrk()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua or _TIMING_LUA)
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_AUTH": auth,
        "BENCH_COOKIE": cookie,
        "BENCH_CONTENT_TYPE": content_type,
    }
    if body is not None:
        env["BENCH_BODY"] = body

    def once(duration: int) -> dict[str, float]:
        done = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name, url],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON "))
        return json.loads(line.removeprefix("BENCH_JSON "))

    once(warmup)
    results = [once(seconds) for _ in range(runs)]
    return Load(
        rps=[r["rps"] for r in results],
        p99_ms=[r["p99_ms"] for r in results],
        server_p50_ms=[r["server_p50_ms"] for r in results],
        server_p99_ms=[r["server_p99_ms"] for r in results],
        errors=int(sum(r["errors"] for r in results)),
    )
