"""The SCIM change use cases on a fake unit of work: what each change records (outbox
rows, effects, audit events), with no Flask and no database."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import (
    Group,
    GroupMember,
    InvalidValueException,
    PreconditionFailedException,
    UniquenessException,
    User,
)

from service.services import propagation, scim_groups, scim_users
from tests.fakes.unit_of_work import FakeUnitOfWork

TENANT = "tenant-1"
ACTOR = "token:scim"


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _user(uow: FakeUnitOfWork, name: str, **attributes: Any) -> str:
    return scim_users.create_user(uow, TENANT, ACTOR, User(user_name=name, **attributes)).id


def _group(uow: FakeUnitOfWork, name: str, *members: str, external_id: str | None = None) -> str:
    resource = Group(
        display_name=name,
        external_id=external_id,
        members=[GroupMember(value=member) for member in members] or None,
    )
    return scim_groups.create_group(uow, TENANT, ACTOR, resource).id


def _forget(uow: FakeUnitOfWork) -> None:
    """Start looking at what the next change records."""
    uow.emitted.clear()
    uow.effects.clear()
    uow.audit.events.clear()


def _recomputed_users(uow: FakeUnitOfWork) -> set[str]:
    return {
        user
        for row in uow.emitted
        if row.task == propagation.RECOMPUTE_USERS
        for user in row.payload["user_ids"]
    }


# -- users -----------------------------------------------------------------------


def test_a_create_records_the_new_users_work_and_its_audit_event(uow: FakeUnitOfWork) -> None:
    user_id = _user(uow, "alice", external_id="a-1")

    assert uow.tasks() == [propagation.USERS_CREATED]
    assert uow.emitted[0].object_id == user_id
    assert uow.emitted[0].payload == {"actor": ACTOR}
    assert uow.audit.actions() == ["scim.user.create"]
    assert uow.audit.events[0].after == {
        "userName": "alice",
        "externalId": "a-1",
        "active": True,
        "userType": None,
    }
    assert uow.effects == []
    assert uow.commits == 1


@pytest.mark.parametrize(
    ("user_name", "external_id", "attribute"),
    [("ALICE", "other", "userName"), ("bob", "a-1", "externalId")],
)
def test_a_clash_on_a_unique_value_raises_naming_the_attribute_and_records_nothing(
    uow: FakeUnitOfWork, user_name: str, external_id: str, attribute: str
) -> None:
    _user(uow, "alice", external_id="a-1")
    _forget(uow)

    with pytest.raises(UniquenessException) as raised:
        _user(uow, user_name, external_id=external_id)

    assert raised.value.to_error().scim_type == "uniqueness"
    assert attribute in str(raised.value.to_error().detail)
    assert uow.emitted == [] and uow.effects == [] and uow.audit.events == []
    assert [user.user_name for user in uow.users.all(TENANT)] == ["alice"]  # type: ignore[attr-defined]
    assert uow.rollbacks == 1


def test_the_same_user_name_is_free_in_another_tenant(uow: FakeUnitOfWork) -> None:
    _user(uow, "alice")
    scim_users.create_user(uow, "tenant-2", ACTOR, User(user_name="Alice"))

    assert uow.tasks() == [propagation.USERS_CREATED, propagation.USERS_CREATED]


def test_a_deactivation_records_the_deprovisioning_effect_and_its_audit_event(
    uow: FakeUnitOfWork,
) -> None:
    user_id = _user(uow, "alice")
    _forget(uow)

    row = scim_users.replace_user(
        uow, TENANT, ACTOR, User(id=user_id, user_name="alice", active=False)
    )

    assert row.active is False and row.version == 2
    assert uow.effect_tasks() == [propagation.DEPROVISION]
    assert uow.effects[0].object_id == user_id
    assert uow.tasks() == []  # no recompute: the effect empties the set
    assert uow.audit.actions() == ["scim.user.deactivate"]
    event = uow.audit.events[0]
    assert (event.before or {})["active"] is True and (event.after or {})["active"] is False


def test_a_retried_deactivation_of_an_inactive_user_records_the_effect_again(
    uow: FakeUnitOfWork,
) -> None:
    user_id = _user(uow, "alice")
    deactivated = User(id=user_id, user_name="alice", active=False)
    scim_users.replace_user(uow, TENANT, ACTOR, deactivated)
    _forget(uow)

    scim_users.replace_user(uow, TENANT, ACTOR, deactivated)
    scim_users.user_unchanged(uow, TENANT, "idp", user_id)

    assert uow.effect_tasks() == [propagation.DEPROVISION, propagation.DEPROVISION]
    assert uow.audit.events == []  # nothing changed, so nothing to audit
    assert uow.users.get(TENANT, user_id).version == 2  # type: ignore[union-attr]


def test_a_change_that_keeps_the_user_active_records_a_recompute_not_an_effect(
    uow: FakeUnitOfWork,
) -> None:
    user_id = _user(uow, "alice")
    _forget(uow)

    scim_users.replace_user(
        uow, TENANT, ACTOR, User(id=user_id, user_name="alice", display_name="Alice")
    )

    assert uow.tasks() == [propagation.RECOMPUTE_USER]
    assert uow.emitted[0].object_id == user_id
    assert uow.effects == []
    assert uow.audit.actions() == ["scim.user.update"]


def test_an_unchanged_active_user_records_nothing(uow: FakeUnitOfWork) -> None:
    user_id = _user(uow, "alice")
    _forget(uow)

    scim_users.replace_user(uow, TENANT, ACTOR, User(id=user_id, user_name="alice"))
    scim_users.user_unchanged(uow, TENANT, "idp", user_id)

    assert uow.emitted == [] and uow.effects == [] and uow.audit.events == []


def test_a_replace_onto_another_users_name_raises_and_leaves_the_user_as_it_was(
    uow: FakeUnitOfWork,
) -> None:
    _user(uow, "alice")
    bob = _user(uow, "bob")
    _forget(uow)

    with pytest.raises(UniquenessException):
        scim_users.replace_user(uow, TENANT, ACTOR, User(id=bob, user_name="Alice", active=False))

    assert uow.users.get(TENANT, bob).user_name == "bob"  # type: ignore[union-attr]
    assert uow.emitted == [] and uow.effects == []


def test_a_replace_with_an_outdated_version_raises(uow: FakeUnitOfWork) -> None:
    user_id = _user(uow, "alice")

    with pytest.raises(PreconditionFailedException):
        scim_users.replace_user(
            uow, TENANT, ACTOR, User(id=user_id, user_name="alice", active=False), 'W/"7"'
        )


def test_deleting_a_user_records_the_effect_and_removes_its_memberships(
    uow: FakeUnitOfWork,
) -> None:
    alice, bob = _user(uow, "alice"), _user(uow, "bob")
    group = _group(uow, "G", alice, bob)
    _forget(uow)

    scim_users.delete_user(uow, TENANT, ACTOR, alice)

    assert uow.effect_tasks() == [propagation.DEPROVISION]
    assert uow.effects[0].object_id == alice
    assert uow.audit.actions() == ["scim.user.delete"]
    assert uow.users.get(TENANT, alice) is None
    assert set(uow.groups.members(group)) == {bob}


# -- groups ----------------------------------------------------------------------


def test_a_group_created_with_members_records_its_recompute(uow: FakeUnitOfWork) -> None:
    alice = _user(uow, "alice")
    _forget(uow)

    group = _group(uow, "G", alice)

    assert uow.tasks() == [propagation.RECOMPUTE_GROUP]
    assert uow.emitted[0].object_id == group
    assert uow.audit.actions() == ["scim.group.create"]
    assert (uow.audit.events[0].after or {})["members_added"] == [alice]


def test_a_member_that_names_nothing_of_the_tenant_is_skipped_and_recorded(
    uow: FakeUnitOfWork,
) -> None:
    alice = _user(uow, "alice")
    elsewhere = scim_users.create_user(uow, "tenant-2", ACTOR, User(user_name="x")).id
    group = _group(uow, "G")
    _forget(uow)

    result = scim_groups.change_members(
        uow, TENANT, ACTOR, group, {"no-such-id": None, elsewhere: None, alice: None}
    )

    assert result.changed and result.skipped == ["no-such-id", elsewhere]
    assert uow.groups.members(group) == {alice: None}
    assert uow.audit.actions() == [scim_groups.MEMBER_SKIPPED] * 2 + ["scim.group.members"]
    assert [(e.after or {})["member"] for e in uow.audit.events[:2]] == ["no-such-id", elsewhere]


def test_a_group_is_refused_as_its_own_member_and_nothing_is_emitted(
    uow: FakeUnitOfWork,
) -> None:
    group = _group(uow, "G")
    _forget(uow)

    with pytest.raises(InvalidValueException):
        scim_groups.change_members(uow, TENANT, ACTOR, group, {group: None})

    assert uow.emitted == [] and uow.effects == [] and uow.audit.events == []
    assert uow.groups.members(group) == {}


def test_adding_a_member_records_a_recompute_of_the_group(uow: FakeUnitOfWork) -> None:
    alice = _user(uow, "alice")
    group = _group(uow, "G")
    _forget(uow)

    changed = scim_groups.change_members(uow, TENANT, ACTOR, group, {alice: "Alice"}).changed

    assert changed
    assert uow.tasks() == [propagation.RECOMPUTE_GROUP]
    assert uow.groups.members(group) == {alice: "Alice"}
    assert uow.groups.get(TENANT, group).version == 2  # type: ignore[union-attr]


def test_re_adding_a_member_or_removing_an_absent_one_changes_nothing(
    uow: FakeUnitOfWork,
) -> None:
    alice, bob = _user(uow, "alice"), _user(uow, "bob")
    group = _group(uow, "G", alice)
    _forget(uow)

    changed = scim_groups.change_members(uow, TENANT, ACTOR, group, {alice: None}, [bob]).changed

    assert not changed
    assert uow.emitted == [] and uow.audit.events == []


def test_removing_a_member_records_a_recompute_of_the_users_it_takes_along(
    uow: FakeUnitOfWork,
) -> None:
    alice, bob, carol = _user(uow, "alice"), _user(uow, "bob"), _user(uow, "carol")
    team = _group(uow, "team", bob)
    inner = _group(uow, "inner", carol)
    scim_groups.change_members(uow, TENANT, ACTOR, team, {inner: None})
    dept = _group(uow, "dept", alice, team)
    _forget(uow)

    scim_groups.change_members(uow, TENANT, ACTOR, dept, {}, [alice, team])

    # alice directly, bob through team, carol through team's nested group.
    assert uow.tasks() == [propagation.RECOMPUTE_USERS]
    assert _recomputed_users(uow) == {alice, bob, carol}
    assert uow.groups.members(dept) == {}
    assert uow.groups.members(team) == {bob: None, inner: None}
    assert (uow.audit.events[0].after or {})["members_removed"] == sorted([alice, team])


def test_a_replace_applies_the_member_list_as_a_set_difference(uow: FakeUnitOfWork) -> None:
    alice, bob, carol = _user(uow, "alice"), _user(uow, "bob"), _user(uow, "carol")
    group = _group(uow, "G", alice, bob)
    _forget(uow)

    resource = Group(
        id=group,
        display_name="G",
        members=[GroupMember(value=bob, display="Bob"), GroupMember(value=carol)],
    )
    scim_groups.replace_group(uow, TENANT, ACTOR, resource)

    assert uow.groups.members(group) == {bob: "Bob", carol: None}
    assert _recomputed_users(uow) == {alice}
    assert propagation.RECOMPUTE_GROUP in uow.tasks()
    after = uow.audit.events[0].after or {}
    assert after["members_added"] == [carol] and after["members_removed"] == [alice]


def test_a_replace_that_changes_nothing_records_nothing(uow: FakeUnitOfWork) -> None:
    alice = _user(uow, "alice")
    group = _group(uow, "G", alice)
    _forget(uow)

    resource = Group(id=group, display_name="G", members=[GroupMember(value=alice)])
    scim_groups.replace_group(uow, TENANT, ACTOR, resource)

    assert uow.emitted == [] and uow.audit.events == []


def test_a_group_external_id_is_unique_in_its_tenant(uow: FakeUnitOfWork) -> None:
    _group(uow, "G", external_id="g-1")
    _forget(uow)

    with pytest.raises(UniquenessException) as raised:
        _group(uow, "H", external_id="g-1")

    assert "externalId" in str(raised.value.to_error().detail)
    assert uow.emitted == [] and uow.audit.events == []


def test_deleting_a_group_recomputes_everyone_it_reached_and_drops_its_memberships(
    uow: FakeUnitOfWork,
) -> None:
    alice, bob = _user(uow, "alice"), _user(uow, "bob")
    team = _group(uow, "team", bob)
    dept = _group(uow, "dept", alice, team)
    _forget(uow)

    scim_groups.delete_group(uow, TENANT, ACTOR, team)

    assert _recomputed_users(uow) == {bob}
    assert uow.audit.actions() == ["scim.group.delete"]
    assert uow.groups.get(TENANT, team) is None
    assert uow.groups.members(dept) == {alice: None}


def test_a_raised_use_case_leaves_nothing_emitted(uow: FakeUnitOfWork) -> None:
    alice = _user(uow, "alice")
    group = _group(uow, "G", alice)
    _forget(uow)
    commits = uow.commits

    with pytest.raises(PreconditionFailedException):
        scim_groups.change_members(uow, TENANT, ACTOR, group, {}, [alice], 'W/"9"')
    with pytest.raises(PreconditionFailedException):
        scim_users.delete_user(uow, TENANT, ACTOR, alice, 'W/"9"')

    assert uow.emitted == [] and uow.effects == [] and uow.audit.events == []
    assert uow.commits == commits
    assert uow.users.get(TENANT, alice) is not None
    assert uow.groups.members(group) == {alice: None}


def test_an_outer_unit_that_raises_discards_what_the_use_case_recorded(
    uow: FakeUnitOfWork,
) -> None:
    alice = _user(uow, "alice")
    _forget(uow)
    commits = uow.commits

    with pytest.raises(RuntimeError), uow:
        scim_users.delete_user(uow, TENANT, ACTOR, alice)
        raise RuntimeError("the request failed after the use case")

    assert uow.emitted == [] and uow.effects == [] and uow.audit.events == []
    assert uow.commits == commits
