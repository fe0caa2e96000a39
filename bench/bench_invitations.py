"""Benchmark: 10,000 invitations through two Celery worker processes to a real SMTP server.

Setup, all on this machine: a fresh PostgreSQL database, a Redis of its own as the
broker and cache, an aiosmtpd server on 127.0.0.1 in a process of its own that
counts messages per recipient, and two `celery worker` processes on the
invitations queue. One bulk job of 10,000 rows is submitted through the service
layer (as the API and `rolecall invite` do); the clock runs from the submit to
the job's last row settled.

Checked: every recipient got exactly one message (counted at the SMTP server) and
the job's totals are exact. Baseline, same run, same server: one process sending
10,000 similar messages with plain smtplib over one connection. Prints each
figure, the baseline and the ratio, one per line; exits 0 (it is not a test).

Run: .venv/bin/python bench/bench_invitations.py [--rows 10000]
Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and redis-server on the PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG = "postgresql://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


# The SMTP sink, run as `bench_invitations.py --smtp-sink PORT OUT` ----------------


def smtp_sink(port: int, out: Path) -> None:
    from aiosmtpd.controller import Controller

    counts: Counter[str] = Counter()

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            for rcpt in envelope.rcpt_tos:  # type: ignore[attr-defined]
                counts[rcpt] += 1
            return "250 2.0.0 Queued"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    out.write_text(json.dumps(counts))


class Sink:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.out = tmp / f"sink-{self.port}.json"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--smtp-sink", str(self.port), str(self.out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def counts(self) -> Counter[str]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return Counter(json.loads(self.out.read_text()))


# The baseline -----------------------------------------------------------------------


def baseline(rows: int, tmp: Path) -> float:
    """Seconds for one process to send `rows` messages with plain smtplib."""
    sink = Sink(tmp)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as connection:
        for index in range(rows):
            message = EmailMessage()
            message["From"] = "Invitations <invitations@bench.example.com>"
            message["To"] = f"base{index}@bench.example.com"
            message["Subject"] = "You are invited to bench"
            message["Message-ID"] = f"<base.{index}@bench.example.com>"
            message.set_content("Hello,\n\nAccept here: http://127.0.0.1/invitations/x\n" * 3)
            message.add_alternative("<p>Hello</p><a href='http://127.0.0.1/'>Accept</a>", "html")
            connection.send_message(message)
    elapsed = time.perf_counter() - started
    counts = sink.counts()
    assert len(counts) == rows and max(counts.values()) == 1
    return elapsed


# The run ------------------------------------------------------------------------------


def run(rows: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-bench-inv-"))
    database = f"rolecall_bench_inv_{os.getpid()}"
    processes: list[subprocess.Popen[bytes]] = []
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    try:
        broker_port = free_port()
        processes.append(
            subprocess.Popen(
                ["redis-server", "--port", str(broker_port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        )  # fmt: skip
        wait_port(broker_port)
        sink = Sink(tmp)
        env = {
            **os.environ,
            "ROLECALL_ENV": "production",
            "ROLECALL_SECRET_KEY": "bench-secret",
            "ROLECALL_DATABASE_URL": f"{PG}/{database}",
            "ROLECALL_REDIS_URL": f"redis://127.0.0.1:{broker_port}/1",
            "ROLECALL_BROKER_URL": f"redis://127.0.0.1:{broker_port}/0",
            # The submit sends its outbox rows itself (no `rolecall relay` process here).
            "ROLECALL_OUTBOX_RELAY": "inline",
            "ROLECALL_MAILER": "smtp",
            "ROLECALL_SMTP_HOST": "127.0.0.1",
            "ROLECALL_SMTP_PORT": str(sink.port),
            "ROLECALL_MAIL_FROM": "Invitations <invitations@bench.example.com>",
            "ROLECALL_LOG_LEVEL": "WARNING",
            "ROLECALL_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        }
        subprocess.run([str(BIN / "rolecall"), "db", "upgrade"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        for name in ("one", "two"):
            processes.append(
                subprocess.Popen(
                    [str(BIN / "celery"), "-A", "worker.celery_app", "worker", "--queues",
                     "invitations", "--concurrency", "1", "--pool", "prefork", "--hostname",
                     f"bench-{name}@%h", "--loglevel", "WARNING", "--without-gossip",
                     "--without-mingle", "--without-heartbeat"],
                    env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                    stderr=(tmp / f"worker-{name}.log").open("wb"),
                )
            )  # fmt: skip
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        from service.runtime import set_runtime
        from service.services import bulk_invites, invitations, jobs, tokens
        from service.settings import Settings
        from service.wiring import build_runtime

        runtime = build_runtime(Settings.from_env())
        set_runtime(runtime)
        tenant_id = tokens.create_tenant(runtime.unit_of_work(), "bench").id
        invitations.update_tenant_settings(
            runtime.unit_of_work(), tenant_id, {"rate_limit_per_minute": 1_000_000}, "bench",
            runtime.settings,
        )  # fmt: skip
        csv = "email,name\n" + "".join(
            f"person{i}@bench.example.com,Person {i}\n" for i in range(rows)
        )
        parsed = bulk_invites.parse_csv(csv.encode())
        time.sleep(3)  # let both workers connect to the broker before the clock starts

        started = time.perf_counter()
        job_id = bulk_invites.submit(
            runtime.unit_of_work(), tenant_id, parsed, actor="bench", source="csv"
        ).id
        submitted = time.perf_counter() - started
        deadline = time.monotonic() + 600
        while True:
            with runtime.unit_of_work().reading() as session:
                state = jobs.describe(session, jobs.get_job(session, tenant_id, job_id))
            if state["status"] == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        totals = state["totals"]
        counts = sink.counts()
        duplicates = sum(1 for n in counts.values() if n > 1)

        base = baseline(rows, tmp)
        print(f"rows: {rows}")
        print(f"job status: {state['status']}")
        print(f"submit (parse excluded, one transaction + outbox relay): {submitted:.2f} s")
        print(f"rolecall: {rows} invitations delivered in {elapsed:.2f} s "
              f"(2 worker processes, PostgreSQL, Redis broker)")  # fmt: skip
        print(f"rolecall throughput: {rows / elapsed:.0f} invitations/s")
        print(f"target: under 60 s -> {'met' if elapsed < 60 else 'NOT met'}")
        print(f"job totals: sent {totals['sent']}, failed {totals['failed']}, "
              f"skipped {totals['skipped']}, invalid {totals['invalid']}, "
              f"still open {totals['queued'] + totals['processing']}")  # fmt: skip
        print(f"job totals exact: {totals['sent'] == rows == len(counts)}")
        print(f"messages at the SMTP server: {sum(counts.values())} to "
              f"{len(counts)} recipients")  # fmt: skip
        print(f"recipients mailed more than once: {duplicates}")
        print(f"baseline: raw smtplib, one process, one connection: {base:.2f} s "
              f"({rows / base:.0f} messages/s)")  # fmt: skip
        print(f"ratio rolecall / baseline time: {elapsed / base:.2f}")
        runtime.close()
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database],
            check=False,
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--smtp-sink":
        smtp_sink(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=10_000)
    run(parser.parse_args().rows)


if __name__ == "__main__":
    main()
