"""Self-registration through an End-User Portal (seed 001), and the tenant's settings
for it. The rules are the domain's (service.domain.self_registration); this applies
them in one unit of work, through the use cases an admin and an IdP go through:

1. the account: joined (an existing self-registered account, by id) or created for
   the company (`scopes.create_scope`, below the tenant's chosen parent or at the root);
2. the user: created as the SCIM layer creates one (`scim_users.create_user`), so SCIM
   reads show it, with userType Self-Registered;
3. the membership: a direct assignment with `assign_account`
   (`assignments.create_assignment`), under seed 001's account rules.

Either all of it commits, with an audit event for each step and one for the
registration, or none of it does. A registration sent again (a retry after a lost
answer) finds its userName taken: 409 naming `user_name`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from scim2_models import (
    Email,
    EnterpriseUser,
    InvalidValueException,
    Name,
    UniquenessException,
    User,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.domain import AccountType, Conflict, DomainError, Role, Scope, ValidationFailed
from service.domain.self_registration import (
    USER_TYPE,
    SelfRegistrationSettings,
    check_target,
    joinable,
    new_account,
)
from service.persistence.base import utcnow
from service.persistence.unit_of_work import UnitOfWork
from service.persistence.user_models import SelfRegistrationSettingsRow
from service.services import assignments, scim_users, scopes
from service.services.permission_model import scope_from_row

# The request's names for what the steps' own errors name.
_FIELDS = {
    "userName": "user_name",
    "name.givenName": "given_name",
    "name.familyName": "family_name",
    "displayName": "given_name",
    "role_key": "role",
    "user": "user_name",
}


@dataclass(frozen=True)
class Registration:
    """What a person signing up gives the portal."""

    user_name: str
    email: str
    given_name: str | None = None
    family_name: str | None = None
    company: str | None = None
    account_id: str | None = None
    role: str | None = None


# -- settings ------------------------------------------------------------------------


def _settings_of(row: SelfRegistrationSettingsRow | None) -> SelfRegistrationSettings:
    if row is None:
        return SelfRegistrationSettings()
    return SelfRegistrationSettings(row.parent_scope_id, row.default_role, frozenset(row.roles))


def describe_settings(settings: SelfRegistrationSettings) -> dict[str, Any]:
    return {
        "parent_scope_id": settings.parent_scope_id,
        "default_role": settings.default_role,
        "roles": sorted(settings.roles),
    }


def get_settings(uow: UnitOfWork, tenant_id: str) -> dict[str, Any]:
    with uow:
        return describe_settings(
            _settings_of(uow.session.get(SelfRegistrationSettingsRow, tenant_id))
        )


def update_settings(
    uow: UnitOfWork, tenant_id: str, changes: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Set where new accounts go and which roles a registration gives; a field left out
    is left as it is. The scope must exist, and every role must exist and be grantable
    at a new self-registered account there."""
    with uow:
        session = uow.session
        row = _settings_row(session, tenant_id)
        before = _settings_of(row)
        after = SelfRegistrationSettings(
            changes.get("parent_scope_id", before.parent_scope_id),
            changes.get("default_role", before.default_role),
            frozenset(changes.get("roles", before.roles)),
        )
        if after.parent_scope_id is not None:
            tree = uow.assignments.scope_tree(tenant_id, [after.parent_scope_id])
            if tree.find(after.parent_scope_id) is None:
                raise ValidationFailed(
                    "unknown_scope",
                    f"scope {after.parent_scope_id!r} does not exist",
                    "parent_scope_id",
                )
        after.check_roles(_roles(uow, tenant_id, after))
        row.parent_scope_id = after.parent_scope_id
        row.default_role = after.default_role
        row.roles = sorted(after.roles)
        row.updated_at = utcnow()
        session.flush()
        uow.audit.record(
            tenant_id,
            actor,
            "self_registration.settings.update",
            "settings",
            "self_registration",
            before=describe_settings(before),
            after=describe_settings(after),
        )
        return describe_settings(after)


