"""The diff of two effective sets (service.domain.changes): gains and losses of
effective access, compact (a region below a scope is one entry) and exact (expanding
the entries by their documented rule gives every scope whose level changed)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from service.domain import (
    AccountType,
    Assignment,
    EffectivePermissions,
    PermissionArea,
    Role,
    Scope,
    ScopeTree,
    ValidationFailed,
    compute_effective_permissions,
)
from service.domain.changes import (
    AccessChange,
    RevocationBrake,
    diff_access,
    expand,
)

AREAS = {
    "view": PermissionArea("view", "View"),
    "edit": PermissionArea("edit", "Edit"),
    "licenses": PermissionArea("licenses", "Licenses", ("view", "manage", "delete")),
}
ROLES = {
    "view": Role("view", "View", {"view": "granted"}, reaches_descendants=True),
    "edit": Role("edit", "Edit", {"edit": "granted", "view": "granted"}, reaches_descendants=True),
    "local_edit": Role("local_edit", "Local edit", {"edit": "granted"}),
    "manager": Role("manager", "Manager", {"licenses": "manage"}, reaches_descendants=True),
    "deleter": Role("deleter", "Deleter", {"licenses": "delete"}),
}


def reporting_tree(report_2_parent: str = "folder_2") -> ScopeTree:
    """Seed 003's examples: an organization with Folder 1 (Report 1), Folder 2 (Report 2)."""
    return ScopeTree(
        [
            Scope("org", "organization", "Org"),
            Scope("folder_1", "folder", "Folder 1", "org"),
            Scope("folder_2", "folder", "Folder 2", "org"),
            Scope("report_1", "report", "Report 1", "folder_1"),
            Scope("report_2", "report", "Report 2", report_2_parent),
        ]
    )


def effective(
    tree: ScopeTree, *held: tuple[str, str], accounts: tuple[str, ...] = ()
) -> EffectivePermissions:
    return compute_effective_permissions(
        [Assignment("u", role, scope) for role, scope in held],
        ROLES,
        AREAS,
        tree,
        user_id="u",
        accounts=accounts,
    )


def changed_scopes(
    before: EffectivePermissions, before_tree: ScopeTree,
    after: EffectivePermissions, after_tree: ScopeTree,
) -> set[tuple[str, str, str | None, str | None]]:  # fmt: skip
    """Every (scope, area, from, to) whose level differs: the brute force the entries
    must expand to."""
    areas = sorted(before.levels.keys() | after.levels.keys())
    ids = {s.id for s in before_tree} | {s.id for s in after_tree}
    out = set()
    for sid in ids:
        for area in areas:
            old = before.level_at(sid, area, before_tree) if sid in before_tree else None
            new = after.level_at(sid, area, after_tree) if sid in after_tree else None
            if old != new:
                out.add((sid, area, old, new))
    return out


def expanded(
    entries: tuple[AccessChange, ...], before_tree: ScopeTree, after_tree: ScopeTree
) -> set[tuple[str, str, str | None, str | None]]:
    out = set()
    for entry in entries:
        tree = after_tree if entry.scope_id in after_tree else before_tree
        for sid in expand(entry, tree):
            out.add((sid, entry.area, entry.from_level, entry.to_level))
    return out


def test_losing_edit_in_folder_2_is_one_entry_at_the_folder_and_one_for_below() -> None:
    """Seed 003: "View in Folder 1 + Edit in Folder 2 = the User can only view Reports
    under Folder 1 and create/edit/delete all Reports under Folder 2." Taking Edit in
    Folder 2 away loses Edit (and the View it brought) at Folder 2 and below it."""
    tree = reporting_tree()
    before = effective(tree, ("view", "folder_1"), ("edit", "folder_2"))
    after = effective(tree, ("view", "folder_1"))

    gained, lost = diff_access(before, tree, after, tree)

    assert gained == ()
    assert set(lost) == {
        AccessChange("edit", "folder_2", "granted", None),
        AccessChange("edit", "folder_2", "granted", None, below=True),
        AccessChange("view", "folder_2", "granted", None),
        AccessChange("view", "folder_2", "granted", None, below=True),
    }
    assert expanded(lost, tree, tree) == changed_scopes(before, tree, after, tree)


def test_moving_a_report_changes_what_it_inherits_without_changing_a_grant() -> None:
    """Report 2 moved from Folder 2 (Edit) to Folder 1 (View): no grant entry differs,
    yet the user loses Edit at Report 2; the folders themselves are unchanged."""
    old_tree, new_tree = reporting_tree(), reporting_tree("folder_1")
    before = effective(old_tree, ("view", "folder_1"), ("edit", "folder_2"))
    after = effective(new_tree, ("view", "folder_1"), ("edit", "folder_2"))

    gained, lost = diff_access(before, old_tree, after, new_tree, ["report_2"])

    assert gained == ()
    assert AccessChange("edit", "report_2", "granted", None) in lost
    assert {e.scope_id for e in lost} == {"report_2"}
    assert expanded(lost, old_tree, new_tree) == changed_scopes(before, old_tree, after, new_tree)


