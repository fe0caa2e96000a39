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


@pytest.mark.parametrize(
    "case",
    [mapping_created, mapping_moved_to_another_role_and_scope, mapping_deleted, report_moved,
     folder_moved],
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
