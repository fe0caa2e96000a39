"""Liveness, readiness and metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from service import metrics
from service.http.context import runtime
from service.services.relay import outbox_lag_seconds

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


def _check_database() -> str | None:
    try:
        with runtime().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # readiness reports any failure by name
        return type(error).__name__
    return None


def _check_redis() -> str | None:
    try:
        runtime().redis.ping()
    except Exception as error:
        return type(error).__name__
    return None


def _check_broker() -> str | None:
    rt = runtime()
    if rt.settings.tasks_eager:
        return None
    try:
        with rt.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:
        return type(error).__name__
    return None


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = {"database": _check_database(), "redis": _check_redis(), "broker": _check_broker()}
    failing = sorted(name for name, problem in checks.items() if problem)
    body = {
        "status": "ok" if not failing else "unavailable",
        "checks": {name: problem or "ok" for name, problem in checks.items()},
    }
    if failing:
        body["failing"] = failing
    return jsonify(body), 200 if not failing else 503


@blueprint.get("/metrics")
def prometheus_metrics() -> Response:
    try:
        metrics.outbox_lag.set(outbox_lag_seconds(runtime().unit_of_work()))
    except Exception:  # a scrape still answers while the database is down
        metrics.outbox_lag.set(float("nan"))
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)
