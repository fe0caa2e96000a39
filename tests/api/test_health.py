"""Liveness, readiness and a worker round trip on the embedded defaults."""

from __future__ import annotations

from dataclasses import replace

from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.cache.permission_cache import PermissionCache
from service.cache.redis_client import connect
from service.runtime import Runtime
from tests.conftest import TenantKeys


def test_healthz_answers_while_the_process_lives(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reports_every_dependency(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}


def test_readyz_names_a_redis_that_is_down(runtime: Runtime) -> None:
    # A Redis client pointed at a port where nothing listens stands in for a stopped server.
    down = connect("redis://127.0.0.1:1/0", timeout=0.2)
    broken = replace(runtime, redis=down, cache=PermissionCache(down, "test:"))
    app: Flask = create_app(runtime=broken)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["redis"]
    assert response.json["checks"]["redis"] == "ConnectionError"
    assert response.json["checks"]["database"] == "ok"


def test_a_heartbeat_runs_through_the_task_queue(client: FlaskClient, tenant: TenantKeys) -> None:
    response = client.post("/api/v1/heartbeats", headers=tenant.auth("admin"))
    assert response.status_code == 202
    beat = client.get(f"/api/v1/heartbeats/{response.json['id']}", headers=tenant.auth("admin"))
    assert beat.status_code == 200
    assert beat.json["completed_at"] is not None  # eager tasks ran in-process
    assert beat.json["worker"]


def test_a_heartbeat_of_another_tenant_is_not_found(client: FlaskClient, make_tenant) -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    beat = client.post("/api/v1/heartbeats", headers=acme.auth("admin")).json
    other = client.get(f"/api/v1/heartbeats/{beat['id']}", headers=globex.auth("admin"))
    assert other.status_code == 404
