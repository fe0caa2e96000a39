"""Nested groups: a member of a member group is a member, and cycles end."""

from __future__ import annotations

from service.domain import GroupGraph, transitive_groups


def test_membership_follows_nested_groups_with_the_path_that_reaches_them():
    # team-a is a member of engineering, which is a member of everyone.
    graph = GroupGraph([("team-a", "engineering"), ("engineering", "everyone")])

    assert graph.memberships(["team-a"]) == {
        "team-a": ("team-a",),
        "engineering": ("team-a", "engineering"),
        "everyone": ("team-a", "engineering", "everyone"),
    }


def test_a_cycle_of_groups_is_walked_once():
    cycle = [("g1", "g2"), ("g2", "g3"), ("g3", "g1")]

    assert transitive_groups(["g1"], cycle) == {
        "g1": ("g1",),
        "g2": ("g1", "g2"),
        "g3": ("g1", "g2", "g3"),
    }


def test_the_shortest_path_is_kept_when_two_lead_to_one_group():
    graph = GroupGraph([("a", "b"), ("b", "c"), ("d", "c")])

    assert graph.memberships(["a", "d"])["c"] == ("d", "c")


def test_scim_member_lists_build_the_same_graph():
    graph = GroupGraph.from_members({"engineering": ["team-a", "team-b"]})

    assert graph.containers("team-b") == ("engineering",)
    assert set(graph.memberships(["team-b"])) == {"team-b", "engineering"}


def test_a_user_in_no_group_is_in_no_group():
    assert GroupGraph([("a", "b")]).memberships([]) == {}
