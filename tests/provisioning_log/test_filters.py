"""An admin finds operations in the provisioning log by outcome, operation, resource
type, IdP and reason, a page at a time, and sees only their own tenant's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from service.runtime import Runtime
from service.services import provisioning_log
from tests.conftest import TenantKeys
from tests.provisioning_log.conftest import ENTRA_AGENT, IdpScim, ProvisioningLog
from tests.scim.conftest import USER_SCHEMA


@pytest.fixture
def traffic(entra: IdpScim, okta: IdpScim) -> dict[str, str]:
    """Entra creates a user and a group; Okta sends a duplicate and patches the user."""
    user = entra.create_user("ada@example.org")["id"]
    group = entra.create_group("Analysts")["id"]
    okta.post("/Users", {"schemas": [USER_SCHEMA], "userName": "ADA@example.org"})
    okta.patch(f"/Users/{user}", [{"op": "replace", "path": "displayName", "value": "Ada"}])
    return {"user": user, "group": group}


def test_the_log_is_newest_first(
    traffic: dict[str, str], provisioning_log: ProvisioningLog
) -> None:
    rows = provisioning_log.rows()
    assert [(row["idp"], row["operation"], row["outcome"]) for row in rows] == [
        ("okta", "patch", "applied"),
        ("okta", "create", "rejected"),
        ("entra", "create", "applied"),
        ("entra", "create", "applied"),
    ]
    assert rows[-1]["user_agent"] == ENTRA_AGENT


def test_filters_narrow_the_log(traffic: dict[str, str], provisioning_log: ProvisioningLog) -> None:
    assert provisioning_log.only(outcome="rejected")["resource_name"] == "ADA@example.org"
    assert provisioning_log.only(operation="patch")["resource_id"] == traffic["user"]
    assert provisioning_log.only(resource_type="Group")["resource_id"] == traffic["group"]
    assert {row["idp"] for row in provisioning_log.rows(idp="entra")} == {"entra"}
    assert provisioning_log.total(idp="entra") == 2
    assert provisioning_log.rows(outcome="applied", operation="create", resource_type="User") == [
        provisioning_log.only(idp="entra", resource_type="User")
    ]


def test_the_reason_is_searched_as_text_in_any_case(
    traffic: dict[str, str], provisioning_log: ProvisioningLog
) -> None:
    assert provisioning_log.only(reason_contains="ALREADY TAKEN")["outcome"] == "rejected"
    # LIKE's wildcards are plain characters here.
    assert provisioning_log.rows(reason_contains="%") == []
    assert provisioning_log.rows(reason_contains="_") == []


def test_the_log_pages_with_page_and_page_size(
    traffic: dict[str, str], provisioning_log: ProvisioningLog
) -> None:
    everything = provisioning_log.rows()
    assert provisioning_log.rows(page=2, page_size=1) == everything[1:2]
    assert provisioning_log.total(page_size=1) == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("outcome", "failed"),
        ("operation", "upsert"),
        ("resource_type", "user"),
        ("idp", "x" * 41),
        ("reason_contains", "x" * 1001),
    ],
)
def test_a_bad_filter_value_is_a_422_naming_the_field(
    provisioning_log: ProvisioningLog, field: str, value: str
) -> None:
    response = provisioning_log.get(**{field: value})
    assert response.status_code == 422
    assert field in response.json["errors"]["query"]


def test_the_log_needs_an_admin_token(client: FlaskClient, tenant: TenantKeys) -> None:
    response = client.get("/api/v1/provisioning-log", headers=tenant.auth("scim"))
    assert response.status_code == 403


def test_a_tenant_never_sees_another_tenants_operations(
    traffic: dict[str, str],
    make_tenant: Callable[[str], TenantKeys],
    log_of: Callable[[TenantKeys], ProvisioningLog],
    idp: Callable[[TenantKeys, str], IdpScim],
    tenant: TenantKeys,
    runtime: Runtime,
) -> None:
    other = make_tenant("globex")
    idp(other, "Okta SCIM Client 1.0.0").create_user("bob@globex.example")
    assert [row["resource_name"] for row in log_of(other).rows()] == ["bob@globex.example"]
    assert log_of(other).rows(reason_contains="already taken") == []
    entries, total = provisioning_log.list_operations(
        runtime.unit_of_work(), other.id, page=1, per_page=50
    )
    assert (total, [entry.resource_name for entry in entries]) == (1, ["bob@globex.example"])
    [activity] = provisioning_log.idp_activity(runtime.unit_of_work(), other.id)
    assert (activity.idp, activity.applied_24h, activity.rejected_24h) == ("okta", 1, 0)
    assert log_of(tenant).total() == 4
