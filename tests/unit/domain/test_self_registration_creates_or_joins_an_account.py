"""Seed 001's self-registration, as plain rules: "A user who self-registers through the
End-User Portal provides a company name, a new account is created to correspond to the
new company name, and the user is assigned to it. Optionally, users can select to be
associated with an existing Self-Registered account by providing the account ID upon
self-registration, instead of creating a new account." """

from __future__ import annotations

import pytest

from service.domain import AccountType, Conflict, NotFound, Role, Scope, ValidationFailed
from service.domain.self_registration import (
    USER_TYPE,
    SelfRegistrationSettings,
    check_target,
    joinable,
    new_account,
)
from service.domain.user_types import DEFAULT_TABLE

SELF = AccountType.SELF_REGISTERED


def test_a_self_registered_user_is_of_the_self_registered_type() -> None:
    assert DEFAULT_TABLE.type_of(USER_TYPE).value == "self_registered"


def test_a_new_account_is_created_to_correspond_to_the_new_company_name() -> None:
    account = new_account("  Initech  ", "parent")

    assert (account.type, account.name, account.parent_id, account.account_type) == (
        "account",
        "Initech",
        "parent",
        SELF,
    )


@pytest.mark.parametrize(
    ("company", "account_id", "field"),
    [(None, None, "company"), ("Initech", "acct-1", "account_id"), ("  ", None, "company")],
)
def test_a_registration_gives_a_company_or_an_account_id_not_both_or_neither(
    company: str | None, account_id: str | None, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_target(company, account_id)

    assert refused.value.field == field


def test_users_can_select_to_be_associated_with_an_existing_self_registered_account() -> None:
    existing = Scope("acct-1", "account", "Initech", None, SELF)

    assert joinable("acct-1", existing) is existing


def test_an_account_id_that_names_nothing_is_not_found_naming_the_field() -> None:
    with pytest.raises(NotFound) as refused:
        joinable("nope", None)

    assert refused.value.field == "account_id"


@pytest.mark.parametrize(
    "scope",
    [
        Scope("acme", "account", "Acme", None, AccountType.CUSTOMER),
        Scope("vendor", "account", "Vendor", None, AccountType.PRODUCER),
        Scope("org", "organization", "Org"),
    ],
)
def test_only_a_self_registered_account_can_be_joined(scope: Scope) -> None:
    with pytest.raises(Conflict) as refused:
        joinable(scope.id, scope)

    assert (refused.value.code, refused.value.field) == ("not_self_registered", "account_id")


def test_the_role_is_the_one_named_if_allowed_else_the_default() -> None:
    settings = SelfRegistrationSettings(default_role="portal_user", roles=frozenset({"admin"}))

    assert settings.role_for(None) == "portal_user"
    assert settings.role_for("admin") == "admin"
    assert settings.role_for("portal_user") == "portal_user"
    with pytest.raises(ValidationFailed) as refused:
        settings.role_for("system_administrator")
    assert (refused.value.code, refused.value.field) == ("role_not_allowed", "role")


def test_without_a_default_role_a_registration_must_name_one() -> None:
    with pytest.raises(Conflict) as refused:
        SelfRegistrationSettings().role_for(None)

    assert (refused.value.code, refused.value.field) == ("self_registration_not_configured", "role")


def test_settings_give_only_roles_grantable_at_a_self_registered_account() -> None:
    portal_user = Role(
        "portal_user",
        "Portal user",
        {"entitlements": "view"},
        allowed_scope_types=frozenset({"account"}),
        allowed_account_types=frozenset({AccountType.CUSTOMER, SELF}),
    )
    order_entry = Role(
        "order_entry",
        "Order entry",
        {"orders": "manage"},
        allowed_scope_types=frozenset({"account"}),
        allowed_account_types=frozenset({AccountType.PRODUCER}),
    )
    settings = SelfRegistrationSettings(
        default_role="portal_user", roles=frozenset({"order_entry"})
    )

    settings.check_roles([portal_user])
    with pytest.raises(ValidationFailed) as refused:
        settings.check_roles([portal_user, order_entry])
    assert refused.value.field == "roles"
