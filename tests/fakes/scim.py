"""In-memory SCIM users and groups with the rules of their SQL repositories
(service/persistence/repositories/scim.py): userName unique lower-cased and externalId
unique among a tenant's users, externalId unique among a tenant's groups, members
that are users or groups of the group's tenant, memberships gone with their user or
group, and the users reached through a group found through nested groups too.

Rows are the ORM classes, which work without a session. Users and groups share one
set of tables (`FakeScimTables`), as removing a user removes its memberships.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.persistence.scim_models import ScimGroup, ScimUser


@dataclass
class FakeMember:
    tenant_id: str
    member_type: str
    display: str | None


@dataclass
class FakeScimTables:
    users: dict[str, ScimUser] = field(default_factory=dict)
    groups: dict[str, ScimGroup] = field(default_factory=dict)
    # group id -> member id -> its row
    members: dict[str, dict[str, FakeMember]] = field(default_factory=dict)

    def drop_memberships_of(self, tenant_id: str, member_id: str) -> None:
        for rows in self.members.values():
            row = rows.get(member_id)
            if row is not None and row.tenant_id == tenant_id:
                del rows[member_id]


class FakeUsers:
    def __init__(self, tables: FakeScimTables) -> None:
        self._tables = tables

    def get(self, tenant_id: str, user_id: str) -> ScimUser | None:
        user = self._tables.users.get(user_id)
        return user if user is not None and user.tenant_id == tenant_id else None

    def taken(
        self, tenant_id: str, user_name: str, external_id: str | None, own_id: str | None
    ) -> str | None:
        others = [
            user
            for user in self._tables.users.values()
            if user.tenant_id == tenant_id and user.id != own_id
        ]
        if any(user.user_name_lower == user_name.lower() for user in others):
            return "userName"
        if external_id is not None and any(user.external_id == external_id for user in others):
            return "externalId"
        return None

    def add(self, values: dict[str, Any]) -> ScimUser | None:
        if self.taken(values["tenant_id"], values["user_name"], values["external_id"], None):
            return None
        user = ScimUser(**values)
        self._tables.users[user.id] = user
        return user

    def save(self, user: ScimUser) -> None:
        assert self._tables.users.get(user.id) is user, "saving a user that is not stored"
        clash = self.taken(user.tenant_id, user.user_name, user.external_id, user.id)
        assert clash is None, f"a saved user breaks the uniqueness of {clash}"

    def remove(self, user: ScimUser) -> None:
        self._tables.drop_memberships_of(user.tenant_id, user.id)
        del self._tables.users[user.id]

    def all(self, tenant_id: str) -> list[ScimUser]:
        """For tests: the tenant's users."""
        return [user for user in self._tables.users.values() if user.tenant_id == tenant_id]


class FakeGroups:
    def __init__(self, tables: FakeScimTables) -> None:
        self._tables = tables

    def get(self, tenant_id: str, group_id: str) -> ScimGroup | None:
        group = self._tables.groups.get(group_id)
        return group if group is not None and group.tenant_id == tenant_id else None

    def external_id_taken(self, tenant_id: str, external_id: str, own_id: str | None) -> bool:
        return any(
            group.tenant_id == tenant_id and group.external_id == external_id and group.id != own_id
            for group in self._tables.groups.values()
        )

    def add(self, group: ScimGroup) -> None:
        assert group.id not in self._tables.groups
        if group.external_id is not None:
            assert not self.external_id_taken(group.tenant_id, group.external_id, group.id)
        self._tables.groups[group.id] = group
        self._tables.members[group.id] = {}

    def save(self, group: ScimGroup) -> None:
        assert self._tables.groups.get(group.id) is group, "saving a group that is not stored"
        if group.external_id is not None:
            assert not self.external_id_taken(group.tenant_id, group.external_id, group.id)

    def remove(self, group: ScimGroup) -> None:
        del self._tables.members[group.id]
        self._tables.drop_memberships_of(group.tenant_id, group.id)
        del self._tables.groups[group.id]

    # -- members -----------------------------------------------------------------

    def member_types(self, tenant_id: str, ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for member in dict.fromkeys(ids):
            user = self._tables.users.get(member)
            group = self._tables.groups.get(member)
            if user is not None and user.tenant_id == tenant_id:
                found[member] = "User"
            elif group is not None and group.tenant_id == tenant_id:
                found[member] = "Group"
        return found

    def members(self, group_id: str, ids: list[str] | None = None) -> dict[str, str | None]:
        rows = self._tables.members.get(group_id, {})
        wanted = rows if ids is None else [member for member in ids if member in rows]
        return {member: rows[member].display for member in wanted}

    def add_members(
        self,
        tenant_id: str,
        group_id: str,
        types: Mapping[str, str],
        displays: Mapping[str, str | None],
    ) -> None:
        rows = self._tables.members[group_id]
        for member, kind in types.items():
            assert member not in rows, f"{member} is already a member of {group_id}"
            rows[member] = FakeMember(tenant_id, kind, displays.get(member))

    def remove_members(self, group_id: str, ids: list[str]) -> None:
        rows = self._tables.members.get(group_id, {})
        for member in ids:
            rows.pop(member, None)

    def redisplay(self, group_id: str, displays: Mapping[str, str | None]) -> None:
        rows = self._tables.members.get(group_id, {})
        for member, display in displays.items():
            if member in rows:
                rows[member].display = display

    # -- who is reached through a group -------------------------------------------

    def users_in(self, tenant_id: str, group_id: str) -> set[str]:
        users: set[str] = set()
        seen: set[str] = set()
        stack = [group_id]
        while stack:
            group = stack.pop()
            if group in seen:
                continue
            seen.add(group)
            for member, row in self._tables.members.get(group, {}).items():
                if row.tenant_id != tenant_id:
                    continue
                if row.member_type == "User":
                    users.add(member)
                else:
                    stack.append(member)
        return users

    def users_through(self, tenant_id: str, group_id: str, member_ids: Iterable[str]) -> set[str]:
        rows = self._tables.members.get(group_id, {})
        users: set[str] = set()
        for member in member_ids:
            row = rows.get(member)
            if row is None:
                continue
            if row.member_type == "User":
                users.add(member)
            else:
                users |= self.users_in(tenant_id, member)
        return users
