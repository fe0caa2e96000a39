"""Seed 001: "A user belongs to one of four types" (Customer, Producer, Partner and
Self-Registered Users), read from the free-text SCIM userType that IdPs send."""

from __future__ import annotations

import pytest

from service.domain import UserType, ValidationFailed
from service.domain.user_types import (
    DEFAULT_TABLE,
    TypeStatus,
    UserTypeTable,
    tenant_entries,
    value_key,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Customer", UserType.CUSTOMER),
        ("customer", UserType.CUSTOMER),
        ("Customer Users", UserType.CUSTOMER),  # the seed's tab names
        ("Producer User", UserType.PRODUCER),
        ("PRODUCER", UserType.PRODUCER),
        ("Partner Users", UserType.PARTNER),
        ("Self-Registered", UserType.SELF_REGISTERED),
        ("self-registered", UserType.SELF_REGISTERED),
        ("self_registered", UserType.SELF_REGISTERED),
        ("SelfRegistered", UserType.SELF_REGISTERED),
        ("Self Registered Users", UserType.SELF_REGISTERED),
        (" partner ", UserType.PARTNER),
    ],
)
def test_the_four_types_are_read_from_their_usual_spellings_by_default(
    raw: str, expected: UserType
) -> None:
    reading = DEFAULT_TABLE.read(raw)

    assert (reading.user_type, reading.status, reading.raw) == (expected, TypeStatus.MAPPED, raw)


@pytest.mark.parametrize("raw", ["Employee", "Member", "Guest", "Contractor"])
def test_a_value_naming_none_of_the_four_types_is_unmapped_and_kept(raw: str) -> None:
    reading = DEFAULT_TABLE.read(raw)

    assert reading.unmapped
    assert reading.to_dict() == {
        "user_type": None,
        "user_type_raw": raw,
        "user_type_status": "unmapped",
    }


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_no_user_type_sent_is_absent_not_unmapped(raw: str | None) -> None:
    reading = DEFAULT_TABLE.read(raw)

    assert (reading.user_type, reading.status) == (None, TypeStatus.ABSENT)


def test_entra_member_and_guest_read_as_the_types_a_tenant_maps_them_to() -> None:
    table = UserTypeTable(tenant_entries({"Member": "producer", "Guest": "partner"}))

    assert table.type_of("Member") is UserType.PRODUCER
    assert table.type_of("member") is UserType.PRODUCER
    assert table.type_of("Guest") is UserType.PARTNER
    assert table.type_of("Customer") is UserType.CUSTOMER  # the defaults still hold
    assert DEFAULT_TABLE.type_of("Member") is None


def test_a_tenant_entry_may_re_point_a_default_spelling_but_not_a_types_own_name() -> None:
    table = UserTypeTable(tenant_entries({"Partner Users": "customer"}))

    assert table.type_of("partner users") is UserType.CUSTOMER
    assert table.type_of("Partner") is UserType.PARTNER
    with pytest.raises(ValidationFailed) as refused:
        tenant_entries({"Self Registered": "customer"})
    assert (refused.value.code, refused.value.field) == ("invalid_value", "mappings")


@pytest.mark.parametrize(
    "given",
    [
        {"Member": "employee"},
        {"  ": "customer"},
        {"Guest": "partner", "guest": "customer"},
    ],
)
def test_tenant_entries_are_refused_naming_the_field(given: dict[str, str]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        tenant_entries(given)

    assert refused.value.field == "mappings"


def test_one_value_spelled_twice_for_one_type_is_one_entry() -> None:
    entries = tenant_entries({"Guest": "partner", "GUEST": "partner"})

    assert list(entries) == [value_key("guest")]


def test_the_table_shows_the_defaults_and_the_tenants_entries_over_them() -> None:
    rows = UserTypeTable(tenant_entries({"Member": "customer", "Customer Users": "partner"})).rows()

    by_value = {row["value"]: (row["user_type"], row["source"]) for row in rows}
    assert by_value["Member"] == ("customer", "tenant")
    assert by_value["Customer Users"] == ("partner", "tenant")
    assert by_value["Self-Registered"] == ("self_registered", "default")
    assert len([r for r in rows if r["value"].lower() == "customer users"]) == 1


def test_values_whose_reading_changes_between_two_tables_are_found() -> None:
    before = UserTypeTable(tenant_entries({"Member": "customer"}))
    after = UserTypeTable(tenant_entries({"Guest": "partner"}))

    changed = after.differs_from(before, ["Member", "Guest", "Customer", "Employee"])

    assert changed == ["Member", "Guest"]
