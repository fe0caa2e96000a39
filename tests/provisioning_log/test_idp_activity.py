"""The last requests seen per IdP, as the Connection page shows them: what each IdP
did last, and how many of its operations were applied or rejected in the last day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from service.persistence.base import utcnow
from service.persistence.models import AuditEvent
from service.runtime import Runtime
from service.services.provisioning_log import idp_activity
from tests.conftest import TenantKeys
from tests.idp.conftest import body
from tests.provisioning_log.conftest import ENTRA_AGENT, OKTA_AGENT, IdpScim
from tests.scim.conftest import USER_SCHEMA


def test_each_idp_is_named_from_its_user_agent_with_its_last_request(
    entra: IdpScim, okta: IdpScim, tenant: TenantKeys, runtime: Runtime
) -> None:
    manager = entra.create_user("boss@testuser.com")["id"]
    assert entra.post("/Users", body("entra_create_user", manager_id=manager)).status_code == 201
    okta.post("/Users", body("okta_create_user"))
    refused = entra.post("/Users", {"schemas": [USER_SCHEMA], "userName": "BOSS@testuser.com"})
    assert refused.status_code == 409

    first, second = idp_activity(runtime.unit_of_work(), tenant.id)
    assert (first.idp, first.last_user_agent) == ("entra", ENTRA_AGENT)
    assert (first.last_operation, first.last_outcome) == ("create", "rejected")
    assert first.last_resource == "BOSS@testuser.com"
    assert first.last_reason == "409 uniqueness: userName 'BOSS@testuser.com' is already taken"
    assert (first.applied_24h, first.rejected_24h) == (2, 1)
    assert (second.idp, second.last_user_agent, second.last_outcome) == (
        "okta",
        OKTA_AGENT,
        "applied",
    )
    assert second.last_resource == "test.user@okta-example.org"
    assert second.last_seen <= first.last_seen


def test_only_the_last_day_is_counted(okta: IdpScim, tenant: TenantKeys, runtime: Runtime) -> None:
    okta.create_user("old@example.org")
    with runtime.unit_of_work() as uow:
        uow.session.execute(
            update(AuditEvent)
            .where(AuditEvent.tenant_id == tenant.id)
            .values(occurred_at=utcnow() - timedelta(days=2))
        )
    okta.create_user("new@example.org")
    [activity] = idp_activity(runtime.unit_of_work(), tenant.id)
    assert activity.applied_24h == 1
    assert activity.last_resource == "new@example.org"


def test_a_tenant_without_scim_traffic_has_no_idp(tenant: TenantKeys, runtime: Runtime) -> None:
    assert idp_activity(runtime.unit_of_work(), tenant.id) == []
