"""Use cases for a tenant's permission settings: the default product (and, for
clients from before products, its default role) and the account rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import SEED_001_RULES, AccountRules, ValidationFailed
from service.domain.changes import RevocationBrake
from service.persistence.permission_models import PermissionSettingsRow, ProductRow, RoleRow
from service.persistence.unit_of_work import UnitOfWork
from service.services.audit import record
from service.services.permission_model import bump_model_version, settings_row
from service.services.products import default_product_row, product_row

_UNSET = object()


def describe_settings(session: Session, row: PermissionSettingsRow) -> dict[str, Any]:
    product = session.get(ProductRow, row.default_product_id) if row.default_product_id else None
    default_key = None
    if product is not None and product.default_role_id is not None:
        default_key = session.scalar(
            select(RoleRow.key).where(RoleRow.id == product.default_role_id)
        )
    rules = (
        SEED_001_RULES if row.account_rules is None else AccountRules.from_dict(row.account_rules)
    )
    return {
        "default_product": None if product is None else product.key,
        "default_role": default_key,
        "account_rules": rules.to_dict(),
        "account_rules_are_default": row.account_rules is None,
        "revocation_brake": RevocationBrake.from_dict(row.revocation_brake).to_dict(),
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
    default_product: str | object = _UNSET,
    default_role: str | object | None = _UNSET,
    account_rules: dict[str, Any] | object | None = _UNSET,
    revocation_brake: dict[str, Any] | object | None = _UNSET,
    actor: str,
) -> dict[str, Any]:
    """Set the default product (a key), the default product's default role (a key of
    that product, or None for none) and the account rules (an object, or None for seed
    001's) and the brake on mass revocation (an object, or None for its defaults); an
    argument left out is left as it is."""
    with uow:
        session = uow.session
        # The brake is no part of the permission model: setting it alone moves no
        # one's permissions, so it neither bumps the model version nor recomputes.
        if any(v is not _UNSET for v in (default_product, default_role, account_rules)):
            bump_model_version(session, tenant_id)
        row = settings_row(session, tenant_id)
        before = describe_settings(session, row)
        if default_product is not _UNSET:
            row.default_product_id = product_row(
                session, tenant_id, str(default_product), "default_product"
            ).id
        if default_role is not _UNSET:
            product = default_product_row(session, tenant_id)
            if default_role is None:
                product.default_role_id = None
            else:
                role_id = session.scalar(
                    select(RoleRow.id).where(
                        RoleRow.product_id == product.id, RoleRow.key == default_role
                    )
                )
                if role_id is None:
                    raise ValidationFailed(
                        "unknown_role",
                        f"the default product {product.key!r} has no role {default_role!r}",
                        "default_role",
                    )
                product.default_role_id = role_id
        if account_rules is not _UNSET:
            row.account_rules = None if account_rules is None else _rules(account_rules)  # type: ignore[arg-type]
        if revocation_brake is not _UNSET:
            row.revocation_brake = (
                None
                if revocation_brake is None
                else RevocationBrake.from_dict(revocation_brake).to_dict()  # type: ignore[arg-type]
            )
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
