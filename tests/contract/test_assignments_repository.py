"""The assignments repository's contract, run against the in-memory twin the
service-layer tests use (tests/fakes/assignments.py) and the SQL one on the test
database: the use cases must find the same answers in both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from service.domain import (
    DEFAULT_PRODUCT,
    SEED_001_RULES,
    AccountRequest,
    AccountRules,
    AccountType,
    Origin,
    Role,
    Scope,
)
from service.persistence.base import new_id
from service.persistence.permission_models import (
    AssignmentRow,
    MappingRow,
    PermissionSettingsRow,
    RoleRow,
    ScopeRow,
    ScopeTypeRow,
)
from service.persistence.repositories.assignments import SqlAssignments
from service.persistence.scim_models import ScimGroup, ScimGroupMember, ScimUser
from service.services.products import default_product_row
from tests.fakes.assignments import FakeAssignments

Repository = SqlAssignments | FakeAssignments


@dataclass
class Backend:
    """A repository, and how a test puts in what it is checked against."""

    repo: Repository
    tenant_id: str
    other_tenant_id: str
    scope: Callable[[str, Scope], object]
    role: Callable[[str, Role], str]
    user: Callable[..., str]
    scope_type: Callable[[str, str], None]
    rules: Callable[[str, AccountRules], None]
    # Puts the user in a group (named) that a mapping with assign_account maps to the
    # role at the account; returns the mapping's id.
    mapped: Callable[[str, str, str, str, str], str]


def _fake() -> Backend:
    fake = FakeAssignments()

    def mapped(tenant: str, user_id: str, role_id: str, account: str, group: str) -> str:
        mapping_id = new_id()
        via = Origin.mapping(mapping_id, new_id(), group)
        fake.add_mapped_account(tenant, user_id, AccountRequest(account, mapping_id, None, via))
        return mapping_id

    return Backend(
        fake,
        "t1",
        "t2",
        fake.add_scope,
        fake.add_role,
        fake.add_user,
        fake.declare_scope_type,
        fake.set_account_rules,
        mapped,
    )


@pytest.fixture(params=["fake", "sql"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "fake":
        yield _fake()
        return
    runtime = request.getfixturevalue("runtime")
    make_tenant = request.getfixturevalue("make_tenant")
    tenant_id, other_id = make_tenant("acme").id, make_tenant("other").id
    with runtime.unit_of_work() as uow:
        session = uow.session

        def added(row: object) -> None:
            session.add(row)
            session.flush()

        def scope(tenant: str, s: Scope) -> None:
            account_type = None if s.account_type is None else s.account_type.value
            added(
                ScopeRow(
                    id=s.id,
                    tenant_id=tenant,
                    type=s.type,
                    name=s.name,
                    parent_id=s.parent_id,
                    account_type=account_type,
                )
            )

        def role(tenant: str, r: Role) -> str:
            row = RoleRow(
                tenant_id=tenant,
                product=default_product_row(session, tenant),
                key=r.key,
                name=r.name,
                grants=dict(r.grants),
                allowed_scope_types=None
                if r.allowed_scope_types is None
                else sorted(r.allowed_scope_types),
                allowed_account_types=None
                if r.allowed_account_types is None
                else sorted(t.value for t in r.allowed_account_types),
                reaches_descendants=r.reaches_descendants,
                root_only=r.root_only,
                description=r.description,
            )
            added(row)
            return row.id

        def user(
            tenant: str,
            user_name: str,
            *,
            user_type: str | None = None,
            external_id: str | None = None,
            user_id: str | None = None,
        ) -> str:
            now = datetime.now(UTC)
            row = ScimUser(
                id=user_id,
                tenant_id=tenant,
                user_name=user_name,
                user_name_lower=user_name.lower(),
                external_id=external_id,
                user_type=user_type,
                document={},
                created=now,
                last_modified=now,
            )
            added(row)
            return row.id

        def scope_type(tenant: str, key: str) -> None:
            added(ScopeTypeRow(tenant_id=tenant, key=key))

        def rules(tenant: str, r: AccountRules) -> None:
            added(PermissionSettingsRow(tenant_id=tenant, account_rules=r.to_dict()))

        def mapped(tenant: str, user_id: str, role_id: str, account: str, group: str) -> str:
            now = datetime.now(UTC)
            group_row = ScimGroup(
                tenant_id=tenant,
                display_name=group,
                display_name_lower=group.lower(),
                document={},
                created=now,
                last_modified=now,
            )
            added(group_row)
            added(
                ScimGroupMember(
                    tenant_id=tenant, group_id=group_row.id, member_id=user_id, member_type="User"
                )
            )
            mapping = MappingRow(
                tenant_id=tenant,
                group_kind="displayName",
                group_value=group,
                group_value_lower=group.lower(),
                role_id=role_id,
                scope_id=account,
                assign_account=True,
                created_by="admin",
            )
            added(mapping)
            return mapping.id

        yield Backend(
            uow.assignments, tenant_id, other_id, scope, role, user, scope_type, rules, mapped
        )


def _tree(b: Backend) -> None:
    for scope in (
        Scope("org", "organization", "Acme"),
        Scope("east", "account", "East", "org", AccountType.CUSTOMER),
        Scope("east-sub", "account", "East Retail", "east", AccountType.CUSTOMER),
        Scope("west", "account", "West", "org", AccountType.CUSTOMER),
    ):
        b.scope(b.tenant_id, scope)


def _row(b: Backend, user_id: str, role_id: str, scope_id: str, account: bool) -> AssignmentRow:
    row = AssignmentRow(
        tenant_id=b.tenant_id,
        user_id=user_id,
        role_id=role_id,
        scope_id=scope_id,
        assign_account=account,
        created_by="admin",
    )
    b.repo.add(row)
    return row


def test_a_user_is_found_by_id_user_name_in_any_case_or_external_id(backend: Backend) -> None:
    b = backend
    ada = b.user(b.tenant_id, "Ada@Acme.test", user_type="Customer", external_id="ext-1")
    b.user(b.other_tenant_id, "ghost@acme.test")

    for ref in (ada, "ada@acme.TEST", " ext-1 "):
        found = b.repo.find_user(b.tenant_id, ref)
        assert found is not None
        assert (found.id, found.user_type) == (ada, "Customer")
    assert b.repo.find_user(b.tenant_id, "ghost@acme.test") is None
    assert b.repo.find_user(b.tenant_id, "") is None


def test_an_id_match_beats_a_user_name_match_beats_an_external_id_match(backend: Backend) -> None:
    b = backend
    by_id = b.user(b.tenant_id, "first@acme.test", user_id="00000000-0000-0000-0000-00000000000a")
    by_name = b.user(b.tenant_id, "00000000-0000-0000-0000-00000000000a", external_id="x")
    b.user(b.tenant_id, "third@acme.test", external_id=by_name)

    assert b.repo.find_user(b.tenant_id, by_id).id == by_id  # type: ignore[union-attr]
    assert b.repo.find_user(b.tenant_id, by_name).id == by_name  # type: ignore[union-attr]


def test_a_role_comes_back_as_the_domain_role_with_its_row_id(backend: Backend) -> None:
    b = backend
    role = Role(
        "portal_user",
        "Portal user",
        {"reports": "view"},
        allowed_scope_types=frozenset({"account"}),
        allowed_account_types=frozenset({AccountType.CUSTOMER}),
    )
    role_id = b.role(b.tenant_id, role)

    found = b.repo.role(b.tenant_id, "portal_user")
    assert found is not None
    # A role made without naming a product lives in the tenant's default product.
    assert (found.id, found.role) == (role_id, replace(role, product=DEFAULT_PRODUCT))
    assert found.product.key == DEFAULT_PRODUCT
    assert b.repo.role(b.tenant_id, "portal_user", DEFAULT_PRODUCT) == found
    assert b.repo.role(b.tenant_id, "portal_user", "reporting") is None
    assert b.repo.role(b.other_tenant_id, "portal_user") is None
    assert b.repo.role(b.tenant_id, "nope") is None


def test_a_scope_tree_holds_the_named_scopes_and_their_ancestors_only(backend: Backend) -> None:
    b = backend
    _tree(b)
    b.scope_type(b.tenant_id, "region")
    b.scope(b.tenant_id, Scope("north", "region", "North", "org"))

    tree = b.repo.scope_tree(b.tenant_id, ["east-sub", "north", "nope"])

    assert {s.id for s in tree} == {"org", "east", "east-sub", "north"}
    assert tree.get("east-sub") == Scope(
        "east-sub", "account", "East Retail", "east", AccountType.CUSTOMER
    )
    assert tree.is_ancestor("east", "east-sub")
    assert {s.id for s in b.repo.scope_tree(b.other_tenant_id, ["east"])} == set()


def test_account_rules_are_seed_001s_unless_the_tenant_set_others(backend: Backend) -> None:
    b = backend
    lenient = AccountRules(single_account_type=False)
    b.rules(b.other_tenant_id, lenient)

    assert b.repo.account_rules(b.tenant_id) == SEED_001_RULES
    assert b.repo.account_rules(b.other_tenant_id).to_dict() == lenient.to_dict()


def test_added_assignments_are_read_back_listed_and_removed(backend: Backend) -> None:
    b = backend
    _tree(b)
    view = b.role(b.tenant_id, Role("view", "View"))
    portal = b.role(b.tenant_id, Role("portal", "Portal"))
    ada = b.user(b.tenant_id, "ada@acme.test")
    bob = b.user(b.tenant_id, "bob@acme.test")

    first = _row(b, ada, view, "org", False)
    second = _row(b, ada, portal, "east", True)
    third = _row(b, bob, view, "west", True)

    assert first.id and first.created_at
    # Listed with the role's ref, product/key.
    assert b.repo.get(b.tenant_id, second.id) == (second, "default/portal")
    assert b.repo.get(b.other_tenant_id, second.id) is None
    assert b.repo.exists(b.tenant_id, ada, view, "org")
    assert not b.repo.exists(b.tenant_id, ada, view, "east")
    assert [
        (r.account_id, r.origin, r.detail.id) for r in b.repo.account_requests(b.tenant_id, ada)
    ] == [("east", "direct", second.id)]

    page, total = b.repo.listing(b.tenant_id, page=1, per_page=2)
    assert ([(r.id, key) for r, key in page], total) == (
        [(first.id, "default/view"), (second.id, "default/portal")],
        3,
    )
    rest, _ = b.repo.listing(b.tenant_id, page=2, per_page=2)
    assert [r.id for r, _ in rest] == [third.id]
    for query, expected in (
        ({"user_id": ada}, [first.id, second.id]),
        ({"role_key": "view"}, [first.id, third.id]),
        ({"scope_id": "west"}, [third.id]),
    ):
        rows, count = b.repo.listing(b.tenant_id, page=1, per_page=10, **query)  # type: ignore[arg-type]
        assert ([r.id for r, _ in rows], count) == (expected, len(expected))

    b.repo.remove(second)
    assert b.repo.get(b.tenant_id, second.id) is None
    assert b.repo.account_requests(b.tenant_id, ada) == []


def test_the_accounts_a_user_asks_for_through_its_groups_name_the_mapping_and_group(
    backend: Backend,
) -> None:
    b = backend
    _tree(b)
    portal = b.role(b.tenant_id, Role("portal", "Portal"))
    ada = b.user(b.tenant_id, "ada@acme.test")
    direct = _row(b, ada, portal, "west", True)
    mapping = b.mapped(b.tenant_id, ada, portal, "east", "East Users")

    requests = b.repo.account_requests(b.tenant_id, ada)

    assert [(r.account_id, r.origin) for r in requests] == [
        ("west", "direct"),
        ("east", mapping),
    ]
    assert requests[0].detail.id == direct.id
    assert (requests[1].detail.id, requests[1].detail.group_name) == (mapping, "East Users")
