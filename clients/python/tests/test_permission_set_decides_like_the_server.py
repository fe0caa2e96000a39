"""The decision rules, on sets written as rolecall serves them (the module docstring of
rolecall_client.permission_set). tests/test_parity_with_the_server.py asks the real
server the same kind of questions; these name each rule on its own."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall_client.errors import InvalidSet
from rolecall_client.permission_set import PermissionSet

LEVELS = ["view", "manage", "delete"]


def a_set(scopes: dict[str, Any], fences: list[str] | None = None, **areas: Any) -> PermissionSet:
    body: dict[str, Any] = {
        "version": 7,
        "user_id": "u1",
        "areas": areas or {"portal/licenses": LEVELS},
        "scopes": scopes,
    }
    if fences is not None:
        body["fences"] = fences
    return PermissionSet(body)


ORG_CHAIN = ("org",)  # folder's ancestors: the organization
REPORT_CHAIN = ("folder", "org")


def test_a_grant_holds_at_its_scope_at_its_level_and_every_lower_one() -> None:
    held = a_set({"folder": {"portal/licenses": {"level": "manage", "inherits": False}}})
    assert held.allows("folder", "portal/licenses", "view", None, ORG_CHAIN)
    assert held.allows("folder", "portal/licenses", "manage", None, ORG_CHAIN)
    assert not held.allows("folder", "portal/licenses", "delete", None, ORG_CHAIN)


def test_a_grant_that_does_not_inherit_stops_at_its_scope() -> None:
    held = a_set({"folder": {"portal/licenses": {"level": "manage", "inherits": False}}})
    assert not held.allows("report", "portal/licenses", "view", None, REPORT_CHAIN)


def test_an_inheriting_grant_holds_below_at_its_inherited_level_when_one_is_given() -> None:
    held = a_set(
        {
            "org": {
                "portal/licenses": {"level": "delete", "inherits": True, "inherited_level": "view"}
            }
        }
    )
    assert held.allows("org", "portal/licenses", "delete", None, ())
    assert held.allows("report", "portal/licenses", "view", None, REPORT_CHAIN)
    assert not held.allows("report", "portal/licenses", "manage", None, REPORT_CHAIN)


def test_the_highest_level_wins_across_the_scope_and_its_ancestors() -> None:
    held = a_set(
        {
            "org": {"portal/licenses": {"level": "manage", "inherits": True}},
            "report": {"portal/licenses": {"level": "view", "inherits": False}},
        }
    )
    assert held.allows("report", "portal/licenses", "manage", None, REPORT_CHAIN)


def test_inherited_grants_stop_at_the_first_fence_walking_up() -> None:
    held = a_set(
        {
            "org": {"portal/licenses": {"level": "view", "inherits": True}},
            "boston": {"portal/licenses": {"level": "view", "inherits": True}},
        },
        fences=["na"],
    )
    # org > na > east > ma > boston: na is fenced, boston carries its own grant.
    assert held.allows("boston", "portal/licenses", "view", None, ("ma", "east", "na", "org"))
    assert not held.allows("ma", "portal/licenses", "view", None, ("east", "na", "org"))
    assert not held.allows("na", "portal/licenses", "view", None, ("org",))
    assert held.allows("special", "portal/licenses", "view", None, ("org",))


def test_a_fenced_scope_keeps_its_own_grant() -> None:
    held = a_set({"na": {"portal/licenses": {"level": "view", "inherits": False}}}, fences=["na"])
    assert held.allows("na", "portal/licenses", "view", None, ("org",))


def test_an_area_is_named_by_ref_by_key_with_product_or_by_a_key_held_once() -> None:
    held = a_set({"org": {"portal/licenses": {"level": "view", "inherits": True}}})
    assert held.allows("org", "portal/licenses", "view", None, ())
    assert held.allows("org", "licenses", "view", "portal", ())
    assert held.allows("org", "licenses", "view", None, ())
    assert not held.allows("org", "licenses", "view", "other", ())


def test_a_key_held_in_two_products_is_ambiguous_and_denied() -> None:
    held = a_set(
        {"org": {"a/edit": {"level": "granted"}, "b/edit": {"level": "granted"}}},
        **{"a/edit": ["granted"], "b/edit": ["granted"]},
    )
    assert not held.allows("org", "edit", "granted", None, ())
    assert held.allows("org", "edit", "granted", "a", ())
    assert held.allows("org", "b/edit", "granted", None, ())


def test_an_unknown_area_or_a_level_the_area_lacks_is_denied() -> None:
    held = a_set({"org": {"portal/licenses": {"level": "delete", "inherits": True}}})
    assert not held.allows("org", "portal/reports", "view", None, ())
    assert not held.allows("org", "portal/licenses", "own", None, ())


def test_a_set_in_another_shape_is_refused_when_it_arrives() -> None:
    with pytest.raises(InvalidSet):
        PermissionSet({"version": 1, "areas": {}, "scopes": {"org": {"x/y": {"level": "v"}}}})
    with pytest.raises(InvalidSet):
        PermissionSet({"areas": {}, "scopes": {}})
