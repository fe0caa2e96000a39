"""/metrics in Prometheus format counts requests, SCIM operations by IdP, and tasks."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from service.metrics import idp_from_user_agent, scim_operation
from tests.conftest import TenantKeys


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a scrape, 0 when it is absent."""
    for line in text.splitlines():
        if not line.startswith((name + "{", name + " ")):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_request_and_a_task_are_counted(client: FlaskClient, tenant: TenantKeys) -> None:
    before = client.get("/metrics").text
    client.post("/api/v1/heartbeats", headers=tenant.auth("admin"))
    after = client.get("/metrics")
    assert after.status_code == 200
    assert after.content_type.startswith("text/plain")
    labels = {"method": "POST", "endpoint": "/api/v1/heartbeats", "status": "202"}
    assert sample(after.text, "rolecall_http_requests_total", **labels) == (
        sample(before, "rolecall_http_requests_total", **labels) + 1
    )
    task = {"task": "rolecall.heartbeat", "outcome": "success"}
    assert sample(after.text, "rolecall_tasks_total", **task) == (
        sample(before, "rolecall_tasks_total", **task) + 1
    )
    assert "rolecall_outbox_lag_seconds" in after.text


def test_scim_requests_are_counted_by_identity_provider(
    client: FlaskClient, tenant: TenantKeys
) -> None:
    labels = {"idp": "okta", "resource": "Users", "operation": "list"}
    before = client.get("/metrics").text
    client.get(
        "/scim/v2/Users", headers={**tenant.auth("scim"), "User-Agent": "Okta SCIM Client 1.0.0"}
    )
    after = client.get("/metrics").text
    counted = [
        sample(after, "rolecall_scim_operations_total", **labels, outcome=outcome)
        - sample(before, "rolecall_scim_operations_total", **labels, outcome=outcome)
        for outcome in ("success", "client_error", "error")
    ]
    assert sum(counted) == 1


def test_identity_providers_are_told_apart_by_user_agent() -> None:
    assert idp_from_user_agent("Azure AD SCIM Client") == "entra"
    assert idp_from_user_agent("Okta SCIM Client 1.0.0") == "okta"
    assert idp_from_user_agent("OneLogin SCIM") == "onelogin"
    assert idp_from_user_agent("Google-Workspace-Provisioning") == "google"
    assert idp_from_user_agent(None) == "other"


def test_scim_operations_have_bounded_labels() -> None:
    assert scim_operation("GET", "/scim/v2/Users") == ("Users", "list")
    assert scim_operation("GET", "/scim/v2/Users/123") == ("Users", "get")
    assert scim_operation("PATCH", "/scim/v2/Groups/9") == ("Groups", "patch")
    assert scim_operation("POST", "/scim/v2/Users/.search") == ("Users", "search")
    assert scim_operation("GET", "/scim/v2/whatever-an-attacker-sends") == ("other", "list")
