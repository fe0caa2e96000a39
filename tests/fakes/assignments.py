"""An in-memory twin of service/persistence/repositories/assignments.py.

Besides the assignment rows it holds what assignments are checked against: users
(`add_user`), roles (`add_role`), scopes (`add_scope`), declared scope types and
account rules, put in by a test the way an IdP and an admin would have made them.

Like the rest of the fake unit of work, it stands for the committed database: an
assignment added in a unit that then raises stays (no use case adds before its last
check, so none is left half done).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from service.domain import (
    DEFAULT_PRODUCT,
    SEED_001_RULES,
    AccountRequest,
    AccountRules,
    Conflict,
    Product,
    Role,
    Scope,
    ScopeTree,
    split_ref,
)
from service.persistence.base import new_id, utcnow
from service.persistence.permission_models import AssignmentRow
from service.persistence.repositories.assignments import FoundRole, Listed
from service.persistence.repositories.scim import FoundUser, rank_user_match


@dataclass(frozen=True)
class FakeUser:
    tenant_id: str
    id: str
    user_name: str
    external_id: str | None
    user_type: str | None


class FakeAssignments:
    def __init__(self) -> None:
        self.rows: list[AssignmentRow] = []
        self.users: list[FakeUser] = []
        self.roles: dict[tuple[str, str], FoundRole] = {}
        self.scopes: dict[tuple[str, str], Scope] = {}
        self.scope_types: dict[str, set[str]] = {}
        self.rules: dict[str, AccountRules] = {}
        # Account requests that come from a user's groups (mappings with assign_account).
        self.mapped: dict[tuple[str, str], list[AccountRequest]] = {}
        # A clock that moves forward on every add, so that "older" is well defined.
        self._now = utcnow()

    # -- what a test puts in -------------------------------------------------------

    def add_user(
        self,
        tenant_id: str,
        user_name: str,
        *,
        user_type: str | None = None,
        external_id: str | None = None,
        user_id: str | None = None,
    ) -> str:
        user = FakeUser(tenant_id, user_id or new_id(), user_name, external_id, user_type)
        self.users.append(user)
        return user.id

    def add_role(self, tenant_id: str, role: Role, product: Product | None = None) -> str:
        role_id = new_id()
        if product is None:
            product = Product(role.product or DEFAULT_PRODUCT, "Product")
        role = replace(role, product=product.key)
        self.roles[(tenant_id, role.ref)] = FoundRole(role_id, role, product)
        return role_id

    def add_scope(self, tenant_id: str, scope: Scope) -> str:
        self.scopes[(tenant_id, scope.id)] = scope
        return scope.id

    def declare_scope_type(self, tenant_id: str, key: str) -> None:
        self.scope_types.setdefault(tenant_id, set()).add(key)

    def set_account_rules(self, tenant_id: str, rules: AccountRules) -> None:
        self.rules[tenant_id] = rules

    def add_mapped_account(self, tenant_id: str, user_id: str, request: AccountRequest) -> None:
        """The user is in a group that a mapping with assign_account names."""
        self.mapped.setdefault((tenant_id, user_id), []).append(request)

    # -- the repository ------------------------------------------------------------

    def get(self, tenant_id: str, assignment_id: str) -> Listed | None:
        for row in self.rows:
            if row.tenant_id == tenant_id and row.id == assignment_id:
                return row, self._role_key(tenant_id, row.role_id)
        return None

    def listing(
        self,
        tenant_id: str,
        *,
        page: int,
        per_page: int,
        user_id: str | None = None,
        role_key: str | None = None,
        scope_id: str | None = None,
    ) -> tuple[list[Listed], int]:
        found = [
            (row, self._role_key(tenant_id, row.role_id))
            for row in sorted(self.rows, key=lambda r: (r.created_at, r.id))
            if row.tenant_id == tenant_id
            and (user_id is None or row.user_id == user_id)
            and (scope_id is None or row.scope_id == scope_id)
        ]
        found = [item for item in found if role_key is None or split_ref(item[1])[1] == role_key]
        start = (page - 1) * per_page
        return found[start : start + per_page], len(found)

    def exists(self, tenant_id: str, user_id: str, role_id: str, scope_id: str) -> bool:
        return any(
            (row.tenant_id, row.user_id, row.role_id, row.scope_id)
            == (tenant_id, user_id, role_id, scope_id)
            for row in self.rows
        )

    def account_requests(self, tenant_id: str, user_id: str) -> list[AccountRequest]:
        return [
            AccountRequest.direct(row.scope_id, row.created_at, row.id)
            for row in self.rows
            if row.tenant_id == tenant_id and row.user_id == user_id and row.assign_account
        ] + self.mapped.get((tenant_id, user_id), [])

    def add(self, row: AssignmentRow) -> None:
        assert not self.exists(row.tenant_id, row.user_id, row.role_id, row.scope_id), (
            "the database's unique constraint would refuse this row"
        )
        self._now += timedelta(milliseconds=1)
        row.id = row.id or new_id()
        row.created_at = row.created_at or self._now
        self.rows.append(row)

    def remove(self, row: AssignmentRow) -> None:
        self.rows.remove(row)

    def find_user(self, tenant_id: str, ref: str) -> FoundUser | None:
        ref = ref.strip()
        matches = [
            user
            for user in self.users
            if user.tenant_id == tenant_id
            and ref
            and (ref in (user.id, user.external_id) or user.user_name.lower() == ref.lower())
        ]
        if not matches:
            return None
        best = min(matches, key=lambda u: rank_user_match(ref, u.id, u.user_name.lower()))
        return FoundUser(best.id, best.user_type)

    def role(self, tenant_id: str, key: str, product: str | None = None) -> FoundRole | None:
        if product is None:
            product, key = split_ref(key)
        found = [
            role
            for (tenant, _), role in self.roles.items()
            if tenant == tenant_id
            and role.role.key == key
            and (product is None or role.product.key == product)
        ]
        if len(found) > 1:
            raise Conflict("ambiguous", f"role {key!r} is in several products", "product")
        return found[0] if found else None

    def scope_tree(self, tenant_id: str, scope_ids: Iterable[str]) -> ScopeTree:
        chosen: dict[str, Scope] = {}
        for scope_id in scope_ids:
            scope = self.scopes.get((tenant_id, scope_id))
            while scope is not None and scope.id not in chosen:
                chosen[scope.id] = scope
                parent = scope.parent_id
                scope = None if parent is None else self.scopes[(tenant_id, parent)]
        return ScopeTree(chosen.values(), self.scope_types.get(tenant_id, ()))

    def account_rules(self, tenant_id: str) -> AccountRules:
        return self.rules.get(tenant_id, SEED_001_RULES)

    def _role_key(self, tenant_id: str, role_id: str) -> str:
        return next(
            key
            for (tenant, key), found in self.roles.items()
            if tenant == tenant_id and found.id == role_id
        )
