"""Transitive group membership.

SCIM groups may contain groups. A user who is a member of group H, where H is a
member of group G, is treated as a member of G too: IdPs nest groups precisely so
that a mapping on G covers everyone below it. IdPs also let admins build cycles
(G contains H contains G); the walk below visits each group once, so a cycle adds
nothing and never loops.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """The fields of a SCIM group that mappings can name it by."""

    id: str
    display_name: str
    external_id: str | None = None


class GroupGraph:
    """Which groups each group is a member of (the upward edges of nesting)."""

    __slots__ = ("_containers",)

    def __init__(self, nested: Iterable[tuple[str, str]] = ()) -> None:
        """``nested`` holds ``(member_group_id, containing_group_id)`` pairs."""
        containers: dict[str, set[str]] = {}
        for member, container in nested:
            if member != container:
                containers.setdefault(member, set()).add(container)
        self._containers: Mapping[str, tuple[str, ...]] = {
            k: tuple(sorted(v)) for k, v in containers.items()
        }

    @classmethod
    def from_members(cls, group_members: Mapping[str, Iterable[str]]) -> GroupGraph:
        """Build from SCIM's direction: group id -> the group ids among its members."""
        return cls((m, g) for g, members in group_members.items() for m in members)

    def containers(self, group_id: str) -> tuple[str, ...]:
        return self._containers.get(group_id, ())

    def memberships(self, direct_group_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Every group reached from the direct ones, with the path that reaches it.

        The path runs from a direct group up to the group itself, inclusive, so
        ``("team-a", "engineering")`` reads "member of team-a, which is in
        engineering". Breadth first over sorted ids, so each group gets its
        shortest path and the answer does not depend on input order.
        """
        paths: dict[str, tuple[str, ...]] = {}
        frontier: list[str] = []
        for gid in sorted(set(direct_group_ids)):
            paths[gid] = (gid,)
            frontier.append(gid)
        while frontier:
            nxt: list[str] = []
            for gid in frontier:
                for container in self._containers.get(gid, ()):
                    if container not in paths:
                        paths[container] = (*paths[gid], container)
                        nxt.append(container)
            frontier = nxt
        return paths


def transitive_groups(
    direct_group_ids: Iterable[str], nested: Iterable[tuple[str, str]] | GroupGraph = ()
) -> dict[str, tuple[str, ...]]:
    """Shortcut for one user: group id -> path, see :meth:`GroupGraph.memberships`."""
    graph = nested if isinstance(nested, GroupGraph) else GroupGraph(nested)
    return graph.memberships(direct_group_ids)