def test_a_region_below_stops_at_the_breakpoints_under_it() -> None:
    """Manage at the organization replaced by View: every scope below loses Manage,
    except below Folder 1, where a local Delete grant does not reach further down but
    Manage is lost there too (its own entry)."""
    tree = reporting_tree()
    before = effective(tree, ("manager", "org"), ("deleter", "folder_1"))
    after = effective(tree, ("deleter", "folder_1"))

    _, lost = diff_access(before, tree, after, tree)

    below = next(e for e in lost if e.scope_id == "org" and e.below)
    assert below.except_below == ("folder_1",)
    assert set(expand(below, tree)) == {"folder_2", "report_2"}
    assert expanded(lost, tree, tree) == changed_scopes(before, tree, after, tree)


def test_a_higher_level_is_a_gain_and_a_lower_one_a_loss() -> None:
    tree = reporting_tree()
    before = effective(tree, ("manager", "folder_1"))
    after = effective(tree, ("deleter", "folder_1"))

    gained, lost = diff_access(before, tree, after, tree)

    assert AccessChange("licenses", "folder_1", "manage", "delete") in gained
    assert AccessChange("licenses", "folder_1", "manage", None, below=True) in lost


def test_a_deleted_scope_has_no_access_after() -> None:
    old_tree = reporting_tree()
    new_tree = ScopeTree([s for s in old_tree if s.id not in {"folder_2", "report_2"}])
    before = effective(old_tree, ("edit", "folder_2"))
    after = effective(new_tree)

    gained, lost = diff_access(before, old_tree, after, new_tree, ["folder_2"])

    assert gained == ()
    assert expanded(lost, old_tree, new_tree) == changed_scopes(before, old_tree, after, new_tree)
    assert {(e.scope_id, e.below) for e in lost} == {("folder_2", False), ("folder_2", True)}


def test_nothing_changed_lists_nothing() -> None:
    tree = reporting_tree()
    perms = effective(tree, ("view", "org"), ("edit", "folder_2"))

    assert diff_access(perms, tree, perms, tree) == ((), ())


def _random_tree(rng: random.Random, size: int) -> ScopeTree:
    scopes = [Scope("s0", "organization", "S0")]
    for i in range(1, size):
        parent = rng.choice(scopes)
        if rng.random() < 0.25:
            scopes.append(Scope(f"s{i}", "account", f"S{i}", parent.id, AccountType.CUSTOMER))
        else:
            scopes.append(Scope(f"s{i}", "folder", f"S{i}", parent.id))
    return ScopeTree(scopes)


def _moved(tree: ScopeTree, rng: random.Random) -> tuple[ScopeTree, str]:
    moving = rng.choice([s for s in tree if s.parent_id is not None])
    targets = [s.id for s in tree if s.id != moving.id and not tree.is_ancestor(moving.id, s.id)]
    target = rng.choice(targets)
    moved = (replace(s, parent_id=target) if s.id == moving.id else s for s in tree)
    return ScopeTree(moved), moving.id


diffs: list[bool] = []


@pytest.mark.parametrize("seed", range(200))
def test_expanding_the_entries_gives_every_scope_whose_level_changed(seed: int) -> None:
    """The rule in the module docstring, on random trees (with accounts, so fences
    occur), random grants before and after, and a random move of a subtree."""
    rng = random.Random(seed)
    old_tree = _random_tree(rng, rng.randint(3, 14))
    new_tree, moved = _moved(old_tree, rng) if rng.random() < 0.6 else (old_tree, None)
    ids = [s.id for s in old_tree]
    accounts = [s.id for s in old_tree if s.is_account]

    def held() -> list[tuple[str, str]]:
        return [(rng.choice(sorted(ROLES)), rng.choice(ids)) for _ in range(rng.randint(0, 4))]

    def member() -> tuple[str, ...]:
        return tuple(a for a in accounts if rng.random() < 0.5)

    first = held()
    # Half the time only the tree moves: access changes with no grant changing.
    second = first if rng.random() < 0.5 else held()
    before = effective(old_tree, *first, accounts=member())
    after = effective(new_tree, *second, accounts=member())
    named = [] if moved is None else [moved, old_tree.parent(moved), new_tree.parent(moved)]

    gained, lost = diff_access(before, old_tree, after, new_tree, [n for n in named if n])
    diffs.append(bool(gained or lost))

    assert expanded(gained + lost, old_tree, new_tree) == changed_scopes(
        before, old_tree, after, new_tree
    )
    for entry in gained:
        assert entry.to_level is not None
    for entry in lost:
        assert entry.from_level is not None


def test_the_brake_holds_only_above_both_the_count_and_the_share() -> None:
    brake = RevocationBrake(max_users=2, max_share=0.1)

    assert brake.holds(5, active_users=20)  # 5 > 2 and 5 > 2.0
    assert not brake.holds(2, active_users=20)
    assert not brake.holds(5, active_users=100)  # 5 <= 10
    assert not brake.can_trip(2) and brake.can_trip(3)


def test_the_brake_refuses_a_share_outside_zero_and_one_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        RevocationBrake(max_users=10, max_share=1.5)

    assert refused.value.field == "revocation_brake.max_share"


def test_the_random_cases_above_do_move_access() -> None:
    """Guards the property test against vacuity: most of its cases change something."""
    if len(diffs) < 200:
        pytest.skip("run with the property test")
    assert sum(diffs) > 100
