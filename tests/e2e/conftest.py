"""The real stack for end-to-end tests: `rolecall db upgrade`, a tenant and tokens made
with the CLI, gunicorn and a Celery worker as separate processes on PostgreSQL and
Redis. Everything started here is stopped by its PID when the session ends.

Runs when ROLECALL_E2E_DATABASE_URL names an empty PostgreSQL database (.ci/run
creates one); otherwise the tests are skipped with a message.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from service.cache.permission_cache import PermissionCache
from service.cache.redis_client import connect

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


@dataclass
class LiveStack:
    base_url: str
    env: dict[str, str]
    tmp: Path
    tokens: dict[str, str]
    tenant: str
    processes: dict[str, Process] = field(default_factory=dict)

    def auth(self, kind: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[kind]}"}

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "rolecall"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"rolecall {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def start(
        self, name: str, argv: list[str], env_overrides: dict[str, str] | None = None
    ) -> Process:
        log_path = self.tmp / f"{name}.log"
        handle = log_path.open("wb")
        # Each kind of process keeps its Prometheus samples in a directory of its own.
        metrics_dir = self.tmp / f"metrics-{name}"
        metrics_dir.mkdir(exist_ok=True)
        env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), **(env_overrides or {})}
        popen = subprocess.Popen(
            argv, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=self.tmp
        )
        process = Process(name, popen, log_path)
        self.processes[name] = process
        return process

    def start_web(
        self, name: str = "web", base_url: str = "", env_overrides: dict[str, str] | None = None
    ) -> Process:
        """gunicorn serving the app; by default the stack's own web process. Another
        one (`name`, `base_url`) may run beside it with other settings."""
        port = int((base_url or self.base_url).rsplit(":", 1)[1])
        return self.start(
            name,
            [
                str(BIN / "gunicorn"),
                "--config",
                str(Path(__file__).parents[2] / "deploy" / "gunicorn.conf.py"),
                "-w",
                "2",
                "-k",
                "gthread",
                "--threads",
                "8",
                "--no-control-socket",
                "-b",
                f"127.0.0.1:{port}",
                "service.app:create_app()",
            ],
            env_overrides,
        )

    def start_worker(self, name: str = "worker", *extra: str) -> Process:
        celery = [str(BIN / "celery"), "-A", "worker.celery_app"]
        options = ["--concurrency", "1", *extra] if "--concurrency" not in extra else list(extra)
        return self.start(name, [
            *celery, "worker", "--loglevel", "INFO", "--queues", "permissions,invitations,webhooks",
            "--pool", "prefork", "--without-gossip", "--without-mingle", "--without-heartbeat",
            *options,
        ])  # fmt: skip

    def start_beat(self) -> Process:
        celery = [str(BIN / "celery"), "-A", "worker.celery_app"]
        return self.start("beat", [
            *celery, "beat", "--loglevel", "INFO", "--schedule", str(self.tmp / "beat-schedule"),
        ])  # fmt: skip

    def start_relay(self) -> Process:
        """`rolecall relay`: with a real broker, the process that sends the outbox."""
        return self.start("relay", [str(BIN / "rolecall"), "relay"])

    def start_redis(self, name: str, url_variable: str) -> Process:
        """A Redis of this stack's own (the broker, the cache), so a test can stop it."""
        port = self.env[url_variable].rsplit(":", 1)[1].split("/")[0]
        process = self.start(name, [
            "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no",
        ])  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
                    return process
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"{name} did not start:\n{process.log()}")

    def start_broker(self) -> Process:
        return self.start_redis("broker", "ROLECALL_BROKER_URL")

    def start_cache(self) -> Process:
        return self.start_redis("cache", "ROLECALL_REDIS_URL")

    def cache(self) -> PermissionCache:
        """The stack's permission cache, read directly (to see what the worker wrote)."""
        return PermissionCache(connect(self.env["ROLECALL_REDIS_URL"]), "rolecall:")

    def api(
        self, method: str, path: str, kind: str = "admin", base_url: str = "", **kwargs: Any
    ) -> Any:
        """A request with one of the stack's tokens, to its web process or `base_url`."""
        headers = kwargs.pop("headers", None) or self.auth(kind)
        response = requests.request(
            method, f"{base_url or self.base_url}{path}", headers=headers, timeout=30, **kwargs
        )
        return response

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            web = self.processes.get("web")
            if web and web.popen.poll() is not None:
                raise AssertionError(f"gunicorn exited early:\n{web.log()}")
            try:
                response = requests.get(f"{self.base_url}/readyz", timeout=2)
                if response.status_code == 200:
                    return
                last = response.text
            except requests.RequestException as error:  # not listening yet, or still booting
                last = str(error)
            time.sleep(0.2)
        raise AssertionError(f"service not ready after {timeout}s: {last}")

    def stop_all(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    database_url = os.environ.get("ROLECALL_E2E_DATABASE_URL", "")
    if not database_url.startswith("postgresql"):
        pytest.skip("end-to-end tests need ROLECALL_E2E_DATABASE_URL (an empty PostgreSQL db)")
    tmp = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "ROLECALL_ENV": "production",
        "ROLECALL_DATABASE_URL": database_url,
        "ROLECALL_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "ROLECALL_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        "ROLECALL_SECRET_KEY": "e2e-secret-key",
        "ROLECALL_LOG_LEVEL": "INFO",
        "ROLECALL_WORKER_METRICS_PORT": str(free_port()),
        "ROLECALL_BROKER_VISIBILITY_TIMEOUT": "5",
    }
    stack = LiveStack(
        base_url=f"http://127.0.0.1:{free_port()}",
        env=env,
        tmp=tmp,
        tokens={},
        tenant=f"e2e-{os.getpid()}-{int(time.time())}",
    )
    stack.env["ROLECALL_PUBLIC_BASE_URL"] = stack.base_url
    try:
        stack.start_cache()  # the CLI's runtime connects to it too
        stack.cli("db", "upgrade")
        stack.cli("tenant", "create", stack.tenant)
        for kind in ("scim", "admin", "read"):
            stack.tokens[kind] = stack.cli(
                "token", "create", "--tenant", stack.tenant, "--kind", kind
            ).strip()
        stack.start_broker()
        stack.start_web()
        stack.start_relay()
        stack.start_worker()
        stack.start_beat()
        stack.wait_ready()
        yield stack
    finally:
        stack.stop_all()
