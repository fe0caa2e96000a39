"""What if: a preview lists exactly the gains and losses that applying the change
produces. Each test previews a change, applies it through the change's own endpoint,
computes every user's set before and after at every scope of the (small) tree, and
compares that with the preview's entries expanded by their documented rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from service.runtime import Runtime
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin
from tests.previews.conftest import (
    Reeport,
    actual_changes,
    all_users,
    preview,
    previewed_changes,
    snapshot,
)

# A change: its kind, its body, and how its own endpoint applies it.
Case = Callable[[Reeport], tuple[str, dict[str, Any], Callable[[Admin], Any]]]


def mapping_created(r: Reeport) -> tuple[str, dict[str, Any], Callable[[Admin], Any]]:
    """Editors also get Share for the whole organization."""
    body = {"group": {"kind": "displayName", "value": "Editors"}, "role_key": "share",
            "scope_id": r.org}  # fmt: skip
    return "mapping.create", body, lambda a: a.ok(a.post("/mappings", body), 201)


def mapping_moved_to_another_role_and_scope(
    r: Reeport,
) -> tuple[str, dict[str, Any], Callable[[Admin], Any]]:
    """Editors' Edit in Folder 2 becomes Manage in Folder 1."""
    body = {"role_key": "manage", "scope_id": r.folder_1}
    return (
        "mapping.update",
        {"mapping_id": r.editors_mapping, **body},
        lambda a: a.ok(a.patch(f"/mappings/{r.editors_mapping}", body)),
    )


def mapping_deleted(r: Reeport) -> tuple[str, dict[str, Any], Callable[[Admin], Any]]:
    """Viewers lose View for the organization."""
    return (
        "mapping.delete",
        {"mapping_id": r.viewers_mapping},
        lambda a: a.ok(a.delete(f"/mappings/{r.viewers_mapping}"), 204),
    )


def report_moved(r: Reeport) -> tuple[str, dict[str, Any], Callable[[Admin], Any]]:
    """Report 2 moves from Folder 2 (Editors edit) to Folder 1 (Cat views)."""
    return (
        "scope.move",
        {"scope_id": r.report_2, "parent_id": r.folder_1},
        lambda a: a.ok(a.patch(f"/scopes/{r.report_2}", {"parent_id": r.folder_1})),
    )


def folder_moved(r: Reeport) -> tuple[str, dict[str, Any], Callable[[Admin], Any]]:
    """Folder 1 (with Report 1, where Eve manages) moves under Folder 2."""
    return (
        "scope.move",
        {"scope_id": r.folder_1, "parent_id": r.folder_2},
        lambda a: a.ok(a.patch(f"/scopes/{r.folder_1}", {"parent_id": r.folder_2})),
    )


def role_grants_more(r: Reeport) -> tuple[str, dict[str, Any], Callable[[Admin], Any]]:
    """Edit also grants Share, wherever it is held."""
    body = {"grants": {"edit": "granted", "share": "granted"}}
    return "role.update", {"role": "edit", **body}, lambda a: a.ok(a.patch("/roles/edit", body))


def assignment_made(r: Reeport) -> tuple[str, dict[str, Any], Callable[[Admin], Any]]:
    """Dan, who holds nothing, gets Edit in Folder 1 (and View, the default, with it)."""
    body = {"user": "dan@reeport.example", "role_key": "edit", "scope_id": r.folder_1}
    return "assignment.create", body, lambda a: a.ok(a.post("/assignments", body), 201)


def assignment_removed(r: Reeport) -> tuple[str, dict[str, Any], Callable[[Admin], Any]]:
    """Eve no longer manages Report 1."""
    return (
        "assignment.delete",
        {"assignment_id": r.eve_manages_report_1},
        lambda a: a.ok(a.delete(f"/assignments/{r.eve_manages_report_1}"), 204),
    )


def default_role_changed(r: Reeport) -> tuple[str, dict[str, Any], Callable[[Admin], Any]]:
    """The reporting product's default role becomes Share instead of View."""
    body = {"default_role": "share"}
    return (
        "product.update",
        {"product": "reporting", **body},
        lambda a: a.ok(a.patch("/products/reporting", body)),
    )


@pytest.mark.parametrize(
    "case",
    [mapping_created, mapping_moved_to_another_role_and_scope, mapping_deleted, report_moved,
     folder_moved, role_grants_more, assignment_made, assignment_removed, default_role_changed],
    ids=lambda case: case.__name__,
)  # fmt: skip
def test_a_preview_lists_exactly_the_gains_and_losses_that_applying_produces(
    admin: Admin, runtime: Runtime, tenant: TenantKeys, reeport: Reeport, case: Case
) -> None:
    kind, change, apply = case(reeport)
    before = snapshot(runtime, tenant.id)

    previewed = preview(admin, kind, change)
    rows = all_users(admin, previewed["id"])
    apply(admin)
    after = snapshot(runtime, tenant.id)

    actual = actual_changes(before, after)
    assert actual, "the case must move someone's access"
    assert previewed_changes(rows, before, after) == actual
    counts = previewed["counts"]
    assert counts["users_losing"] == len({c[0] for c in actual if _ranks_lower(c)})
    assert counts["users_gaining"] == len({c[0] for c in actual if not _ranks_lower(c)})
    assert [r["user_id"] for r in rows] == sorted(r["user_id"] for r in rows)
    assert previewed["users"] == rows[: len(previewed["users"])]


