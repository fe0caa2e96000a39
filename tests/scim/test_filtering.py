"""Filters run as SQL: every operator, logic, complex and extension attributes, errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from service.persistence.scim_models import ScimUser
from service.runtime import Runtime
from service.scim.filters import USERS, SqlFilter
from service.scim.protocol import build_provider
from tests.conftest import counted
from tests.scim.conftest import ENTERPRISE, LIST_SCHEMA, Scim, assert_scim_error


@pytest.fixture
def people(scim: Scim) -> dict[str, str]:
    users = {
        "alice": scim.create_user(
            "Alice@Example.org",
            externalId="ext-alice",
            displayName="Alice Liddell",
            title="Boss",
            name={"givenName": "Alice", "familyName": "Liddell"},
            emails=[
                {"value": "alice@home.example", "type": "home"},
                {"value": "alice@example.org", "type": "work", "primary": True},
            ],
            **{ENTERPRISE: {"employeeNumber": "100", "department": "Sales"}},
        ),
        "bob": scim.create_user(
            "bob@example.org",
            displayName="Bob",
            active=False,
            emails=[{"value": "bob@example.com", "type": "work"}],
            **{ENTERPRISE: {"employeeNumber": "20", "department": "Engineering"}},
        ),
        "carol": scim.create_user("carol", name={"familyName": "smith"}),
    }
    return {name: body["id"] for name, body in users.items()}


def found(scim: Scim, expression: str) -> set[str]:
    response = scim.get("/Users", filter=expression)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["schemas"] == [LIST_SCHEMA]
    assert response.json["totalResults"] == len(response.json.get("Resources", []))
    return {user["id"] for user in response.json.get("Resources", [])}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "alice@example.org"', {"alice"}),
        ('userName ne "alice@example.org"', {"bob", "carol"}),
        ('userName co "EXAMPLE"', {"alice", "bob"}),
        ('userName sw "b"', {"bob"}),
        ('userName ew ".org"', {"alice", "bob"}),
        ("title pr", {"alice"}),
        ('userName gt "bob"', {"bob", "carol"}),
        ('userName gt "bob@example.org"', {"carol"}),
        ('userName ge "bob"', {"bob", "carol"}),
        ('userName lt "bob"', {"alice"}),
        ('userName le "bob@example.org"', {"alice", "bob"}),
        ('externalId eq "ext-alice"', {"alice"}),
        ('displayName eq "bob"', {"bob"}),
        ('name.familyName eq "SMITH"', {"carol"}),
        ("active eq false", {"bob"}),
        ('title eq "Boss" and active eq false', set()),
        ('title eq "Boss" or displayName eq "Bob"', {"alice", "bob"}),
        ('not (title eq "Boss")', {"bob", "carol"}),
        ('(userName sw "a" or userName sw "b") and not (active eq false)', {"alice"}),
        ('emails[type eq "work" and value co "@example.org"]', {"alice"}),
        ('emails[type eq "work"]', {"alice", "bob"}),
        ('emails.type eq "home"', {"alice"}),
        ('emails co "example.com"', {"bob"}),
        ("emails pr", {"alice", "bob"}),
        (f'{ENTERPRISE}:employeeNumber eq "100"', {"alice"}),
        (f'{ENTERPRISE}:department sw "eng"', {"bob"}),
        ('meta.lastModified gt "2000-01-01T00:00:00Z"', {"alice", "bob", "carol"}),
        ('meta.created lt "2000-01-01T00:00:00Z"', set()),
    ],
)
def test_a_filter_selects_the_users_it_describes(
    scim: Scim, people: dict[str, str], expression: str, expected: set[str]
) -> None:
    assert found(scim, expression) == {people[name] for name in expected}


@pytest.mark.parametrize(
    ("first", "first_expected", "second", "second_expected"),
    [
        ('userName eq "alice@example.org"', {"alice"}, 'userName eq "BOB@example.org"', {"bob"}),
        ('userName co "example.org"', {"alice", "bob"}, 'userName co "aro"', {"carol"}),
        (
            'active eq false and userName sw "b"',
            {"bob"},
            'active eq false and userName sw "a"',
            set(),
        ),
        (
            'title eq "Boss" or displayName eq "Bob"',
            {"alice", "bob"},
            'title eq "Nobody" or displayName eq "Alice Liddell"',
            {"alice"},
        ),
        (
            'emails[type eq "work" and value co "@example.org"]',
            {"alice"},
            'emails[type eq "work" and value co "@example.com"]',
            {"bob"},
        ),
        (
            f'{ENTERPRISE}:department sw "eng"',
            {"bob"},
            f'{ENTERPRISE}:department sw "sal"',
            {"alice"},
        ),
        (
            'meta.created lt "2000-01-01T00:00:00Z"',
            set(),
            'meta.created lt "2999-01-01T00:00:00Z"',
            {"alice", "bob", "carol"},
        ),
    ],
)
def test_a_filter_of_the_same_shape_with_other_values_selects_other_users(
    scim: Scim,
    people: dict[str, str],
    first: str,
    first_expected: set[str],
    second: str,
    second_expected: set[str],
) -> None:
    # The same SQL (from SQLAlchemy's compiled cache) with other values: other users.
    assert found(scim, first) == {people[name] for name in first_expected}
    assert found(scim, second) == {people[name] for name in second_expected}
    assert found(scim, first) == {people[name] for name in first_expected}


def test_a_lookup_is_one_statement_that_brings_the_users_groups(
    scim: Scim, runtime: Runtime, people: dict[str, str]
) -> None:
    sales = scim.create_group("Sales", [people["alice"]])["id"]
    scim.create_group("All", [sales])
    found(scim, 'userName eq "bob@example.org"')
    with counted(runtime) as statements:
        response = scim.get("/Users", filter='userName eq "ALICE@example.org"')
    assert len(statements) == 2  # the user with its direct groups; then one level of nesting
    groups = {g["display"]: g["type"] for g in response.json["Resources"][0]["groups"]}
    assert groups == {"Sales": "direct", "All": "indirect"}
    with counted(runtime) as statements:
        response = scim.get("/Users", filter='userName eq "bob@example.org"')
    assert len(statements) == 1
    assert "groups" not in response.json["Resources"][0]
    with counted(runtime) as statements:
        response = scim.get("/Users", filter='userName eq "nobody@example.org"')
    assert len(statements) == 1
    assert response.json["totalResults"] == 0


def test_a_repeated_lookup_answers_exactly_as_the_first(
    scim: Scim, runtime: Runtime, people: dict[str, str]
) -> None:
    # The second time, SQLAlchemy's compiled cache supplies the SQL; nothing else changes.
    sales = scim.create_group("Sales", [people["alice"]])["id"]
    scim.create_group("All", [sales])
    expression = 'userName eq "alice@example.org" or active eq false'
    first = scim.get("/Users", filter=expression, sortBy="userName")
    with counted(runtime) as statements:
        again = scim.get("/Users", filter=expression, sortBy="userName")
    assert again.get_data() == first.get_data()
    assert again.json["Resources"][0]["groups"]
    assert len(statements) == 2  # the page, and one level of nested groups


def test_groups_filter_by_display_name_external_id_and_member(scim: Scim) -> None:
    alice = scim.create_user("alice")["id"]
    admins = scim.create_group("Admins", [alice], externalId="e-1")["id"]
    scim.create_group("Users")

    def groups(expression: str) -> set[str]:
        return {g["id"] for g in scim.get("/Groups", filter=expression).json.get("Resources", [])}

    assert groups('displayName eq "ADMINS"') == {admins}
    assert groups('externalId eq "e-1"') == {admins}
    assert groups(f'members[value eq "{alice}"]') == {admins}
    assert groups(f'members.value eq "{alice}"') == {admins}
    assert len(groups("members pr")) == 1


def test_a_filter_on_the_last_modified_time_sees_later_changes(
    scim: Scim, people: dict[str, str]
) -> None:
    before = scim.get(f"/Users/{people['carol']}").json["meta"]["lastModified"]
    scim.patch(f"/Users/{people['carol']}", [{"op": "replace", "path": "title", "value": "New"}])
    assert found(scim, f'meta.lastModified gt "{before}"') == {people["carol"]}


@pytest.mark.parametrize(
    "expression",
    [
        'userName eq "x" or',
        "userName eq",
        'userName xx "a"',
        'emails[type eq "work"',
        "active gt true",
        'meta.created eq "not a date"',
        'name eq "a"',
        'emails[value eq "x"].type eq "work"',
        'unknownAttribute eq "x"',
    ],
)
def test_an_unsupported_or_malformed_filter_is_400_invalid_filter(
    scim: Scim, expression: str
) -> None:
    assert_scim_error(scim.get("/Users", filter=expression), 400, "invalidFilter")


def test_equality_on_user_name_compiles_to_the_indexed_lower_cased_column() -> None:
    model = build_provider().model_for("User")
    condition = SqlFilter(model, USERS, "postgresql").compile('userName eq "BJensen"')  # type: ignore[arg-type]
    sql = str(
        select(ScimUser.id)
        .where(condition)
        .compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    assert "scim_users.user_name_lower = 'bjensen'" in sql
    assert "lower(" not in sql
