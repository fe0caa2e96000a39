"""Prometheus metrics.

Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR (an empty
directory per machine): every process writes its samples there and /metrics
aggregates them, so a scrape sees the whole machine, not one worker. Celery
workers expose theirs the same way on ROLECALL_WORKER_METRICS_PORT.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

http_requests = Counter(
    "rolecall_http_requests_total", "HTTP requests", ["method", "endpoint", "status"]
)
http_duration = Histogram(
    "rolecall_http_request_duration_seconds",
    "Server time per HTTP request",
    ["method", "endpoint"],
    buckets=FAST_BUCKETS,
)
scim_operations = Counter(
    "rolecall_scim_operations_total",
    "SCIM operations by identity provider (from the User-Agent) and outcome",
    ["idp", "resource", "operation", "outcome"],
)
cache_lookups = Counter(
    "rolecall_cache_lookups_total",
    "Permission cache lookups: hit, miss (computed and stored) or fallback (Redis down)",
    ["result"],
)
cache_hits = cache_lookups.labels("hit")
cache_misses = cache_lookups.labels("miss")
cache_fallbacks = cache_lookups.labels("fallback")
tasks = Counter("rolecall_tasks_total", "Tasks run, by outcome", ["task", "outcome"])
task_duration = Histogram(
    "rolecall_task_duration_seconds", "Task run time", ["task"], buckets=FAST_BUCKETS
)
invitations = Counter("rolecall_invitations_total", "Invitation status changes", ["status"])
outbox_lag = Gauge(
    "rolecall_outbox_lag_seconds",
    "Age of the oldest outbox record not yet sent to the broker",
    multiprocess_mode="max",
)
deprovision_to_feed = Histogram(
    "rolecall_deprovision_feed_seconds",
    "Time from a deprovisioning change (SCIM DELETE or active: false) to its event being "
    "committed in the tenant's change feed",
    buckets=FAST_BUCKETS,
)
deprovision_to_cache_clear = Histogram(
    "rolecall_deprovision_cache_clear_seconds",
    "Time from a deprovisioning change (SCIM DELETE or active: false) to the user's cached "
    "permissions being gone",
    buckets=FAST_BUCKETS,
)


@functools.cache
def _request_series(method: str, endpoint: str, status: int) -> tuple[Any, Any]:
    # Looking a labelled child up costs more than using it; the label sets are few
    # (endpoints are route templates), so each pair is looked up once per process.
    return (
        http_requests.labels(method, endpoint, str(status)),
        http_duration.labels(method, endpoint),
    )


def observe_request(method: str, endpoint: str, status: int, seconds: float) -> None:
    count, duration = _request_series(method, endpoint, status)
    count.inc()
    duration.observe(seconds)


_IDP_PATTERNS = [
    ("entra", re.compile(r"azure|entra|microsoft|aad", re.I)),
    ("okta", re.compile(r"okta", re.I)),
    ("onelogin", re.compile(r"onelogin", re.I)),
    ("google", re.compile(r"google", re.I)),
    ("jumpcloud", re.compile(r"jumpcloud", re.I)),
    ("ping", re.compile(r"ping", re.I)),
    ("keycloak", re.compile(r"keycloak", re.I)),
]
# Every name idp_from_user_agent gives.
IDP_NAMES = (*(name for name, _ in _IDP_PATTERNS), "other")


@functools.lru_cache(maxsize=512)
def idp_from_user_agent(user_agent: str | None) -> str:
    for name, pattern in _IDP_PATTERNS:
        if user_agent and pattern.search(user_agent):
            return name
    return "other"


def scim_operation(method: str, path: str) -> tuple[str, str]:
    """(resource, operation) of a SCIM request, with bounded label values."""
    parts = [p for p in path.split("/") if p][2:]  # drop "scim", "v2"
    resource = parts[0] if parts else "root"
    if resource not in {
        "Users",
        "Groups",
        "Bulk",
        ".search",
        "Me",
        "ServiceProviderConfig",
        "ResourceTypes",
        "Schemas",
    }:
        resource = "other"
    if parts[-1:] == [".search"]:
        return resource, "search"
    by_id = len(parts) > 1
    operation = {
        "GET": "get" if by_id else "list",
        "POST": "create",
        "PUT": "replace",
        "PATCH": "patch",
        "DELETE": "delete",
    }.get(method, method.lower())
    return resource, operation


def multiprocess_enabled() -> bool:
    # prometheus-client itself reads this variable; we only ask whether it is set.
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render() -> tuple[bytes, str]:
    if multiprocess_enabled():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


@functools.cache
def scim_series(idp: str, resource: str, operation: str, outcome: str) -> Any:
    """The labelled counter of one kind of SCIM operation, looked up once per process
    (the label values are bounded: see scim_operation and idp_from_user_agent)."""
    return scim_operations.labels(idp, resource, operation, outcome)