def test_a_scope_delete_lists_the_holders_of_the_grants_it_removes(
    admin: Admin, runtime: Runtime, tenant: TenantKeys, reeport: Reeport
) -> None:
    """Deleting Folder 2 (with Report 2) removes the Editors' mapping there: Bob and
    Cat lose Edit in it and below. Ann's View for the organization stays where the
    scopes stay; her access to the deleted ones ends with them and she is not listed."""
    done = preview(admin, "scope.delete", {"scope_id": reeport.folder_2, "cascade": True})
    before = snapshot(runtime, tenant.id)
    admin.ok(admin.delete(f"/scopes/{reeport.folder_2}", cascade="true"))
    after = snapshot(runtime, tenant.id)

    users = {reeport.users["bob"], reeport.users["cat"]}
    assert {row["user_id"] for row in done["users"]} == users
    assert done["counts"]["users_losing"] == 2 and done["counts"]["users_gaining"] == 0
    actual = {c for c in actual_changes(before, after) if c[0] in users}
    assert previewed_changes(done["users"], before, after) == actual
    assert (reeport.users["bob"], reeport.report_2, "reporting/edit", "granted", None) in actual


def test_a_preview_that_names_a_missing_field_or_a_bad_value_is_refused_as_its_endpoint_would(
    admin: Admin, reeport: Reeport
) -> None:
    missing = admin.post(
        "/previews", {"kind": "mapping.create", "change": {"group": {"kind": "displayName",
                      "value": "Editors"}, "scope_id": reeport.org}},
    )  # fmt: skip
    assert missing.status_code == 422
    assert "role_key" in missing.json["errors"]["json"]["change"]

    unknown_kind = admin.post("/previews", {"kind": "mapping.rename", "change": {}})
    assert unknown_kind.status_code == 422
    assert "kind" in unknown_kind.json["errors"]["json"]

    unknown_mapping = admin.post(
        "/previews", {"kind": "mapping.delete", "change": {"mapping_id": "no-such-mapping"}}
    )
    assert unknown_mapping.status_code == 404
    assert "mapping_id" in unknown_mapping.json["errors"]

    unknown_role = admin.post(
        "/previews",
        {"kind": "mapping.update",
         "change": {"mapping_id": reeport.editors_mapping, "role_key": "owner"}},
    )  # fmt: skip
    assert unknown_role.status_code == 422
    assert (
        unknown_role.json["reason"] == "unknown_role" and "role_key" in unknown_role.json["errors"]
    )

    move = {"scope_id": reeport.folder_1, "parent_id": reeport.report_1}
    cycle = admin.post("/previews", {"kind": "scope.move", "change": move})
    assert cycle.status_code == 422 and "parent_id" in cycle.json["errors"]

    not_a_dict = admin.post("/previews", {"kind": "scope.delete", "change": "folder"})
    assert not_a_dict.status_code == 422 and "change" in not_a_dict.json["errors"]["json"]


def test_a_preview_is_visible_to_its_tenant_only(
    admin: Admin, reeport: Reeport, make_tenant: Callable[[str], TenantKeys], client: Any
) -> None:
    done = preview(admin, "mapping.delete", {"mapping_id": reeport.editors_mapping})
    other = Admin(client, make_tenant("globex"))

    assert other.get(f"/previews/{done['id']}").status_code == 404
    assert other.get(f"/previews/{done['id']}/users").status_code == 404
    assert other.post(f"/previews/{done['id']}/apply", {}).status_code == 404
    assert admin.ok(admin.get(f"/previews/{done['id']}"))["counts"] == done["counts"]


def _ranks_lower(change: tuple[str, str, str, str | None, str | None]) -> bool:
    # Reporting rights have one level each: a change is a loss when access goes away.
    return change[4] is None


def test_seed_003_losing_edit_in_folder_2_is_listed_at_the_folder_and_below_it(
    admin: Admin, reeport: Reeport
) -> None:
    """Seed 003: "View in Folder 1 + Edit in Folder 2 = the User can only view Reports
    under Folder 1 and create/edit/delete all Reports under Folder 2." Deleting the
    Editors' mapping: Bob and Cat lose Edit in Folder 2 and under it; Cat keeps View
    in Folder 1 (her own), and from the organization."""
    done = preview(admin, "mapping.delete", {"mapping_id": reeport.editors_mapping})

    assert done["counts"] == {
        "users_considered": 2, "users_gaining": 0, "users_losing": 2,
        "conflicts_appearing": 0, "conflicts_resolving": 0,
    }  # fmt: skip
    by_user = {row["user_name"]: row for row in done["users"]}
    assert set(by_user) == {"bob@reeport.example", "cat@reeport.example"}
    cat = by_user["cat@reeport.example"]
    cat_lost = {(e["area"], e["scope_id"], e["below"]) for e in cat["lost"]}
    assert ("reporting/edit", reeport.folder_2, False) in cat_lost
    assert ("reporting/edit", reeport.folder_2, True) in cat_lost
    assert not any(area == "reporting/view" for area, _, _ in cat_lost)
    assert by_user["bob@reeport.example"]["gained"] == []
