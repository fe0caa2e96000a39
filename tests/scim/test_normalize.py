"""The normalising step in front of scim2-models, one rule at a time."""

from __future__ import annotations

import logging

import pytest
from scim2_models import PatchOp

from service.scim import normalize
from service.scim.protocol import build_provider

USER = build_provider().model_for("User")
GROUP = build_provider().model_for("Group")
ENTERPRISE = normalize.ENTERPRISE


def patch(operations: list[dict[str, object]], model: object = USER) -> list[dict[str, object]]:
    name = "User" if model is USER else "Group"
    fixed = normalize.patch_body(
        {"schemas": [normalize.PATCH_SCHEMA], "Operations": operations},
        model,  # type: ignore[arg-type]
        name,
        PatchOp[model],  # type: ignore[index]
    )
    return fixed["Operations"]


def test_capitalised_ops_are_lower_cased() -> None:
    assert patch([{"op": "Replace", "path": "title", "value": "x"}])[0]["op"] == "replace"


def test_boolean_strings_become_booleans_with_and_without_path() -> None:
    assert patch([{"op": "replace", "path": "active", "value": "False"}])[0]["value"] is False
    value = patch([{"op": "replace", "value": {"active": "True"}}])[0]["value"]
    assert value == {"active": True}


def test_a_bare_manager_id_becomes_a_complex_manager() -> None:
    path = f"{ENTERPRISE}:manager"
    fixed = patch([{"op": "add", "path": path, "value": "m-1"}])[0]["value"]
    assert fixed == {"value": "m-1", "$ref": "Users/m-1"}
    body = normalize.resource_body({"userName": "u", ENTERPRISE: {"manager": "m-2"}}, USER, "User")
    assert body[ENTERPRISE]["manager"] == {"value": "m-2", "$ref": "Users/m-2"}


def test_member_removal_with_a_value_list_becomes_value_filters() -> None:
    fixed = patch(
        [{"op": "remove", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}], GROUP
    )
    assert fixed == [
        {"op": "remove", "path": 'members[value eq "a"]'},
        {"op": "remove", "path": 'members[value eq "b"]'},
    ]


def test_read_only_id_in_a_path_less_replace_is_dropped() -> None:
    fixed = patch([{"op": "replace", "value": {"id": "g", "displayName": "G"}}], GROUP)
    assert fixed == [{"op": "replace", "value": {"displayName": "G"}}]


def test_an_empty_path_means_no_path() -> None:
    assert "path" not in patch([{"op": "replace", "path": "", "value": {"title": "t"}}])[0]


def test_lower_case_operations_key_and_missing_schemas_are_repaired() -> None:
    fixed = normalize.patch_body(
        {"operations": [{"op": "add", "path": "title", "value": "t"}]},
        USER,  # type: ignore[arg-type]
        "User",
        PatchOp[USER],  # type: ignore[index]
    )
    assert fixed["schemas"] == [normalize.PATCH_SCHEMA]
    assert fixed["Operations"] == [{"op": "add", "path": "title", "value": "t"}]


def test_unknown_attributes_and_schemas_are_dropped_and_logged_by_name_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="rolecall.scim.normalize")
    body = normalize.resource_body(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:vendor:x"],
            "UserName": "u",
            "favouriteColour": "secret-blue",
            "urn:vendor:x": {"a": 1},
        },
        USER,
        "User",
    )
    assert body == {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "u"}
    assert "favouriteColour" in caplog.text and "urn:vendor:x" in caplog.text
    assert "secret-blue" not in caplog.text


def test_a_patch_of_an_unknown_attribute_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rolecall.scim.normalize")
    patch([{"op": "replace", "path": "orgUnitPath", "value": "/x"}])
    assert "orgUnitPath" in caplog.text
