"""Seed 001: "A user belongs to one of four types" (Customer, Producer, Partner and
Self-Registered Users), from the SCIM userType IdPs send, through the tenant's user type
table (/api/v1/user-types): the usual spellings read by default, any other value kept,
shown as unmapped and warned about once, and a change of the table applied to every
user holding an affected value."""

from __future__ import annotations

import pytest

from service.runtime import Runtime
from service.services import propagation, user_types
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.scim.conftest import Scim
from tests.users.conftest import unmapped_warnings


@pytest.mark.parametrize(
    ("sent", "user_type"),
    [
        ("Customer", "customer"),
        ("Producer", "producer"),
        ("Partner Users", "partner"),
        ("Self-Registered", "self_registered"),
        ("SelfRegistered", "self_registered"),
        ("self_registered", "self_registered"),
    ],
)
def test_a_user_belongs_to_one_of_four_types_read_from_the_usual_spellings(
    scim: Scim, admin: Admin, sent: str, user_type: str
) -> None:
    """Seed 001: "A user belongs to one of four types" (Customer, Producer, Partner, Self-
    Registered Users), read from the usual spellings IdPs send."""
    user = scim.create_user("ada@acme.example", userType=sent)

    shown = admin.permissions(user["id"])

    assert (shown["user_type"], shown["user_type_raw"], shown["user_type_status"]) == (
        user_type,
        sent,
        "mapped",
    )
    assert scim.get(f"/Users/{user['id']}").json["userType"] == sent
    assert unmapped_warnings(admin, user["id"]) == []


def test_an_unmapped_user_type_is_kept_shown_and_warned_about_never_dropped(
    scim: Scim, admin: Admin
) -> None:
    """Seed 001: "A user belongs to one of four types": a value that is none of them is kept,
    shown and warned about, never dropped silently."""
    admin.load("licensing-portal")
    acme = admin.scope("account", "Acme", None, "customer")
    user = scim.create_user("eve@acme.example", userType="Employee")

    shown = admin.permissions(user["id"])
    explained = admin.explain(user["id"], "end_user_portal.entitlements", "view", acme)
    warnings = unmapped_warnings(admin, user["id"])

    assert (shown["user_type"], shown["user_type_raw"], shown["user_type_status"]) == (
        None,
        "Employee",
        "unmapped",
    )
    assert (explained["user_type_raw"], explained["user_type_status"]) == ("Employee", "unmapped")
    assert scim.get(f"/Users/{user['id']}").json["userType"] == "Employee"
    assert [w["after"]["userType"] for w in warnings] == ["Employee"]
    assert admin.ok(admin.get("/user-types"))["unmapped"] == [{"value": "Employee", "users": 1}]


def test_the_warning_is_recorded_once_per_user_and_value_not_on_every_patch(
    scim: Scim, admin: Admin
) -> None:
    user = scim.create_user("eve@acme.example", userType="Employee")
    path = f"/Users/{user['id']}"

    changes = [("displayName", name) for name in ("Eve", "Eve A.", "Eve B.")]
    changes += [("userType", "Contractor"), ("userType", "employee")]
    for attribute, value in changes:
        replaced = scim.patch(path, [{"op": "replace", "path": attribute, "value": value}])
        assert replaced.status_code == 200
    other = scim.create_user("bob@acme.example", userType="Employee")

    warned = unmapped_warnings(admin, user["id"])
    assert sorted(w["after"]["userType"] for w in warned) == ["Contractor", "Employee"]
    assert len(unmapped_warnings(admin, other["id"])) == 1


