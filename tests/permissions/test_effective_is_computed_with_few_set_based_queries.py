"""service.services.effective and .affected: the functions the cache, the read API and
the fan-out after a change call."""

from __future__ import annotations

import gc
from dataclasses import replace

import pytest

from service.domain import GroupRef, GroupRefKind, NotFound, Scope, ScopeTree
from service.runtime import Runtime
from service.services import affected, effective
from service.services.permission_model import (
    FREEZE_FROM_SCOPES,
    ModelCache,
    load_model,
    model_cache,
)
from tests.conftest import TenantKeys, counted
from tests.permissions.conftest import Admin, Directory


@pytest.fixture
def world(admin: Admin, directory: Directory) -> dict[str, str]:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    folder = admin.scope("folder", "F", org)
    users = {f"u{i}": directory.user(f"u{i}@example.com", external_id=f"ext-{i}") for i in range(6)}
    team = directory.group("Team", users=[users["u0"], users["u1"]])
    dept = directory.group("Dept", groups=[team], users=[users["u2"]])
    directory.group("Loop", groups=[dept])  # Dept is in Loop, Loop in Dept: a cycle
    directory.add(dept, directory.group("Loop2", groups=[dept]), "Group")
    directory.group("Other", users=[users["u3"]])
    admin.map("Dept", "edit", folder)
    admin.map("Other", "share", org)
    admin.assign("u4@example.com", "manage", org)
    return {"org": org, "folder": folder, "team": team, "dept": dept, **users}


def test_one_user_costs_four_queries_with_the_model_loaded(
    runtime: Runtime, tenant: TenantKeys, world: dict[str, str]
) -> None:
    with runtime.unit_of_work() as uow:
        session = uow.session
        model = load_model(session, tenant.id)
        with counted(runtime) as statements:
            result = effective.compute_user_permissions(session, tenant.id, world["u0"], model)

    assert len(statements) == 4
    assert result.active and result.exists
    assert result.model_version == model.version
    assert result.permissions.level_at(world["folder"], "reporting/edit", model.tree) == "granted"
    assert {g.display_name for g in result.groups.values()} >= {"Team", "Dept"}


def test_a_batch_costs_the_same_four_queries_and_agrees_with_one_at_a_time(
    runtime: Runtime, tenant: TenantKeys, world: dict[str, str]
) -> None:
    ids = [world[f"u{i}"] for i in range(6)] + ["no-such-user"]
    with runtime.unit_of_work() as uow:
        session = uow.session
        model = load_model(session, tenant.id)
        with counted(runtime) as statements:
            many = effective.compute_many(session, tenant.id, ids, model)
        one_by_one = {
            uid: effective.compute_user_permissions(session, tenant.id, uid, model) for uid in ids
        }

    assert len(statements) == 4
    assert set(many) == set(ids)
    for uid in ids:
        assert many[uid].permissions.to_dict() == one_by_one[uid].permissions.to_dict()
    assert many["no-such-user"].exists is False and not many["no-such-user"].permissions
    assert not many[world["u5"]].permissions


def test_the_model_is_reused_until_its_version_changes(
    runtime: Runtime, admin: Admin, tenant: TenantKeys, world: dict[str, str]
) -> None:
    model_cache.clear()
    with runtime.unit_of_work() as uow:
        session = uow.session
        first = load_model(session, tenant.id)
        again = load_model(session, tenant.id)
    admin.scope("folder", "New", world["org"])
    with runtime.unit_of_work() as uow:
        session = uow.session
        after = load_model(session, tenant.id)

    assert again is first
    assert after.version == first.version + 1
    assert len(after.tree) == len(first.tree) + 1


def test_a_large_model_is_frozen_out_of_the_collector_and_a_small_one_is_not(
    runtime: Runtime, tenant: TenantKeys
) -> None:
    """A cached model of thousands of scopes stays out of every full collection; the
    small models of most tenants are left to the collector as they are."""
    with runtime.unit_of_work() as uow:
        model = load_model(uow.session, tenant.id, use_cache=False)
    cache = ModelCache()
    gc.unfreeze()
    try:
        cache.put(model)
        assert gc.get_freeze_count() == 0
        big = replace(
            model,
            version=model.version + 1,
            tree=ScopeTree(
                [Scope("root", "organization", "Root")]
                + [Scope(f"f{i}", "folder", f"F{i}", "root") for i in range(FREEZE_FROM_SCOPES)],
                ("organization", "folder"),
            ),
        )
        cache.put(big)
        assert gc.get_freeze_count() > 0
        # The collector's generations no longer hold it (frozen objects are in none).
        assert not any(o is big.tree for o in gc.get_objects())
        assert cache.get(tenant.id, big.version) is big
    finally:
        gc.unfreeze()


def test_users_affected_by_a_group_include_nested_members_and_survive_cycles(
    runtime: Runtime, tenant: TenantKeys, world: dict[str, str]
) -> None:
    with runtime.unit_of_work() as uow:
        session = uow.session
        by_dept = affected.users_affected_by_group(session, tenant.id, world["dept"])
        by_team = affected.users_affected_by_group(session, tenant.id, world["team"])

    assert by_dept == {world["u0"], world["u1"], world["u2"]}
    assert by_team == {world["u0"], world["u1"]}


def test_users_affected_by_mappings_roles_and_scopes(
    runtime: Runtime, tenant: TenantKeys, world: dict[str, str]
) -> None:
    with runtime.unit_of_work() as uow:
        session = uow.session
        mapping = affected.users_affected_by_mapping(
            session, tenant.id, GroupRef(GroupRefKind.DISPLAY_NAME, "other")
        )
        edit = affected.users_affected_by_role(session, tenant.id, "reporting/edit")
        manage = affected.users_affected_by_role(session, tenant.id, "reporting/manage")
        default = affected.users_affected_by_role(session, tenant.id, "reporting/view")
        folder = affected.users_affected_by_scope(session, tenant.id, world["folder"])
        org = affected.users_affected_by_scope(session, tenant.id, world["org"])

    in_dept = {world["u0"], world["u1"], world["u2"]}
    assert mapping == {world["u3"]}
    assert edit == in_dept
    assert manage == {world["u4"]}
    assert default == in_dept | {world["u3"], world["u4"]}
    assert folder == in_dept
    assert org == in_dept | {world["u3"], world["u4"]}


def test_a_user_is_found_by_id_user_name_in_any_case_or_external_id(
    runtime: Runtime, tenant: TenantKeys, world: dict[str, str]
) -> None:
    with runtime.unit_of_work() as uow:
        session = uow.session
        found = {
            effective.resolve_user_ref(session, tenant.id, ref)
            for ref in (world["u1"], "U1@Example.COM", "ext-1")
        }
        with pytest.raises(NotFound):
            effective.resolve_user_ref(session, tenant.id, "nobody")

    assert found == {world["u1"]}
