"""Account conflicts, derived on every read from the current state.

A conflict is never stored, so one whose cause has gone (the clashing mapping
deleted, the user out of the group, the account moved) is simply not listed.
"""

from __future__ import annotations

from typing import Any

from service.domain import split_ref
from service.persistence.unit_of_work import UnitOfWork
from service.services import effective
from service.services.permission_model import load_model


def list_conflicts(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    user: str | None = None,
    rule: str | None = None,
    account_id: str | None = None,
    mapping_id: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the tenant's account conflicts, each with the names an admin reads,
    and how many there are in all."""
    with uow.reading() as session:
        model = load_model(session, tenant_id)
        user_id = None if user is None else effective.resolve_user_ref(session, tenant_id, user)
        records = [
            r
            for r in effective.account_conflicts(session, tenant_id, model)
            if (user_id is None or r.user_id == user_id)
            and (rule is None or r.conflict.rule.value == rule)
            and (account_id is None or r.conflict.account_id == account_id)
            and (mapping_id is None or r.conflict.origin == mapping_id)
        ]
        start = (page - 1) * per_page
        shown = records[start : start + per_page]
        names = effective.user_names(session, tenant_id, [r.user_id for r in shown])
    out = []
    for r in shown:
        account = model.tree.find(r.conflict.account_id)
        mapping = r.mapping
        out.append(
            {
                **r.conflict.to_dict(),
                "user_id": r.user_id,
                "user_name": names.get(r.user_id),
                "account_name": None if account is None else account.name,
                "mapping": None
                if mapping is None
                else {
                    "id": mapping.id,
                    "group": {"kind": mapping.group.kind.value, "value": mapping.group.value},
                    "product": split_ref(mapping.role_key)[0],
                    "role_key": split_ref(mapping.role_key)[1],
                    "scope_id": mapping.scope_id,
                },
            }
        )
    return out, len(records)
