"""Each SCIM operation an IdP sends is one row of the provisioning log, with what it did
(applied, no change, rejected, member skipped) and why."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from service.persistence.models import AuditEvent
from service.runtime import Runtime
from service.services import provisioning_log as provisioning_log_service
from tests.conftest import TenantKeys
from tests.idp.conftest import body
from tests.provisioning_log.conftest import OKTA_AGENT, IdpScim, ProvisioningLog
from tests.scim.conftest import GROUP_SCHEMA, USER_SCHEMA, assert_scim_error


def test_an_applied_create_names_the_idp_the_operation_and_the_user(
    okta: IdpScim, provisioning_log: ProvisioningLog
) -> None:
    created = okta.post("/Users", body("okta_create_user"))
    assert created.status_code == 201
    row = provisioning_log.only()
    assert row["outcome"] == "applied"
    assert (row["idp"], row["user_agent"]) == ("okta", OKTA_AGENT)
    assert (row["operation"], row["resource_type"]) == ("create", "User")
    assert row["resource_id"] == created.json["id"]
    assert row["resource_name"] == "test.user@okta-example.org"


def test_a_create_with_a_bad_schema_is_rejected_with_the_scim_error(
    okta: IdpScim, provisioning_log: ProvisioningLog
) -> None:
    response = okta.post("/Users", {"schemas": [USER_SCHEMA], "displayName": "No Name"})
    assert_scim_error(response, 400, "invalidValue")
    row = provisioning_log.only()
    assert (row["outcome"], row["operation"], row["resource_type"]) == (
        "rejected",
        "create",
        "User",
    )
    assert row["reason"].startswith("400 invalidValue: ")
    assert "userName" in row["reason"]
    assert row["resource_id"] is None


def test_a_patch_with_an_invalid_path_is_rejected_and_names_the_user(
    okta: IdpScim, provisioning_log: ProvisioningLog
) -> None:
    user = okta.create_user("pat")["id"]
    response = okta.patch(
        f"/Users/{user}", [{"op": "replace", "path": "emails[type eq", "value": 1}]
    )
    assert_scim_error(response, 400, "invalidPath")
    row = provisioning_log.only(outcome="rejected")
    assert (row["operation"], row["resource_type"], row["resource_id"]) == ("patch", "User", user)
    assert row["reason"].startswith("400 invalidPath: ")


def test_a_duplicate_user_name_is_rejected_as_a_uniqueness_conflict(
    okta: IdpScim, provisioning_log: ProvisioningLog
) -> None:
    okta.create_user("dup@example.org")
    response = okta.post("/Users", {"schemas": [USER_SCHEMA], "userName": "DUP@example.org"})
    assert_scim_error(response, 409, "uniqueness")
    row = provisioning_log.only(outcome="rejected")
    assert row["reason"] == "409 uniqueness: userName 'DUP@example.org' is already taken"
    assert row["resource_name"] == "DUP@example.org"
    # The refused request stored nothing: the applied create is still the only other row.
    assert [r["outcome"] for r in provisioning_log.rows()] == ["rejected", "applied"]


def test_an_update_of_an_unknown_user_is_rejected_but_a_lookup_that_finds_nothing_is_not(
    okta: IdpScim, provisioning_log: ProvisioningLog
) -> None:
    missing = str(uuid.uuid4())
    assert okta.get(f"/Users/{missing}").status_code == 404
    response = okta.patch(
        f"/Users/{missing}", [{"op": "replace", "path": "active", "value": False}]
    )
    assert_scim_error(response, 404)
    row = provisioning_log.only()
    assert (row["outcome"], row["operation"], row["resource_id"]) == ("rejected", "patch", missing)
    assert row["reason"].startswith("404")


def test_an_invalid_filter_is_rejected(okta: IdpScim, provisioning_log: ProvisioningLog) -> None:
    response = okta.get("/Users", filter='userName eq "unterminated')
    assert_scim_error(response, 400, "invalidFilter")
    row = provisioning_log.only()
    assert (row["outcome"], row["operation"], row["resource_type"]) == ("rejected", "list", "User")
    assert row["reason"].startswith("400 invalidFilter: ")


def test_a_patch_that_changes_nothing_says_what_was_asked(
    okta: IdpScim, provisioning_log: ProvisioningLog
) -> None:
    user = okta.create_user("still@example.org", active=True)["id"]
    response = okta.patch(f"/Users/{user}", [{"op": "replace", "value": {"active": True}}])
    assert response.status_code == 200
    row = provisioning_log.only(outcome="no_change")
    assert (row["operation"], row["resource_id"]) == ("patch", user)
    assert row["resource_name"] == "still@example.org"
    assert row["reason"] == "PATCH User: replace (active)"


def test_a_put_of_a_group_as_stored_changes_nothing(
    okta: IdpScim, provisioning_log: ProvisioningLog
) -> None:
    group = okta.create_group("Engineers")["id"]
    again = okta.put(f"/Groups/{group}", {"schemas": [GROUP_SCHEMA], "displayName": "Engineers"})
    assert again.status_code == 200
    row = provisioning_log.only(outcome="no_change")
    assert (row["operation"], row["resource_type"], row["resource_name"]) == (
        "replace",
        "Group",
        "Engineers",
    )
    assert row["reason"] == "PUT Group: replace with displayName"


def test_a_group_member_that_names_nothing_is_skipped_with_its_id_and_why(
    okta: IdpScim, provisioning_log: ProvisioningLog
) -> None:
    user = okta.create_user("member@example.org")["id"]
    group = okta.post("/Groups", body("okta_create_group")).json["id"]
    stale = str(uuid.uuid4())
    response = okta.request(
        "PATCH",
        f"/Groups/{group}",
        body("okta_patch_group_add_members", user_id=user, other_id=stale),
    )
    assert response.status_code == 200
    skipped = provisioning_log.only(outcome="member_skipped")
    assert (skipped["operation"], skipped["resource_id"]) == ("patch", group)
    assert skipped["resource_name"] == "Test SCIMv2"
    assert skipped["reason"] == (
        f"member {stale} skipped: the id names no user or group of this tenant"
    )
    # The known member of the same request was applied.
    applied = provisioning_log.rows(outcome="applied", operation="patch")
    assert [row["resource_id"] for row in applied] == [group]


def test_each_operation_of_a_bulk_request_is_its_own_row(
    okta: IdpScim, provisioning_log: ProvisioningLog
) -> None:
    response = okta.post(
        "/Bulk",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "one",
                    "data": {"schemas": [USER_SCHEMA], "userName": "bulk-one"},
                },
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "two",
                    "data": {"schemas": [USER_SCHEMA], "userName": "bulk-one"},
                },
            ],
        },
    )
    assert response.status_code == 200
    rows = provisioning_log.rows()
    assert [(row["outcome"], row["operation"]) for row in rows] == [
        ("rejected", "create"),
        ("applied", "create"),
    ]
    assert rows[0]["reason"] == "409 uniqueness: userName 'bulk-one' is already taken"
    assert rows[0]["resource_name"] == "bulk-one"


def _every_audit_value(runtime: Runtime, tenant_id: str) -> str:
    with runtime.unit_of_work() as uow:
        rows = uow.session.execute(
            select(AuditEvent.__table__).where(AuditEvent.tenant_id == tenant_id)
        ).all()
    return "\n".join(repr(tuple(row)) for row in rows)


def test_no_token_or_password_is_kept_in_any_row(
    okta: IdpScim, tenant: TenantKeys, runtime: Runtime, provisioning_log: ProvisioningLog
) -> None:
    created = okta.post("/Users", body("okta_create_user"))
    user = created.json["id"]
    okta.request("PATCH", f"/Users/{user}", body("okta_patch_user_password"))
    refused = okta.post("/Users", {"schemas": [USER_SCHEMA], "password": "s3cret-Refused!"})
    assert_scim_error(refused, 400)
    wrong = okta.patch(f"/Users/{user}", [{"op": "bogus", "path": "password", "value": "x-9Zq!"}])
    assert wrong.status_code == 400
    assert provisioning_log.total(outcome="rejected") == 2
    kept = _every_audit_value(runtime, tenant.id)
    for secret in (
        tenant.scim,
        tenant.admin,
        "1mz050nq",
        "newPassw0rd!",
        "s3cret-Refused!",
        "x-9Zq!",
    ):
        assert secret not in kept


def test_a_rejection_that_cannot_be_recorded_still_answers_the_idp(
    okta: IdpScim, provisioning_log: ProvisioningLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(provisioning_log_service, "record_rejected", broken)
    response = okta.post("/Users", {"schemas": [USER_SCHEMA]})
    assert_scim_error(response, 400, "invalidValue")
    assert provisioning_log.rows() == []


def test_admin_changes_are_not_in_the_provisioning_log(
    okta: IdpScim, client: Any, tenant: TenantKeys, provisioning_log: ProvisioningLog
) -> None:
    issued = client.post(
        "/api/v1/tokens", headers=tenant.auth("admin"), json={"kind": "read", "description": "app"}
    )
    assert issued.status_code == 201
    okta.create_user("only-scim")
    assert [row["resource_name"] for row in provisioning_log.rows()] == ["only-scim"]
