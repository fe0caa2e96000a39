"""The shipped catalogs load, and loading one into a tenant is planned idempotently."""

from __future__ import annotations

import json

import pytest

from service import catalogs
from service.domain import (
    Catalog,
    Conflict,
    NotFound,
    PermissionArea,
    Role,
    ValidationFailed,
    plan_catalog_load,
)


def test_four_catalogs_ship_with_the_package():
    assert catalogs.available() == (
        "data-platform",
        "licensing-portal",
        "reporting",
        "usage-analytics",
    )


@pytest.mark.parametrize("key", catalogs.available())
def test_every_catalog_is_valid_and_round_trips(key: str):
    catalog = catalogs.load(key)

    assert catalog.key == key
    assert Catalog.from_dict(json.loads(json.dumps(catalog.to_dict()))) == catalog
    for role in catalog.roles:
        role.validate(catalog.areas_by_key)


def test_an_unknown_catalog_is_not_found():
    with pytest.raises(NotFound) as err:
        catalogs.load("nope")

    assert err.value.field == "catalog"


def test_loading_into_an_empty_tenant_creates_everything(reporting: Catalog):
    plan = plan_catalog_load(reporting, {}, {})

    assert [a.key for a in plan.create_areas] == ["view", "edit", "share", "manage", "admin"]
    assert [r.key for r in plan.create_roles] == ["view", "edit", "share", "manage", "admin"]
    assert plan.set_default_role == "view"
    assert plan.changes_anything


def test_loading_twice_changes_nothing_the_second_time(reporting: Catalog):
    first = plan_catalog_load(reporting, {}, {})
    areas = {a.key: a for a in first.create_areas}
    roles = {r.key: r for r in first.create_roles}

    second = plan_catalog_load(reporting, areas, roles, default_role=first.set_default_role)

    assert not second.changes_anything
    assert set(second.unchanged_roles) == set(roles)


def test_a_role_the_tenant_edited_is_kept_unless_the_load_overwrites(reporting: Catalog):
    edited = Role("view", "View (ours)", {"view": "granted"}, frozenset({"folder"}), True)
    areas = dict(reporting.areas_by_key)

    kept = plan_catalog_load(reporting, areas, {"view": edited})
    restored = plan_catalog_load(reporting, areas, {"view": edited}, overwrite=True)

    assert kept.kept_roles == ("view",)
    assert [r.key for r in restored.update_roles] == ["view"]


def test_an_overwrite_that_would_break_a_tenant_role_is_refused(usage_analytics: Catalog):
    # The tenant widened billing with a level of its own and a role that uses it.
    ours = PermissionArea("billing", "Billing", ("read_only", "full", "approve"))
    approver = Role("approver", "Approver", {"billing": "approve"})

    with pytest.raises(Conflict) as err:
        plan_catalog_load(
            usage_analytics, {"billing": ours}, {"approver": approver}, overwrite=True
        )

    assert (err.value.code, err.value.field) == ("catalog_conflict", "roles.approver")


def test_a_catalog_declares_the_scope_types_it_needs_once(usage_analytics: Catalog):
    first = plan_catalog_load(usage_analytics, {}, {})
    second = plan_catalog_load(usage_analytics, {}, {}, declared_scope_types=["product"])

    assert first.declare_scope_types == ("product",)
    assert second.declare_scope_types == ()


def test_the_tenant_default_role_is_not_replaced(reporting: Catalog):
    plan = plan_catalog_load(reporting, {}, {}, default_role="our_default")

    assert plan.set_default_role is None


def test_a_catalog_whose_role_grants_an_unknown_area_is_refused():
    with pytest.raises(ValidationFailed) as err:
        Catalog.from_dict(
            {
                "key": "broken",
                "name": "Broken",
                "areas": [],
                "roles": [{"key": "r", "name": "R", "grants": {"ghost": "granted"}}],
            }
        )

    assert err.value.field == "roles.r.grants.ghost"


def test_the_plan_reads_as_json_for_the_api(reporting: Catalog):
    data = plan_catalog_load(reporting, {}, {}).to_dict()

    assert data["roles"]["create"] == ["view", "edit", "share", "manage", "admin"]
    assert json.loads(json.dumps(data)) == data
