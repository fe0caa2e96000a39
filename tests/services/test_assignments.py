"""Direct assignments, the use cases alone: on a fake unit of work, with no Flask and
no database (the same rules through the API: tests/permissions)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from service.domain import (
    AccountRequest,
    AccountType,
    Conflict,
    NotFound,
    Origin,
    Role,
    Scope,
    ValidationFailed,
)
from service.services import assignments
from service.services.propagation import RECOMPUTE_USER
from tests.fakes.unit_of_work import FakeUnitOfWork

TENANT = "t-acme"
ADMIN = "admin@acme"


@dataclass
class Acme:
    """Seed 001's shape: an organization with customer accounts (one of them a
    sub-account) and a producer account, a folder, and users of two types."""

    uow: FakeUnitOfWork
    ada: str
    bob: str


@pytest.fixture
def acme() -> Acme:
    uow = FakeUnitOfWork()
    repo = uow.assignments
    for scope in (
        Scope("org", "organization", "Acme"),
        Scope("east", "account", "Acme East", "org", AccountType.CUSTOMER),
        Scope("east-sub", "account", "Acme East Retail", "east", AccountType.CUSTOMER),
        Scope("west", "account", "Acme West", "org", AccountType.CUSTOMER),
        Scope("agency", "account", "Acme Agency", "org", AccountType.PRODUCER),
        Scope("reports", "folder", "Reports", "org"),
    ):
        repo.add_scope(TENANT, scope)
    repo.add_role(TENANT, Role("view", "View"))
    repo.add_role(TENANT, Role("portal_user", "Portal user", allowed_scope_types={"account"}))
    ada = repo.add_user(TENANT, "ada@acme.test", user_type="Customer", external_id="ext-ada")
    bob = repo.add_user(TENANT, "bob@acme.test", user_type="Producer")
    return Acme(uow, ada, bob)


def assign(acme: Acme, user: str, role_key: str, scope_id: str, **extra: bool) -> str:
    row, _ = assignments.create_assignment(
        acme.uow, TENANT, user=user, role_key=role_key, scope_id=scope_id, actor=ADMIN, **extra
    )
    return row.id


def test_an_assignment_records_a_recompute_of_its_user_and_an_audit_event(acme: Acme) -> None:
    row, role_ref = assignments.create_assignment(
        acme.uow, TENANT, user="ada@acme.test", role_key="view", scope_id="org", actor=ADMIN
    )

    # The role comes back as its ref: a role made without a product is the default one's.
    assert (row.user_id, role_ref, row.scope_id, row.created_by) == (
        acme.ada,
        "default/view",
        "org",
        ADMIN,
    )
    assert acme.uow.commits == 1
    assert [(r.task, r.object_id) for r in acme.uow.emitted] == [(RECOMPUTE_USER, acme.ada)]
    assert acme.uow.audit.actions() == ["assignment.create"]
    event = acme.uow.audit.events[0]
    assert (event.target_id, event.after) == (
        row.id,
        assignments.describe_assignment(row, role_ref),
    )


def test_the_user_may_be_named_by_id_user_name_in_any_case_or_external_id(acme: Acme) -> None:
    for ref, scope_id in (
        (acme.ada, "org"),
        ("ADA@acme.test", "reports"),
        ("ext-ada", "east"),
    ):
        assign(acme, ref, "view", scope_id)

    rows, total = assignments.list_assignments(
        acme.uow, TENANT, page=1, per_page=10, user="ext-ada"
    )
    assert total == 3
    assert {row.user_id for row, _ in rows} == {acme.ada}


def test_an_unknown_user_is_refused_naming_the_field(acme: Acme) -> None:
    with pytest.raises(ValidationFailed) as refused:
        assign(acme, "ghost@acme.test", "view", "org")

    assert (refused.value.code, refused.value.field) == ("unknown_user", "user")
    assert acme.uow.rollbacks == 1
    assert (acme.uow.emitted, acme.uow.audit.events) == ([], [])


def test_an_unknown_role_or_scope_is_refused_naming_the_field(acme: Acme) -> None:
    with pytest.raises(ValidationFailed) as role:
        assign(acme, acme.ada, "nope", "org")
    with pytest.raises(ValidationFailed) as scope:
        assign(acme, acme.ada, "view", "nope")

    assert (role.value.code, role.value.field) == ("unknown_role", "role_key")
    assert (scope.value.code, scope.value.field) == ("unknown_scope", "scope_id")


def test_a_scope_of_another_tenant_is_unknown(acme: Acme) -> None:
    acme.uow.assignments.add_scope("t-other", Scope("elsewhere", "organization", "Other"))

    with pytest.raises(ValidationFailed) as refused:
        assign(acme, acme.ada, "view", "elsewhere")

    assert refused.value.code == "unknown_scope"


def test_a_role_is_not_granted_at_a_scope_type_it_does_not_allow(acme: Acme) -> None:
    with pytest.raises(ValidationFailed) as refused:
        assign(acme, acme.ada, "portal_user", "reports")

    assert (refused.value.code, refused.value.field) == ("scope_type_not_allowed", "scope_id")
    assert acme.uow.assignments.rows == []


def test_assign_account_needs_an_account_scope(acme: Acme) -> None:
    with pytest.raises(ValidationFailed) as refused:
        assign(acme, acme.ada, "view", "reports", assign_account=True)

    assert (refused.value.code, refused.value.field) == ("not_an_account", "assign_account")


def test_a_duplicate_assignment_is_refused(acme: Acme) -> None:
    assign(acme, acme.ada, "view", "org")

    with pytest.raises(Conflict) as refused:
        assign(acme, "ada@acme.test", "view", "org")

    assert (refused.value.code, refused.value.field) == ("duplicate", "role_key")
    assert len(acme.uow.assignments.rows) == 1
    assert acme.uow.tasks() == [RECOMPUTE_USER]


def test_an_account_of_a_type_that_does_not_fit_the_user_is_refused(acme: Acme) -> None:
    with pytest.raises(Conflict) as refused:
        assign(acme, acme.bob, "portal_user", "east", assign_account=True)

    assert (refused.value.code, refused.value.field) == ("user_type_mismatch", "scope_id")


def test_a_second_account_of_another_type_is_refused_as_seed_001_says(acme: Acme) -> None:
    untyped = acme.uow.assignments.add_user(TENANT, "carol@acme.test")
    assign(acme, untyped, "portal_user", "east", assign_account=True)

    with pytest.raises(Conflict) as refused:
        assign(acme, untyped, "portal_user", "agency", assign_account=True)

    assert (refused.value.code, refused.value.field) == ("mixed_account_types", "scope_id")


def test_two_accounts_in_one_vertical_hierarchy_are_refused_as_seed_001_says(acme: Acme) -> None:
    assign(acme, acme.ada, "portal_user", "east", assign_account=True)

    with pytest.raises(Conflict) as refused:
        assign(acme, acme.ada, "portal_user", "east-sub", assign_account=True)

    assert (refused.value.code, refused.value.field) == ("same_vertical_hierarchy", "scope_id")


def test_two_accounts_of_one_type_in_separate_hierarchies_are_both_held(acme: Acme) -> None:
    assign(acme, acme.ada, "portal_user", "east", assign_account=True)
    assign(acme, acme.ada, "portal_user", "west", assign_account=True)

    held = acme.uow.assignments.account_requests(TENANT, acme.ada)
    assert [request.account_id for request in held] == ["east", "west"]


def test_an_account_from_the_idp_is_not_evicted_by_a_direct_one(acme: Acme) -> None:
    """Seed 001: accounts "must not be in the same vertical hierarchy"; the user holds
    East Retail through a group, so a direct East is refused, naming that mapping."""
    acme.uow.assignments.add_mapped_account(
        TENANT,
        acme.ada,
        AccountRequest("east-sub", "m-retail", via=Origin.mapping("m-retail", "g-1", "Retail")),
    )

    with pytest.raises(Conflict) as refused:
        assign(acme, acme.ada, "portal_user", "east", assign_account=True)

    assert refused.value.code == "same_vertical_hierarchy"
    assert refused.value.details is not None
    assert refused.value.details["blocking_account_id"] == "east-sub"
    assert refused.value.details["blocking_origin"] == "m-retail"
    assert "mapping m-retail (group 'Retail')" in refused.value.message
    assert acme.uow.assignments.rows == []


def test_an_assignment_inside_an_accepts_unit_commits_with_it(acme: Acme) -> None:
    with acme.uow:
        assignments.create_assignment(
            acme.uow, TENANT, user=acme.ada, role_key="view", scope_id="org", actor=ADMIN
        )
        assert (acme.uow.commits, acme.uow.emitted) == (0, [])

    assert acme.uow.commits == 1
    assert acme.uow.tasks() == [RECOMPUTE_USER]


def test_deleting_an_assignment_recomputes_its_user(acme: Acme) -> None:
    assignment_id = assign(acme, acme.ada, "view", "org")

    user_id = assignments.delete_assignment(acme.uow, TENANT, assignment_id, ADMIN)

    assert user_id == acme.ada
    assert acme.uow.assignments.rows == []
    assert [(r.task, r.object_id) for r in acme.uow.emitted] == [(RECOMPUTE_USER, acme.ada)] * 2
    assert acme.uow.audit.actions() == ["assignment.create", "assignment.delete"]
    assert acme.uow.audit.events[-1].before is not None
    assert acme.uow.audit.events[-1].before["id"] == assignment_id


def test_an_unknown_assignment_is_not_found(acme: Acme) -> None:
    with pytest.raises(NotFound) as missing:
        assignments.delete_assignment(acme.uow, TENANT, "nope", ADMIN)
    with pytest.raises(NotFound):
        assignments.get_assignment(acme.uow, TENANT, "nope")

    assert missing.value.field == "assignment_id"
    assert acme.uow.emitted == []


def test_assignments_are_listed_oldest_first_and_filtered(acme: Acme) -> None:
    first = assign(acme, acme.ada, "view", "org")
    second = assign(acme, acme.bob, "view", "org")
    third = assign(acme, acme.bob, "portal_user", "agency")

    everything, total = assignments.list_assignments(acme.uow, TENANT, page=1, per_page=2)
    second_page, _ = assignments.list_assignments(acme.uow, TENANT, page=2, per_page=2)
    by_role, _ = assignments.list_assignments(
        acme.uow, TENANT, page=1, per_page=10, role_key="portal_user"
    )
    row, key = assignments.get_assignment(acme.uow, TENANT, second)

    assert total == 3
    assert [r.id for r, _ in everything] == [first, second]
    assert [r.id for r, _ in second_page] == [third]
    assert [(r.id, k) for r, k in by_role] == [(third, "default/portal_user")]
    assert (row.user_id, key) == (acme.bob, "default/view")


def test_listing_by_an_unknown_user_is_not_found(acme: Acme) -> None:
    with pytest.raises(NotFound) as missing:
        assignments.list_assignments(acme.uow, TENANT, page=1, per_page=10, user="ghost")

    assert missing.value.field == "user"
