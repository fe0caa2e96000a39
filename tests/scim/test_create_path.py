"""Creating a user is one INSERT that the unique indexes judge: a clash is a 409 naming
the attribute, and it leaves the transaction usable for what follows."""

from __future__ import annotations

import pytest
from scim2_models import UniquenessException, User
from sqlalchemy import func, select

from service.persistence.models import AuditEvent
from service.persistence.outbox import OutboxRecord
from service.persistence.scim_models import ScimUser
from service.runtime import Runtime
from service.services import propagation, scim_users
from tests.conftest import TenantKeys
from tests.scim.conftest import USER_SCHEMA, Scim, assert_scim_error


@pytest.mark.parametrize(
    ("second", "attribute"),
    [
        ({"userName": "ALICE", "externalId": "other"}, "userName"),
        ({"userName": "bob", "externalId": "a-1"}, "externalId"),
    ],
)
def test_a_clash_names_the_taken_attribute_and_the_transaction_goes_on(
    runtime: Runtime, tenant: TenantKeys, second: dict[str, str], attribute: str
) -> None:
    with runtime.unit_of_work() as uow:
        scim_users.create_user(uow, tenant.id, "test", User(user_name="alice", external_id="a-1"))
        with pytest.raises(UniquenessException) as raised:
            scim_users.create_user(
                uow,
                tenant.id,
                "test",
                User(user_name=second["userName"], external_id=second["externalId"]),
            )
        assert raised.value.to_error().scim_type == "uniqueness"
        assert attribute in str(raised.value.to_error().detail)
        scim_users.create_user(uow, tenant.id, "test", User(user_name="carol"))
    with runtime.unit_of_work() as uow:
        session = uow.session
        names = session.scalars(
            select(ScimUser.user_name).where(ScimUser.tenant_id == tenant.id).order_by("user_name")
        ).all()
    assert names == ["alice", "carol"]


def test_a_created_user_is_tracked_by_the_session_without_a_second_insert(
    runtime: Runtime, tenant: TenantKeys
) -> None:
    with runtime.unit_of_work() as uow:
        session = uow.session
        row = scim_users.create_user(uow, tenant.id, "test", User(user_name="dave"))
        assert row in session
        row.display_name = "Dave"
        session.flush()
        assert session.get(ScimUser, row.id) is row
    with runtime.unit_of_work() as uow:
        session = uow.session
        count = session.scalar(
            select(func.count()).select_from(ScimUser).where(ScimUser.tenant_id == tenant.id)
        )
        assert count == 1
        assert session.get(ScimUser, row.id).display_name == "Dave"  # type: ignore[union-attr]


def test_a_duplicate_in_a_bulk_request_fails_alone(scim: Scim) -> None:
    scim.create_user("taken")
    response = scim.post(
        "/Bulk",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "a",
                    "data": {"schemas": [USER_SCHEMA], "userName": "TAKEN"},
                },
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "b",
                    "data": {"schemas": [USER_SCHEMA], "userName": "fresh"},
                },
            ],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    statuses = [operation["status"] for operation in response.json["Operations"]]
    assert statuses == ["409", "201"]
    assert scim.get("/Users", filter='userName eq "fresh"').json["totalResults"] == 1
    assert_scim_error(scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "Fresh"}), 409)


def test_a_create_writes_the_user_its_audit_event_and_one_outbox_row_together(
    scim: Scim, runtime: Runtime, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in production: the request only writes; `rolecall relay` sends the row later.
    monkeypatch.setattr(
        runtime, "settings", runtime.settings.with_overrides(outbox_relay="process")
    )
    created = scim.create_user("erin", externalId="e-1")
    duplicate = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "ERIN"})
    assert_scim_error(duplicate, 409, "uniqueness")

    with runtime.unit_of_work() as uow:
        session = uow.session
        events = session.execute(
            select(AuditEvent.action, AuditEvent.target_id, AuditEvent.after).where(
                AuditEvent.tenant_id == tenant.id, AuditEvent.target_type == "scim_user"
            )
        ).all()
        work = session.execute(
            select(OutboxRecord.task, OutboxRecord.object_id, OutboxRecord.payload).where(
                OutboxRecord.tenant_id == tenant.id
            )
        ).all()
    summary = {"userName": "erin", "externalId": "e-1", "active": True, "userType": None}
    assert events == [("scim.user.create", created["id"], summary)]
    [(task, object_id, payload)] = work
    assert (task, object_id) == (propagation.USERS_CREATED, created["id"])
    assert payload["actor"].startswith("token:")  # who created the user, for an invitation


def test_a_created_user_gets_its_first_permission_set_from_the_worker(
    scim: Scim, runtime: Runtime, tenant: TenantKeys
) -> None:
    created = scim.create_user("frank")
    # Tasks run in-process here: by the time the 201 arrives the set is in the cache.
    body = runtime.cache.body_of(tenant.id, created["id"])
    assert body is not None and body["user_id"] == created["id"]
