"""The SCIM user use cases on a fake unit of work: an unmapped userType is "never
dropped silently" (issue 16): one audit warning per user and value, none for a value
the tenant's table maps, and none left behind by a deleted user."""

from __future__ import annotations

from scim2_models import User

from service.services import scim_users
from service.services.user_types import UNMAPPED
from tests.fakes.unit_of_work import FakeUnitOfWork

TENANT = "tenant-1"
ACTOR = "token:scim"


def _warnings(uow: FakeUnitOfWork) -> list[tuple[str, str]]:
    return [(e.target_id, e.after["userType"]) for e in uow.audit.events if e.action == UNMAPPED]


def test_a_user_created_with_an_unmapped_type_is_warned_about_once() -> None:
    uow = FakeUnitOfWork()

    user = scim_users.create_user(uow, TENANT, ACTOR, User(user_name="eve", user_type="Employee"))
    scim_users.replace_user(
        uow, TENANT, ACTOR, User(id=user.id, user_name="eve", user_type="Employee", title="Dr")
    )

    assert _warnings(uow) == [(user.id, "Employee")]
    assert uow.audit.actions() == ["scim.user.create", UNMAPPED, "scim.user.update"]


def test_a_value_the_tenants_table_maps_is_no_warning_in_that_tenant_alone() -> None:
    uow = FakeUnitOfWork()
    uow.user_types.set_entries(TENANT, {"Member": "customer"})

    scim_users.create_user(uow, TENANT, ACTOR, User(user_name="m", user_type="Member"))
    other = scim_users.create_user(uow, "tenant-2", ACTOR, User(user_name="m", user_type="Member"))

    assert _warnings(uow) == [(other.id, "Member")]


def test_a_deleted_users_warnings_go_with_it() -> None:
    uow = FakeUnitOfWork()
    user = scim_users.create_user(uow, TENANT, ACTOR, User(user_name="eve", user_type="Employee"))

    scim_users.delete_user(uow, TENANT, ACTOR, user.id)

    assert uow.user_types.warned == set()
