"""Direct assignments, as their use cases read and write them
(service/services/assignments.py).

Besides the assignment rows themselves, the use cases need to know a few things
about the rest of the tenant to check an assignment: the user it names, the role
and where that role may be granted, the scope and its ancestors, the tenant's
account rules and the accounts the user asks for now (directly, or through its
groups and mappings with ``assign_account``). This repository reads just those,
as domain objects, so the checks run on the same objects with a fake
(tests/fakes/assignments.py) and without loading the tenant's whole model.

Rows are `AssignmentRow` instances; one made by a use case is complete (id,
created_at) once `add` returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from service.domain import (
    AccountRequest,
    AccountRules,
    AccountType,
    GroupGraph,
    GroupRef,
    Mapping,
    NotFound,
    Product,
    Role,
    Scope,
    ScopeTree,
    mapped_account_requests,
)
from service.persistence.permission_models import (
    AssignmentRow,
    MappingRow,
    PermissionSettingsRow,
    ProductRow,
    RoleRow,
    ScopeRow,
    ScopeTypeRow,
    find_row,
    product_from_row,
    role_from_row,
    role_ref_sql,
    rules_from_json,
)
from service.persistence.repositories.memberships import read_memberships
from service.persistence.repositories.scim import FoundUser, SqlUsers


class FoundRole(NamedTuple):
    """A role of the tenant: its row id (what assignments reference), the role, and
    its product (whose settings say whether it may be granted directly)."""

    id: str
    role: Role
    product: Product


Listed = tuple[AssignmentRow, str]
"""An assignment row and the key of its role."""


class SqlAssignments:
    def __init__(self, session: Session) -> None:
        self._session = session

    # -- the assignments -----------------------------------------------------------

    def get(self, tenant_id: str, assignment_id: str) -> Listed | None:
        found = self._session.execute(
            self._listed(tenant_id).where(AssignmentRow.id == assignment_id)
        ).first()
        return None if found is None else (found[0], found[1])

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
        """Page `page` (1-based) of the tenant's assignments, oldest first, and the total."""
        query = self._listed(tenant_id)
        if user_id is not None:
            query = query.where(AssignmentRow.user_id == user_id)
        if role_key is not None:
            query = query.where(RoleRow.key == role_key)
        if scope_id is not None:
            query = query.where(AssignmentRow.scope_id == scope_id)
        total = self._session.scalar(select(func.count()).select_from(query.subquery())) or 0
        paged = (
            query.order_by(AssignmentRow.created_at, AssignmentRow.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        return [(row, key) for row, key in self._session.execute(paged)], total

    def exists(self, tenant_id: str, user_id: str, role_id: str, scope_id: str) -> bool:
        """Whether the user holds the role at the scope already."""
        found = self._session.scalar(
            select(AssignmentRow.id).where(
                AssignmentRow.tenant_id == tenant_id,
                AssignmentRow.user_id == user_id,
                AssignmentRow.role_id == role_id,
                AssignmentRow.scope_id == scope_id,
            )
        )
        return found is not None

    def account_requests(self, tenant_id: str, user_id: str) -> list[AccountRequest]:
        """Every account the user asks to belong to now, with its origin and age: through
        its direct assignments, and through its groups' mappings with ``assign_account``
        (dated as the permission computation dates them)."""
        requests = [
            AccountRequest.direct(scope_id, created, row_id)
            for row_id, scope_id, created in self._session.execute(
                select(AssignmentRow.id, AssignmentRow.scope_id, AssignmentRow.created_at).where(
                    AssignmentRow.tenant_id == tenant_id,
                    AssignmentRow.user_id == user_id,
                    AssignmentRow.assign_account.is_(True),
                )
            )
        ]
        rows = self._session.execute(
            select(MappingRow, role_ref_sql())
            .join(RoleRow, RoleRow.id == MappingRow.role_id)
            .join(ProductRow, ProductRow.id == RoleRow.product_id)
            .where(MappingRow.tenant_id == tenant_id, MappingRow.assign_account.is_(True))
        ).all()
        if not rows:
            return requests
        found = read_memberships(self._session, tenant_id, [user_id])
        requests += mapped_account_requests(
            direct_group_ids=found.direct_groups.get(user_id, ()),
            groups=found.groups,
            graph=GroupGraph(found.edges),
            mappings=[
                Mapping(
                    row.id,
                    GroupRef(row.group_kind, row.group_value),
                    ref,
                    row.scope_id,
                    row.assign_account,
                )
                for row, ref in rows
            ],
            mapping_since={row.id: row.created_at for row, _ in rows},
            group_since=found.created,
        )
        return requests

    def add(self, row: AssignmentRow) -> None:
        self._session.add(row)
        self._session.flush()

    def remove(self, row: AssignmentRow) -> None:
        self._session.delete(row)
        self._session.flush()

    def _listed(self, tenant_id: str) -> Select[tuple[AssignmentRow, str]]:
        # Listed with the role's ref (product/key), which names it across products.
        ref = role_ref_sql()
        return (
            select(AssignmentRow, ref)
            .join(RoleRow, RoleRow.id == AssignmentRow.role_id)
            .join(ProductRow, ProductRow.id == RoleRow.product_id)
            .where(AssignmentRow.tenant_id == tenant_id)
        )

    # -- what an assignment is checked against -------------------------------------

    def find_user(self, tenant_id: str, ref: str) -> FoundUser | None:
        """The SCIM user `ref` names: its id, userName (any case) or externalId."""
        return SqlUsers(self._session).find(tenant_id, ref)

    def role(self, tenant_id: str, key: str, product: str | None = None) -> FoundRole | None:
        """The role ``key`` (of ``product``, or the only one of that key); raises
        Conflict when the key is in several products and none is named."""
        try:
            row = find_row(self._session, RoleRow, tenant_id, key, product)
        except NotFound:
            return None
        return FoundRole(row.id, role_from_row(row), product_from_row(row.product, None))

    def scope_tree(self, tenant_id: str, scope_ids: Iterable[str]) -> ScopeTree:
        """The part of the tenant's tree the rules need: the named scopes that exist,
        with all their ancestors (so ancestry between them can be told)."""
        ids = sorted(set(scope_ids))
        chain = (
            select(ScopeRow.id, ScopeRow.parent_id)
            .where(ScopeRow.tenant_id == tenant_id, ScopeRow.id.in_(ids))
            .cte("chain", recursive=True)
        )
        chain = chain.union(
            select(ScopeRow.id, ScopeRow.parent_id)
            .join(chain, ScopeRow.id == chain.c.parent_id)
            .where(ScopeRow.tenant_id == tenant_id)
        )
        rows = self._session.execute(
            select(
                ScopeRow.id, ScopeRow.type, ScopeRow.name, ScopeRow.parent_id, ScopeRow.account_type
            ).where(ScopeRow.id.in_(select(chain.c.id)))
        ).all()
        declared = self._session.scalars(
            select(ScopeTypeRow.key).where(ScopeTypeRow.tenant_id == tenant_id)
        ).all()
        return ScopeTree(
            (
                Scope(sid, stype, name, parent, None if acct is None else AccountType(acct))
                for sid, stype, name, parent, acct in rows
            ),
            declared,
        )

    def account_rules(self, tenant_id: str) -> AccountRules:
        raw = self._session.scalar(
            select(PermissionSettingsRow.account_rules).where(
                PermissionSettingsRow.tenant_id == tenant_id
            )
        )
        return rules_from_json(raw)
