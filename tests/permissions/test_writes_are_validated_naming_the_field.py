"""Every write is validated, and the error body names the field; never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.permissions.conftest import Admin, Directory


def assert_refused(response: Any, status: int, field: str, reason: str | None = None) -> None:
    assert response.status_code == status, response.get_data(True)
    errors = response.json["errors"]
    if "json" in errors:  # marshmallow's shape: errors by location, then field
        errors = errors["json"]
    assert field in errors, errors
    if reason is not None:
        assert response.json["reason"] == reason


@pytest.fixture
def org(admin: Admin) -> str:
    admin.load("reporting")
    return admin.scope("organization", "Org")


def test_an_unknown_scope_type_is_422_naming_type(admin: Admin) -> None:
    assert_refused(
        admin.post("/scopes", {"type": "galaxy", "name": "G"}), 422, "type", "unknown_scope_type"
    )


def test_an_account_without_an_account_type_is_422(admin: Admin) -> None:
    assert_refused(admin.post("/scopes", {"type": "account", "name": "A"}), 422, "account_type")
    assert_refused(
        admin.post("/scopes", {"type": "account", "name": "A", "account_type": "alien"}),
        422,
        "account_type",
    )


def test_a_missing_name_and_an_unknown_field_are_422(admin: Admin) -> None:
    assert_refused(admin.post("/scopes", {"type": "folder"}), 422, "name")
    assert_refused(
        admin.post("/scopes", {"type": "folder", "name": "F", "colour": "red"}), 422, "colour"
    )


def test_an_unknown_parent_is_422(admin: Admin) -> None:
    assert_refused(
        admin.post("/scopes", {"type": "folder", "name": "F", "parent_id": "nope"}),
        422,
        "parent_id",
        "unknown_parent",
    )


def test_a_cycle_in_the_scope_tree_is_422_naming_parent_id(admin: Admin, org: str) -> None:
    folder = admin.scope("folder", "F", org)
    report = admin.scope("report", "R", folder)

    assert_refused(admin.patch(f"/scopes/{org}", {"parent_id": report}), 422, "parent_id", "cycle")
    assert_refused(admin.patch(f"/scopes/{org}", {"parent_id": org}), 422, "parent_id", "cycle")


def test_a_role_granted_at_a_scope_type_it_does_not_allow_is_422(
    admin: Admin, directory: Directory, org: str
) -> None:
    folder = admin.scope("folder", "F", org)
    directory.user("u@example.com")
    body = {"group": {"kind": "displayName", "value": "Admins"}, "role_key": "admin"}

    assert_refused(
        admin.post("/mappings", {**body, "scope_id": folder}),
        422,
        "scope_id",
        "scope_type_not_allowed",
    )
    assert_refused(
        admin.post(
            "/assignments", {"user": "u@example.com", "role_key": "admin", "scope_id": folder}
        ),
        422,
        "scope_id",
        "scope_type_not_allowed",
    )


def test_unknown_role_scope_user_and_group_kind_are_named(
    admin: Admin, directory: Directory, org: str
) -> None:
    directory.user("u@example.com")
    group = {"kind": "displayName", "value": "G"}

    assert_refused(
        admin.post("/mappings", {"group": group, "role_key": "nope", "scope_id": org}),
        422,
        "role_key",
        "unknown_role",
    )
    assert_refused(
        admin.post("/mappings", {"group": group, "role_key": "view", "scope_id": "nope"}),
        422,
        "scope_id",
        "unknown_scope",
    )
    assert_refused(
        admin.post(
            "/mappings",
            {"group": {"kind": "email", "value": "x"}, "role_key": "view", "scope_id": org},
        ),
        422,
        "group",
    )
    assert_refused(
        admin.post("/assignments", {"user": "ghost", "role_key": "view", "scope_id": org}),
        422,
        "user",
        "unknown_user",
    )


def test_assign_account_at_a_scope_that_is_no_account_is_422(admin: Admin, org: str) -> None:
    body = {
        "group": {"kind": "displayName", "value": "G"},
        "role_key": "view",
        "scope_id": org,
        "assign_account": True,
    }
    assert_refused(admin.post("/mappings", body), 422, "assign_account", "not_an_account")


def test_a_role_with_an_unknown_area_or_level_is_422_naming_the_grant(
    admin: Admin, org: str
) -> None:
    assert_refused(
        admin.post("/roles", {"key": "r", "name": "R", "grants": {"nope": "granted"}}),
        422,
        "grants.nope",
        "unknown_area",
    )
    assert_refused(
        admin.post(
            "/roles", {"product": "reporting", "key": "r", "name": "R", "grants": {"view": "max"}}
        ),
        422,
        "grants.view",
        "unknown_level",
    )
    assert_refused(
        admin.post("/roles", {"key": "r", "name": "R", "allowed_scope_types": ["galaxy"]}),
        422,
        "allowed_scope_types",
        "unknown_scope_type",
    )
    assert_refused(admin.post("/roles", {"key": "Bad Key", "name": "R"}), 422, "key", "invalid_key")


def test_duplicates_and_deleting_what_is_in_use_are_409(admin: Admin, org: str) -> None:
    in_reporting = {"product": "reporting", "key": "view", "name": "View"}
    assert_refused(admin.post("/areas", in_reporting), 409, "key", "duplicate")
    assert_refused(admin.post("/roles", in_reporting), 409, "key", "duplicate")
    assert_refused(admin.delete("/areas/view"), 409, "key", "in_use")
    assert_refused(admin.delete("/roles/view"), 409, "key", "in_use")  # reporting's default


def test_narrowing_what_is_in_use_is_409(admin: Admin, directory: Directory, org: str) -> None:
    folder = admin.scope("folder", "F", org)
    admin.map("G", "edit", folder)
    admin.ok(admin.post("/areas", {"key": "size", "name": "Size", "levels": ["s", "m", "l"]}), 201)
    admin.ok(admin.post("/roles", {"key": "big", "name": "Big", "grants": {"size": "l"}}), 201)

    assert_refused(admin.patch("/areas/size", {"levels": ["s", "m"]}), 409, "levels", "in_use")
    assert_refused(
        admin.patch("/roles/edit", {"allowed_scope_types": ["report"]}),
        409,
        "allowed_scope_types",
        "in_use",
    )
    assert (
        admin.ok(admin.patch("/areas/size", {"levels": ["xs", "s", "m", "l"]}))["levels"][0] == "xs"
    )


def test_explain_with_an_unknown_area_or_level_names_it(
    admin: Admin, directory: Directory, org: str
) -> None:
    directory.user("u@example.com")

    bad_area = admin.get("/users/u@example.com/explain", area="nope", level="granted", scope=org)
    bad_level = admin.get("/users/u@example.com/explain", area="view", level="max", scope=org)
    bad_scope = admin.get("/users/u@example.com/explain", area="view", level="granted", scope="x")
    missing = admin.get("/users/u@example.com/explain", area="view")

    assert_refused(bad_area, 422, "area", "unknown_area")
    assert_refused(bad_level, 422, "level", "unknown_level")
    assert_refused(bad_scope, 404, "scope")
    assert missing.status_code == 422 and "level" in missing.json["errors"]["query"]


def test_an_unknown_user_catalog_or_bad_settings_is_not_a_500(admin: Admin, org: str) -> None:
    assert admin.get("/users/ghost/permissions").status_code == 404
    assert admin.post("/catalogs/nope/load", {}).status_code == 404
    assert_refused(
        admin.put("/settings/permissions", {"default_role": "nope"}), 422, "default_role"
    )
    bad_rules = {"account_rules": {"account_types_for_user_type": {"alien": ["customer"]}}}
    assert_refused(admin.put("/settings/permissions", bad_rules), 422, "account_rules")
    not_json = admin.client.post(
        "/api/v1/scopes",
        data="{",
        headers={**admin.keys.auth("admin"), "Content-Type": "application/json"},
    )
    assert 400 <= not_json.status_code < 500
