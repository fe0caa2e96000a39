"""The stack as it runs in production: separate web and worker processes."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.conftest import LiveStack

pytestmark = pytest.mark.e2e


def test_readyz_sees_postgres_redis_and_the_broker(live_stack: LiveStack) -> None:
    response = requests.get(f"{live_stack.base_url}/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}


def test_a_heartbeat_is_completed_by_the_worker_process(live_stack: LiveStack) -> None:
    started = requests.post(
        f"{live_stack.base_url}/api/v1/heartbeats", headers=live_stack.auth("admin"), timeout=5
    )
    assert started.status_code == 202
    beat_url = f"{live_stack.base_url}/api/v1/heartbeats/{started.json()['id']}"
    deadline = time.monotonic() + 30
    beat = started.json()
    while beat["completed_at"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
        beat = requests.get(beat_url, headers=live_stack.auth("admin"), timeout=5).json()
    assert beat["completed_at"] is not None, live_stack.processes["worker"].log()
    assert "rolecall.heartbeat" in live_stack.processes["worker"].log()


def test_a_read_token_cannot_call_the_admin_api_of_the_live_service(
    live_stack: LiveStack,
) -> None:
    response = requests.get(
        f"{live_stack.base_url}/api/v1/tokens", headers=live_stack.auth("read"), timeout=5
    )
    assert response.status_code == 403


def test_the_live_service_never_logs_a_token(live_stack: LiveStack) -> None:
    requests.get(
        f"{live_stack.base_url}/api/v1/tokens", headers=live_stack.auth("admin"), timeout=5
    )
    time.sleep(0.5)
    logs = "".join(p.log() for p in live_stack.processes.values())
    assert '"path": "/api/v1/tokens"' in logs
    for token in live_stack.tokens.values():
        assert token not in logs


def _wait_completed(live_stack: LiveStack, heartbeat_id: str, timeout: float) -> dict:
    url = f"{live_stack.base_url}/api/v1/heartbeats/{heartbeat_id}"
    deadline = time.monotonic() + timeout
    while True:
        beat = requests.get(url, headers=live_stack.auth("admin"), timeout=5).json()
        if beat["completed_at"] is not None or time.monotonic() > deadline:
            return beat
        time.sleep(0.2)


def test_work_committed_while_the_broker_is_down_runs_once_it_is_back(
    live_stack: LiveStack,
) -> None:
    live_stack.processes["broker"].stop()
    try:
        started = requests.post(
            f"{live_stack.base_url}/api/v1/heartbeats",
            headers=live_stack.auth("admin"),
            timeout=30,
        )
        assert started.status_code == 202  # the change committed although the broker is down
        time.sleep(1)
        assert _wait_completed(live_stack, started.json()["id"], 0)["completed_at"] is None
    finally:
        live_stack.start_broker()
    beat = _wait_completed(live_stack, started.json()["id"], 45)
    assert beat["completed_at"] is not None, live_stack.processes["beat"].log()[-3000:]


def test_a_request_id_travels_from_the_web_log_into_the_worker_log(
    live_stack: LiveStack,
) -> None:
    request_id = "e2e-trace-0123456789abcdef"
    started = requests.post(
        f"{live_stack.base_url}/api/v1/heartbeats",
        headers={**live_stack.auth("admin"), "X-Request-ID": request_id},
        timeout=5,
    )
    assert started.headers["X-Request-ID"] == request_id
    assert _wait_completed(live_stack, started.json()["id"], 30)["completed_at"] is not None
    time.sleep(0.3)
    web_lines = [
        line for line in live_stack.processes["web"].log().splitlines() if request_id in line
    ]
    worker_lines = [
        line for line in live_stack.processes["worker"].log().splitlines() if request_id in line
    ]
    assert any('"message": "request"' in line for line in web_lines)
    assert any('"message": "heartbeat completed"' in line for line in worker_lines)
    for line in web_lines + worker_lines:
        for token in live_stack.tokens.values():
            assert token not in line


def test_the_worker_counts_its_tasks_in_prometheus_format(live_stack: LiveStack) -> None:
    port = live_stack.env["ROLECALL_WORKER_METRICS_PORT"]
    scrape = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'rolecall_tasks_total{outcome="success",task="rolecall.heartbeat"}' in scrape


def test_a_token_revoked_from_the_command_line_is_refused_by_every_web_process_at_once(
    live_stack: LiveStack,
) -> None:
    token = live_stack.cli(
        "token", "create", "--tenant", live_stack.tenant, "--kind", "admin"
    ).strip()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{live_stack.base_url}/api/v1/tokens"
    for _ in range(20):  # both gunicorn workers now remember it in-process
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
    [listed] = [
        row
        for row in requests.get(url, headers=live_stack.auth("admin"), timeout=5).json()
        if row["prefix"] == token[: len(row["prefix"])]
    ]

    live_stack.cli("token", "revoke", listed["id"])

    statuses = [requests.get(url, headers=headers, timeout=5).status_code for _ in range(20)]
    assert statuses == [401] * 20
