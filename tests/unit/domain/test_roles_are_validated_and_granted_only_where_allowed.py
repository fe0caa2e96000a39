"""Roles: validated against the area catalog, grantable only at allowed scopes."""

from __future__ import annotations

import pytest

from service.domain import (
    AccountType,
    PermissionArea,
    Role,
    Scope,
    ScopeTree,
    ValidationFailed,
    check_grantable,
)

AREAS = {
    "reports": PermissionArea("reports", "Reports", ("view", "edit")),
    "share": PermissionArea("share", "Share"),
}


def test_a_role_granting_a_level_its_area_lacks_is_refused_naming_the_grant():
    role = Role("editor", "Editor", {"reports": "delete"})

    with pytest.raises(ValidationFailed) as err:
        role.validate(AREAS)

    assert (err.value.code, err.value.field) == ("unknown_level", "grants.reports")


def test_a_role_granting_an_unknown_area_is_refused():
    with pytest.raises(ValidationFailed) as err:
        Role("x", "X", {"billing": "granted"}).validate(AREAS)

    assert (err.value.code, err.value.field) == ("unknown_area", "grants.billing")


def test_a_role_allowed_only_at_unknown_scope_types_is_refused():
    role = Role("x", "X", {"share": "granted"}, frozenset({"galaxy"}))

    with pytest.raises(ValidationFailed) as err:
        role.validate(AREAS, scope_types={"organization", "folder"})

    assert err.value.field == "allowed_scope_types"


def test_a_role_is_grantable_only_at_its_scope_types():
    role = Role("folder_editor", "Folder editor", {"reports": "edit"}, frozenset({"folder"}))
    tree = ScopeTree([Scope("org", "organization", "Org"), Scope("f", "folder", "F", "org")])

    assert role.can_be_granted_at("folder")
    assert not role.can_be_granted_at("organization")
    assert check_grantable(role, "f", tree).id == "f"
    with pytest.raises(ValidationFailed) as err:
        check_grantable(role, "org", tree)
    assert (err.value.code, err.value.field) == ("scope_type_not_allowed", "scope_id")


def test_a_role_without_scope_types_may_be_granted_anywhere():
    assert Role("any", "Any").can_be_granted_at("report")


def test_account_types_narrow_where_a_role_may_be_granted():
    role = Role(
        "producer_admin",
        "Producer admin",
        allowed_scope_types=frozenset({"account"}),
        allowed_account_types=frozenset({AccountType.PRODUCER}),
    )

    assert role.can_be_granted_at("account", AccountType.PRODUCER)
    assert not role.can_be_granted_at("account", AccountType.CUSTOMER)


def test_a_role_does_not_reach_descendants_unless_it_says_so():
    assert Role("r", "R").reaches_descendants is False


def test_a_role_cannot_be_changed_through_the_mapping_it_was_built_from():
    grants = {"reports": "view"}
    role = Role("viewer", "Viewer", grants)
    grants["reports"] = "edit"

    assert role.grants["reports"] == "view"
    with pytest.raises(TypeError):
        role.grants["reports"] = "edit"  # type: ignore[index]


def test_a_role_survives_a_round_trip_through_a_dict():
    role = Role(
        "viewer",
        "Viewer",
        {"reports": "view"},
        frozenset({"folder", "report"}),
        True,
        "Sees reports",
        frozenset({AccountType.CUSTOMER}),
    )

    assert Role.from_dict(role.to_dict()) == role