def _settings_row(session: Session, tenant_id: str) -> SelfRegistrationSettingsRow:
    """The tenant's row, made on first use and locked until the change commits, so two
    first changes neither collide nor interleave."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(SelfRegistrationSettingsRow)
        .values(tenant_id=tenant_id, roles=[])
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    row = session.get(SelfRegistrationSettingsRow, tenant_id, with_for_update=True)
    assert row is not None
    return row


def _roles(uow: UnitOfWork, tenant_id: str, settings: SelfRegistrationSettings) -> list[Role]:
    found = []
    for key in sorted(settings.allowed_roles):
        role = uow.assignments.role(tenant_id, key)
        if role is None:
            field = "default_role" if key == settings.default_role else "roles"
            raise ValidationFailed("unknown_role", f"role {key!r} does not exist", field)
        found.append(role.role)
    return found


# -- registering ---------------------------------------------------------------------


def register(
    uow: UnitOfWork, tenant_id: str, registration: Registration, actor: str
) -> dict[str, Any]:
    """Register a person who signed up: their account (joined or made for their
    company), their user and their membership, in one transaction."""
    check_target(registration.company, registration.account_id)
    with uow:
        settings = _settings_of(uow.session.get(SelfRegistrationSettingsRow, tenant_id))
        role_key = settings.role_for(registration.role)
        with _named_as_requested(registration):
            # What can be refused without writing anything first: the account to join,
            # the place for a new one, then the user (a taken userName).
            joined = _joined(uow, tenant_id, registration.account_id)
            user = scim_users.create_user(uow, tenant_id, actor, _resource(registration))
            account = joined or _created(uow, tenant_id, registration.company, settings, actor)
            row, _ = assignments.create_assignment(
                uow,
                tenant_id,
                user=user.id,
                role_key=role_key,
                scope_id=account["id"],
                assign_account=True,
                actor=actor,
            )
        answer = {
            "user": {
                "id": user.id,
                "user_name": user.user_name,
                **uow.user_types.table(tenant_id).read(user.user_type).to_dict(),
            },
            "account": account,
            "role_key": role_key,
            "assignment_id": row.id,
        }
        uow.audit.record(
            tenant_id,
            actor,
            "self_registration.register",
            "scim_user",
            user.id,
            after={
                "user_name": user.user_name,
                "account_id": account["id"],
                "account_created": account["created"],
                "role_key": role_key,
            },
        )
        return answer


def _joined(uow: UnitOfWork, tenant_id: str, account_id: str | None) -> dict[str, Any] | None:
    """The existing account a registration joins, as the answer shows it; None when the
    registration creates one."""
    if account_id is None:
        return None
    tree = uow.assignments.scope_tree(tenant_id, [account_id])
    return _shown(joinable(account_id, tree.find(account_id)), False)


def _created(
    uow: UnitOfWork,
    tenant_id: str,
    company: str | None,
    settings: SelfRegistrationSettings,
    actor: str,
) -> dict[str, Any]:
    """The account made for the company, below the tenant's chosen scope or at the root."""
    assert company is not None  # check_target
    wanted = new_account(company, settings.parent_scope_id)
    parent = wanted.parent_id
    if parent is not None and uow.assignments.scope_tree(tenant_id, [parent]).find(parent) is None:
        raise Conflict(
            "self_registration_not_configured",
            f"the scope self-registered accounts go below ({parent!r}) no longer exists; "
            "an admin sets another with PUT /api/v1/settings/self-registration",
            "parent_scope_id",
        )
    row = scopes.create_scope(
        uow,
        tenant_id,
        type=wanted.type,
        name=wanted.name,
        parent_id=parent,
        account_type=AccountType.SELF_REGISTERED.value,
        actor=actor,
    )
    return _shown(scope_from_row(row), True)


def _shown(account: Scope, created: bool) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "parent_id": account.parent_id,
        "account_type": account.account_type.value if account.account_type else None,
        "created": created,
    }


def _resource(registration: Registration) -> User[EnterpriseUser]:
    """The user as an IdP would have pushed it."""
    names = [n for n in (registration.given_name, registration.family_name) if n]
    return User[EnterpriseUser](
        user_name=registration.user_name,
        name=Name(given_name=registration.given_name, family_name=registration.family_name)
        if names
        else None,
        display_name=" ".join(names) or None,
        emails=[Email(value=registration.email, primary=True, type="work")],
        user_type=USER_TYPE,
        active=True,
    )


@contextmanager
def _named_as_requested(registration: Registration) -> Iterator[None]:
    """Errors of the steps, named after the registration's own fields: a taken userName
    is a 409 on `user_name`, an account rule refusing the membership names the account
    (`account_id` or `company`), a role that cannot be given `role`."""
    account_field = "account_id" if registration.account_id is not None else "company"

    def field(name: str | None) -> str:
        if name in ("scope_id", "parent_id"):
            return account_field
        return _FIELDS.get(name or "", "user_name")

    try:
        yield
    except UniquenessException as error:
        raise Conflict("duplicate", str(error.detail), field(error.attribute)) from error
    except InvalidValueException as error:
        message = str(error.detail)
        raise ValidationFailed("invalid_value", message, field(error.attribute)) from error
    except DomainError as error:
        if error.field not in ("scope_id", "parent_id", "role_key", "user"):
            raise
        raise type(error)(error.code, error.message, field(error.field)) from error
