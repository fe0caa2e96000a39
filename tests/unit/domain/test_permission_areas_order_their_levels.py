"""Permission areas: ordered levels, where a level implies every lower one."""

from __future__ import annotations

import pytest

from service.domain import GRANTED, PermissionArea, ValidationFailed


@pytest.fixture
def licenses() -> PermissionArea:
    return PermissionArea("licenses", "Licenses", ("view", "manage", "delete"))


def test_a_level_implies_every_lower_level_and_none_higher(licenses: PermissionArea):
    assert [licenses.implies("manage", lv) for lv in licenses.levels] == [True, True, False]
    assert licenses.rank("view") < licenses.rank("delete")
    assert licenses.highest == "delete"


def test_an_on_off_permission_is_an_area_with_the_single_level_granted():
    area = PermissionArea("share", "Share")

    assert area.levels == (GRANTED,)
    assert area.is_on_off
    assert area.implies(GRANTED, GRANTED)


def test_an_unknown_level_is_refused_naming_the_field(licenses: PermissionArea):
    with pytest.raises(ValidationFailed) as err:
        licenses.rank("admin", "grants.licenses")

    assert (err.value.code, err.value.field, err.value.status) == (
        "unknown_level",
        "grants.licenses",
        422,
    )


def test_the_higher_of_two_levels_treats_no_grant_as_lowest(licenses: PermissionArea):
    assert licenses.higher("view", "manage") == "manage"
    assert licenses.higher(None, "view") == "view"
    assert licenses.higher(None, None) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": "Bad Key", "name": "n"}, "key"),
        ({"key": "k", "name": ""}, "name"),
        ({"key": "k", "name": "n", "levels": ()}, "levels"),
        ({"key": "k", "name": "n", "levels": ("a", "a")}, "levels"),
    ],
)
def test_malformed_areas_are_refused(kwargs: dict, field: str):
    with pytest.raises(ValidationFailed) as err:
        PermissionArea(**kwargs)

    assert err.value.field == field


def test_an_area_survives_a_round_trip_through_a_dict(licenses: PermissionArea):
    assert PermissionArea.from_dict(licenses.to_dict()) == licenses
