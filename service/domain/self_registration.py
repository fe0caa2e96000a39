"""Self-registration (seed 001): "A user who self-registers through the End-User Portal
provides a company name, a new account is created to correspond to the new company
name, and the user is assigned to it. Optionally, users can select to be associated
with an existing Self-Registered account by providing the account ID upon
self-registration, instead of creating a new account."

The rules of one registration, in plain Python; service.services.self_registration
applies them in one transaction:

- a registration names exactly one of a company (a new account) or an account id
  (an existing account, which must be a self-registered one);
- the user is of the Self-Registered type and is assigned to the account with a role:
  the one the registration names, if the tenant lets registrations name it, else the
  tenant's default for registrations (:meth:`SelfRegistrationSettings.role_for`);
- new accounts go below the scope the tenant chose, or are roots of its tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from service.domain.accounts import UserType
from service.domain.errors import Conflict, NotFound, ValidationFailed
from service.domain.roles import Role
from service.domain.scopes import ACCOUNT, AccountType, Scope, ScopeTree
from service.domain.user_types import LABELS

# The userType a self-registered user is stored with (SCIM reads show it as sent).
USER_TYPE = LABELS[UserType.SELF_REGISTERED]


def check_target(company: str | None, account_id: str | None) -> None:
    """A registration creates an account for a company, or joins one by id: not both,
    not neither."""
    if (company is None) == (account_id is None):
        raise ValidationFailed(
            "company_or_account_id",
            "give either company (a new account) or account_id (an existing "
            "self-registered account), not both",
            "company" if company is None else "account_id",
        )
    if company is not None and not company.strip():
        raise ValidationFailed("invalid_value", "company must not be blank", "company")


def joinable(account_id: str, scope: Scope | None) -> Scope:
    """The account a registration joins: it exists (404) and is a self-registered
    account (409), each naming `account_id`."""
    if scope is None:
        raise NotFound("not_found", f"no account {account_id!r}", "account_id")
    if not scope.is_account or scope.account_type is not AccountType.SELF_REGISTERED:
        what = (
            f"a {scope.account_type.value} account"
            if scope.is_account and scope.account_type is not None
            else f"a {scope.type}, not an account"
        )
        raise Conflict(
            "not_self_registered",
            f"{account_id!r} is {what}; a registration joins self-registered accounts only",
            "account_id",
        )
    return scope


def new_account(company: str, parent_id: str | None) -> Scope:
    """The account a company's registration creates (its id is given when stored)."""
    return Scope("", ACCOUNT, company.strip(), parent_id, AccountType.SELF_REGISTERED)


@dataclass(frozen=True)
class SelfRegistrationSettings:
    """A tenant's choices for self-registration: where new accounts go (None: at the
    root), the role a registration gives by default, and further roles a registration
    may name instead."""

    parent_scope_id: str | None = None
    default_role: str | None = None
    roles: frozenset[str] = frozenset()

    def role_for(self, named: str | None) -> str:
        """The role a registration gives. The one place that chooses it (the lead's
        products will make the default the licensing product's default role)."""
        if named is not None:
            if named != self.default_role and named not in self.roles:
                allowed = ", ".join(sorted(self.allowed_roles)) or "none"
                raise ValidationFailed(
                    "role_not_allowed",
                    f"a registration may not give role {named!r} (allowed: {allowed})",
                    "role",
                )
            return named
        if self.default_role is None:
            raise Conflict(
                "self_registration_not_configured",
                "self-registration has no default role; an admin sets one with "
                "PUT /api/v1/settings/self-registration, or the registration names a role",
                "role",
            )
        return self.default_role

    @property
    def allowed_roles(self) -> frozenset[str]:
        return self.roles | ({self.default_role} if self.default_role else frozenset())

    def check_roles(self, roles: Iterable[Role]) -> None:
        """Every role a registration may give can be granted at a new self-registered
        account, so no registration fails on the tenant's own settings."""
        # The new account alone: a root-only role is judged as if it were a root (the
        # registration's own assignment checks again, against the tenant's tree).
        where = replace(new_account("(a new account)", None), id="new-account")
        tree = ScopeTree([where])
        for role in roles:
            field = "default_role" if role.key == self.default_role else "roles"
            role.check_grantable_at(where, tree, field)
