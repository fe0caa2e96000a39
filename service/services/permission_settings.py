"""Use cases for a tenant's permission settings: the default role and account rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import SEED_001_RULES, AccountRules, ValidationFailed
from service.persistence.permission_models import PermissionSettingsRow, RoleRow
from service.persistence.unit_of_work import UnitOfWork
from service.services.audit import record
from service.services.permission_model import bump_model_version, settings_row

_UNSET = object()


def describe_settings(session: Session, row: PermissionSettingsRow) -> dict[str, Any]:
    default_key = None
    if row.default_role_id is not None:
        default_key = session.scalar(select(RoleRow.key).where(RoleRow.id == row.default_role_id))
    rules = (
        SEED_001_RULES if row.account_rules is None else AccountRules.from_dict(row.account_rules)
    )
    return {
        "default_role": default_key,
        "account_rules": rules.to_dict(),
        "account_rules_are_default": row.account_rules is None,
        "model_version": row.model_version,
    }


def get_settings(uow: UnitOfWork, tenant_id: str) -> dict[str, Any]:
    with uow:
        session = uow.session
        return describe_settings(session, settings_row(session, tenant_id))


def _rules(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        return AccountRules.from_dict(raw).to_dict()
    except ValueError as exc:
        raise ValidationFailed("invalid_value", str(exc), "account_rules") from None


def update_settings(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    default_role: str | object | None = _UNSET,
    account_rules: dict[str, Any] | object | None = _UNSET,
    actor: str,
) -> dict[str, Any]:
    """Set the default role (a key, or None for none) and the account rules (an
    object, or None for seed 001's); an argument left out is left as it is."""
    with uow:
        session = uow.session
        bump_model_version(session, tenant_id)
        row = settings_row(session, tenant_id)
        before = describe_settings(session, row)
        if default_role is not _UNSET:
            if default_role is None:
                row.default_role_id = None
            else:
                role_id = session.scalar(
                    select(RoleRow.id).where(
                        RoleRow.tenant_id == tenant_id, RoleRow.key == default_role
                    )
                )
                if role_id is None:
                    raise ValidationFailed(
                        "unknown_role", f"role {default_role!r} does not exist", "default_role"
                    )
                row.default_role_id = role_id
        if account_rules is not _UNSET:
            row.account_rules = None if account_rules is None else _rules(account_rules)  # type: ignore[arg-type]
        session.flush()
        session.refresh(row)
        after = describe_settings(session, row)
        record(
            session,
            tenant_id,
            actor,
            "settings.update",
            "settings",
            "permissions",
            before=before,
            after=after,
        )
        return after
