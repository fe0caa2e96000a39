"""An in-memory twin of service/persistence/repositories/user_types.py: the tenant's
user type table over the defaults, and the warnings already given, once per user and
value. A test sets a tenant's entries as an admin would have (`set_entries`)."""

from __future__ import annotations

from collections.abc import Mapping

from service.domain.user_types import Entry, UserTypeTable, tenant_entries


class FakeUserTypes:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Entry]] = {}
        self.warned: set[tuple[str, str, str]] = set()

    def set_entries(self, tenant_id: str, given: Mapping[str, str]) -> None:
        self.replace(tenant_id, tenant_entries(given))

    def table(self, tenant_id: str) -> UserTypeTable:
        return UserTypeTable(dict(self.entries.get(tenant_id, {})))

    def replace(self, tenant_id: str, entries: Mapping[str, Entry]) -> None:
        self.entries[tenant_id] = dict(entries)

    def warn_once(self, tenant_id: str, user_id: str, key: str) -> bool:
        first = (tenant_id, user_id, key) not in self.warned
        self.warned.add((tenant_id, user_id, key))
        return first

    def forget_user(self, tenant_id: str, user_id: str) -> None:
        self.warned = {w for w in self.warned if w[:2] != (tenant_id, user_id)}
