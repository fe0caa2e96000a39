"""Keycloak-style clients replace a group with its whole member list."""

from __future__ import annotations

from sqlalchemy import select

from service.persistence.models import AuditEvent
from service.runtime import Runtime
from tests.idp.conftest import body
from tests.scim.conftest import Scim


def test_a_put_of_the_full_member_list_is_applied_as_a_set_difference(
    scim: Scim, runtime: Runtime
) -> None:
    kept, dropped, added = (scim.create_user(n)["id"] for n in ("kept", "dropped", "added"))
    group = scim.create_group("realm-admins", [kept, dropped])
    response = scim.put(
        f"/Groups/{group['id']}",
        body("keycloak_put_group", group_id=group["id"], kept_id=kept, added_id=added),
    )
    assert response.status_code == 200
    assert sorted(m["value"] for m in response.json["members"]) == sorted([kept, added])
    with runtime.unit_of_work() as uow:
        session = uow.session
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "scim.group.update")
        ).one()
    assert event.after["members_added"] == [added]
    assert event.after["members_removed"] == [dropped]


def test_the_same_put_twice_changes_nothing_the_second_time(scim: Scim) -> None:
    kept, added = (scim.create_user(n)["id"] for n in ("kept", "added"))
    group = scim.create_group("realm-admins", [kept])
    put = body("keycloak_put_group", group_id=group["id"], kept_id=kept, added_id=added)
    first = scim.put(f"/Groups/{group['id']}", put).json
    second = scim.put(f"/Groups/{group['id']}", put).json
    assert first["meta"]["version"] == second["meta"]["version"]
