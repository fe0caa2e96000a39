"""Mappings name groups by reference: made before the group exists, they take effect when
it arrives; nested groups pass them on."""

from __future__ import annotations

from tests.permissions.conftest import Admin, Directory


def test_a_mapping_made_before_the_group_exists_takes_effect_when_it_arrives(
    admin: Admin, directory: Directory
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    user = directory.user("u@example.com", external_id="emp-1")
    created = admin.ok(
        admin.post(
            "/mappings",
            {
                "group": {"kind": "externalId", "value": "okta-grp-7"},
                "role_key": "edit",
                "scope_id": org,
            },
        ),
        201,
    )
    assert created["matched_groups"] == []
    assert admin.permissions("emp-1")["scopes"] == {}

    group = directory.group("Editors", external_id="okta-grp-7", users=[user])

    assert admin.at("emp-1", org) == {"edit": "granted", "view": "granted"}
    shown = admin.ok(admin.get(f"/mappings/{created['id']}"))
    assert [g["id"] for g in shown["matched_groups"]] == [group]


def test_members_of_nested_groups_get_the_mapped_role_and_explain_shows_the_path(
    admin: Admin, directory: Directory
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    user = directory.user("u@example.com")
    team = directory.group("Team A", users=[user])
    engineering = directory.group("Engineering", groups=[team])
    directory.group("Everyone", groups=[engineering])
    admin.map("Everyone", "share", org)

    why = admin.explain("u@example.com", "share", "granted", org)

    assert why["allowed"] is True
    assert len(why["granting"][0]["via_groups"]) == 3
    assert why["granting"][0]["via_groups"][0] == team
    assert "'Team A' -> group 'Engineering' -> group 'Everyone'" in why["summary"]


def test_an_inactive_or_deleted_user_has_no_permissions(admin: Admin, directory: Directory) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    user = directory.user("u@example.com")
    directory.group("Readers", users=[user])
    admin.map("Readers", "view", org)
    admin.assign("u@example.com", "manage", org)
    assert admin.at("u@example.com", org) == {"manage": "granted", "view": "granted"}

    directory.set_active(user, False)
    inactive = admin.permissions("u@example.com")
    directory.delete_user(user)

    assert inactive["active"] is False and inactive["scopes"] == {}
    assert admin.get("/users/u@example.com/permissions").status_code == 404


def test_mappings_are_listed_filtered_and_changed_in_place(admin: Admin) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    folder = admin.scope("folder", "F", org)
    first = admin.map("Readers", "view", org)
    admin.map("Editors", "edit", folder)

    by_role = admin.ok(admin.get("/mappings", role_key="edit"))
    by_group = admin.ok(admin.get("/mappings", group_value="READERS"))
    changed = admin.ok(admin.patch(f"/mappings/{first}", {"role_key": "share"}))

    assert [m["role_key"] for m in by_role] == ["edit"]
    assert [m["id"] for m in by_group] == [first]
    assert changed["role_key"] == "share" and changed["id"] == first
    assert (
        admin.patch(f"/mappings/{first}", {"role_key": "admin", "scope_id": folder}).status_code
        == 422
    )