def test_an_unmapped_value_is_one_admin_call_from_a_type_and_affected_users_are_recomputed(
    scim: Scim, admin: Admin, client, tenant: TenantKeys
) -> None:
    """Account rules depend on the user type: mapping the value makes the rules apply,
    and the cached set apps read follows without any other change."""
    admin.load("licensing-portal")
    acme = admin.scope("account", "Acme", None, "customer")
    member = scim.create_user("m@acme.example", userType="Employee")
    scim.create_group("Acme Users", [member["id"]])
    admin.map("Acme Users", "portal_user", acme, assign_account=True)
    cached = f"/api/v1/users/{member['id']}/permissions"
    assert client.get(cached, headers=tenant.auth("read")).json["accounts"] == [acme]

    changed = admin.ok(admin.put("/user-types", {"mappings": {"Employee": "producer"}}))

    assert changed["mappings"] == {"Employee": "producer"}
    assert changed["unmapped"] == []
    shown = admin.permissions(member["id"])
    assert (shown["user_type"], shown["user_type_status"]) == ("producer", "mapped")
    assert [c["rule"] for c in shown["conflicts"]] == ["user_type_mismatch"]
    assert client.get(cached, headers=tenant.auth("read")).json["accounts"] == []
    update = admin.ok(admin.get("/audit", action="user_types.update"))
    assert update[0]["after"]["read_differently"] == {
        "Employee": {"before": None, "after": "producer", "users": 1}
    }

    admin.ok(admin.put("/user-types", {"mappings": {"Employee": "customer"}}))

    assert client.get(cached, headers=tenant.auth("read")).json["accounts"] == [acme]


def test_a_change_of_the_table_recomputes_only_active_users_whose_value_reads_differently(
    admin: Admin, directory: Directory, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = directory.user("m@acme.example", user_type="Member")
    directory.user("g@acme.example", user_type="Guest")
    directory.user("c@acme.example", user_type="Customer")
    directory.user("gone@acme.example", user_type="Member", active=False)
    admin.ok(admin.put("/user-types", {"mappings": {"Guest": "partner"}}))
    recomputed: list[list[str]] = []
    monkeypatch.setattr(
        propagation, "users_changed", lambda uow, tenant_id, ids: recomputed.append(list(ids))
    )

    user_types.set_table(
        runtime.unit_of_work(), admin.keys.id, {"Member": "customer", "Guest": "partner"}, "t"
    )

    assert recomputed == [[member]]


def test_the_table_is_shown_with_its_defaults_and_the_tenants_entries(admin: Admin) -> None:
    admin.ok(admin.put("/user-types", {"mappings": {"Member": "customer", "Guest": "partner"}}))

    shown = admin.ok(admin.get("/user-types"))

    assert shown["mappings"] == {"Guest": "partner", "Member": "customer"}
    rows = {row["value"]: (row["user_type"], row["source"]) for row in shown["table"]}
    assert rows["Member"] == ("customer", "tenant")
    assert rows["Self-Registered"] == ("self_registered", "default")


@pytest.mark.parametrize(
    "mappings",
    [
        {"Member": "employee"},
        {"Customer": "producer"},
        {"Guest": "partner", "GUEST": "customer"},
        {"x" * 101: "customer"},
    ],
)
def test_a_bad_table_is_refused_naming_the_field_and_changes_nothing(
    admin: Admin, mappings: dict[str, str]
) -> None:
    refused = admin.put("/user-types", {"mappings": mappings})

    assert refused.status_code == 422, refused.json
    assert "mappings" in str(refused.json["errors"])
    assert admin.ok(admin.get("/user-types"))["mappings"] == {}


def test_only_admin_tokens_read_or_change_the_table(client, tenant: TenantKeys) -> None:
    for kind in ("scim", "read"):
        assert client.get("/api/v1/user-types", headers=tenant.auth(kind)).status_code == 403
        body = {"mappings": {"Member": "customer"}}
        put = client.put("/api/v1/user-types", json=body, headers=tenant.auth(kind))
        assert put.status_code == 403


def test_each_tenant_has_its_own_table(admin: Admin, make_tenant, client) -> None:
    other = make_tenant("globex")
    admin.ok(admin.put("/user-types", {"mappings": {"Member": "customer"}}))

    theirs = client.get("/api/v1/user-types", headers=other.auth("admin")).json

    assert theirs["mappings"] == {}


def test_the_longest_user_type_is_kept_even_when_case_folding_lengthens_it(
    scim: Scim, admin: Admin
) -> None:
    """A userType as long as its column, of characters that case-fold to three
    ("ﬃ" -> "ffi"), still fits the tables its warning and entries are kept in."""
    long = "ﬃ" * 100
    user = scim.create_user("ffi@acme.example", userType=long)

    admin.ok(admin.put("/user-types", {"mappings": {long: "customer"}}))

    assert unmapped_warnings(admin, user["id"])[0]["after"]["userType"] == long
    assert admin.permissions(user["id"])["user_type"] == "customer"
