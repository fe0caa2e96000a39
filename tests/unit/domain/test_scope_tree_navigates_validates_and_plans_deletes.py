"""The scope tree: navigation, validation of new scopes and moves, and delete plans."""

from __future__ import annotations

import pytest

from service.domain import (
    AccountType,
    Assignment,
    Conflict,
    GroupRef,
    GroupRefKind,
    Mapping,
    NotFound,
    Scope,
    ScopeTree,
    ValidationFailed,
)


@pytest.fixture
def tree() -> ScopeTree:
    return ScopeTree(
        [
            Scope("org", "organization", "Org"),
            Scope("acct", "account", "Account", "org", AccountType.CUSTOMER),
            Scope("ws", "workspace", "Workspace", "acct"),
            Scope("f1", "folder", "Folder 1", "ws"),
            Scope("r1", "report", "Report 1", "f1"),
            Scope("f2", "folder", "Folder 2", "ws"),
        ]
    )


def test_ancestors_are_listed_nearest_first(tree: ScopeTree):
    assert tree.ancestors("r1") == ("f1", "ws", "acct", "org")
    assert tree.ancestors("org") == ()


def test_descendants_path_and_is_ancestor_agree(tree: ScopeTree):
    assert set(tree.descendants("ws")) == {"f1", "r1", "f2"}
    assert [s.id for s in tree.path("r1")] == ["org", "acct", "ws", "f1", "r1"]
    assert tree.path_names("f2") == "Org > Account > Workspace > Folder 2"
    assert tree.is_ancestor("acct", "r1")
    assert not tree.is_ancestor("r1", "acct")
    assert not tree.is_ancestor("f2", "r1")
    assert not tree.is_ancestor("r1", "r1")


def test_asking_about_an_unknown_scope_is_not_found(tree: ScopeTree):
    with pytest.raises(NotFound) as err:
        tree.ancestors("nope")
    assert err.value.status == 404


def test_an_unknown_scope_type_is_refused_naming_the_type_field(tree: ScopeTree):
    with pytest.raises(ValidationFailed) as err:
        tree.validate_new(Scope("x", "dashboard", "X", "org"))

    assert (err.value.code, err.value.field, err.value.status) == (
        "unknown_scope_type",
        "type",
        422,
    )


def test_a_tenant_declared_type_is_accepted():
    tree = ScopeTree([Scope("org", "organization", "Org")], declared_types=["dashboard"])

    assert tree.validate_new(Scope("d", "dashboard", "D", "org")) is None  # no error raised
    assert "dashboard" in tree.types


def test_accounts_must_carry_an_account_type_and_only_accounts_may(tree: ScopeTree):
    with pytest.raises(ValidationFailed) as missing:
        tree.validate_new(Scope("a2", "account", "A2", "org"))
    with pytest.raises(ValidationFailed) as misplaced:
        tree.validate_new(Scope("f3", "folder", "F3", "ws", AccountType.CUSTOMER))

    assert missing.value.code == "account_type_required"
    assert misplaced.value.code == "account_type_not_allowed"
    assert misplaced.value.field == "account_type"


def test_a_new_scope_needs_a_known_parent_and_a_fresh_id(tree: ScopeTree):
    with pytest.raises(ValidationFailed) as orphan:
        tree.validate_new(Scope("x", "folder", "X", "missing"))
    with pytest.raises(Conflict) as duplicate:
        tree.validate_new(Scope("f1", "folder", "Again", "ws"))

    assert (orphan.value.code, orphan.value.field) == ("unknown_parent", "parent_id")
    assert (duplicate.value.code, duplicate.value.status) == ("duplicate", 409)


@pytest.mark.parametrize("new_parent", ["ws", "f1", "r1"])
def test_moving_a_scope_below_itself_is_a_cycle(tree: ScopeTree, new_parent: str):
    with pytest.raises(ValidationFailed) as err:
        tree.validate_move("ws", new_parent)

    assert (err.value.code, err.value.field) == ("cycle", "parent_id")


def test_moving_a_subtree_elsewhere_or_to_the_top_is_allowed(tree: ScopeTree):
    assert tree.validate_move("f1", "f2") is None  # no error raised
    assert tree.validate_move("ws", None) is None


def test_a_tree_that_contains_a_cycle_cannot_be_built():
    with pytest.raises(ValidationFailed) as err:
        ScopeTree(
            [
                Scope("root", "organization", "Root"),
                Scope("a", "folder", "A", "b"),
                Scope("b", "folder", "B", "a"),
            ]
        )

    assert err.value.code == "cycle"


def test_deleting_a_scope_with_children_is_refused_without_cascade(tree: ScopeTree):
    with pytest.raises(Conflict) as err:
        tree.plan_delete("ws")

    assert (err.value.code, err.value.field) == ("has_children", "cascade")


def test_a_cascading_delete_removes_the_subtree_and_what_is_attached_below(tree: ScopeTree):
    kept = Assignment("u1", "viewer", "acct")
    below = Assignment("u1", "editor", "r1")
    mapping = Mapping("m1", GroupRef(GroupRefKind.ID, "g"), "viewer", "f1")

    plan = tree.plan_delete("ws", cascade=True, attached=[kept, below, mapping])

    assert set(plan.scope_ids) == {"ws", "f1", "r1", "f2"}
    assert plan.scope_ids.index("r1") < plan.scope_ids.index("f1") < plan.scope_ids.index("ws")
    assert plan.removed == (below, mapping)
    assert "acct" not in plan


def test_deleting_a_leaf_needs_no_cascade_and_takes_its_assignments(tree: ScopeTree):
    at_leaf = Assignment("u1", "viewer", "r1")

    plan = tree.plan_delete("r1", attached=[at_leaf])

    assert plan.scope_ids == ("r1",)
    assert plan.removed == (at_leaf,)


def test_ten_thousand_scopes_build_and_answer_ancestors():
    scopes = [Scope("s0", "organization", "Root")]
    scopes += [Scope(f"s{i}", "folder", f"F{i}", f"s{(i - 1) // 10}") for i in range(1, 10_000)]

    tree = ScopeTree(scopes)

    assert len(tree) == 10_000
    assert tree.ancestors("s9999")[-1] == "s0"
    assert len(tree.descendants("s0")) == 9_999
