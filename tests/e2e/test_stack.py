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
