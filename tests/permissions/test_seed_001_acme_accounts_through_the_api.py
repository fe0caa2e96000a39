"""Seed 001 end to end: users A and B in the Acme hierarchy, and their account conflicts."""

from __future__ import annotations

import pytest
from werkzeug.test import TestResponse

from tests.permissions.acme import ENTITLEMENTS, Acme, build_acme
from tests.permissions.conftest import Admin, Directory


@pytest.fixture
def acme(admin: Admin) -> Acme:
    return build_acme(admin)


def ask_to_join(admin: Admin, user: str, role: str, scope: str) -> TestResponse:
    """Ask the admin API to give ``user`` ``role`` at the account ``scope`` and make the
    user a member of it; the answer is the test's to check."""
    body = {"user": user, "role_key": role, "scope_id": scope, "assign_account": True}
    return admin.post("/assignments", body)


def test_user_a_as_portal_administrator_sees_massachusetts_its_sub_accounts_and_new_york(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "In the above scenario, User A can see all the entitlements associated with
    the Acme Massachusetts account and its sub-accounts as well as Acme New York because
    User A has been assigned the Portal Administrative User role which, by default, comes
    with all the permissions to see and manage entitlements in sub-accounts." User A, in
    two IdP groups mapped at Massachusetts and New York, manages entitlements there and at
    Acme Boston below Massachusetts, and sees none at the accounts above or beside."""
    user_a = directory.user("user.a@acme.example", user_type="Customer")
    directory.group("MA Admins", users=[user_a])
    directory.group("NY Admins", users=[user_a])
    admin.map("MA Admins", "portal_administrative_user", acme.ma, assign_account=True)
    admin.map("NY Admins", "portal_administrative_user", acme.ny, assign_account=True)

    perms = admin.permissions("user.a@acme.example")

    assert sorted(perms["accounts"]) == sorted([acme.ma, acme.ny])
    assert perms["conflicts"] == []
    for seen in (acme.ma, acme.boston, acme.ny):
        assert admin.at("user.a@acme.example", seen)[ENTITLEMENTS] == "manage"
    for unseen in (acme.east, acme.na, acme.special):
        assert ENTITLEMENTS not in admin.at("user.a@acme.example", unseen)


def test_user_b_as_portal_user_sees_only_acme_boston_and_special_operations(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "User B can only see the entitlements in the Acme Boston and Special
    Operations accounts because, by default, the Portal User role does not have permission
    to see any entitlements beyond their own account(s)." And "However, User B can be
    assigned to Special Operations because it is not a sub-account of Acme North
    America.": beside Acme Boston, B is assigned to Special Operations (201), and "A user
    can belong to multiple accounts": B belongs to both."""
    directory.user("user.b@acme.example", user_type="Customer")
    admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)
    admin.assign("user.b@acme.example", "portal_user", acme.special, assign_account=True)

    perms = admin.permissions("user.b@acme.example")

    assert sorted(perms["accounts"]) == sorted([acme.boston, acme.special])
    for seen in (acme.boston, acme.special):
        assert admin.at("user.b@acme.example", seen)[ENTITLEMENTS] == "view"
    for unseen in (acme.na, acme.east, acme.ma, acme.ny):
        assert admin.at("user.b@acme.example", unseen) == {}


@pytest.mark.parametrize("above", ["ma", "east", "na"])
def test_user_b_cannot_be_assigned_to_an_account_above_acme_boston(
    admin: Admin, directory: Directory, acme: Acme, above: str
) -> None:
    """Seed 001: "User B can not be assigned to Acme Massachusetts, Acme East or Acme North
    America because they are all in the same vertical hierarchy." Each is 409 naming
    scope_id."""
    directory.user("user.b@acme.example", user_type="Customer")
    admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)

    refused = ask_to_join(admin, "user.b@acme.example", "portal_user", getattr(acme, above))

    assert refused.status_code == 409
    assert refused.json["reason"] == "same_vertical_hierarchy"
    assert "scope_id" in refused.json["errors"]


def test_a_mapping_that_breaks_a_rule_is_listed_as_a_conflict_and_resolves_itself(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "A user can belong to multiple accounts, but all of the accounts must be of
    the same type and must not be in the same vertical hierarchy": a mapping that would
    put B in Massachusetts above Boston is not made; the conflict is listed naming both
    origins, withholds the mapped role, and goes when B leaves the group."""
    user_b = directory.user("user.b@acme.example", user_type="Customer")
    admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)
    ma_admins = directory.group("MA Admins", users=[user_b])
    mapping = admin.map("MA Admins", "portal_administrative_user", acme.ma, assign_account=True)

    conflicts = admin.ok(admin.get("/conflicts"))
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict["user_id"] == user_b
    assert conflict["user_name"] == "user.b@acme.example"
    assert conflict["account_id"] == acme.ma
    assert conflict["account_name"] == "Acme Massachusetts"
    assert conflict["rule"] == "same_vertical_hierarchy"
    assert conflict["origin"] == mapping
    assert conflict["mapping"]["id"] == mapping
    assert conflict["mapping"]["role_key"] == "portal_administrative_user"
    assert conflict["blocking_account_id"] == acme.boston
    assert conflict["blocking_origin"] == "direct"
    # The refused membership withholds the mapped role too, and explain says why.
    assert ENTITLEMENTS not in admin.at("user.b@acme.example", acme.ma)
    why = admin.explain("user.b@acme.example", ENTITLEMENTS, "manage", acme.ma)
    assert why["outcome"] == "refused_by_account_conflict"
    assert why["refused"][0]["conflict"]["rule"] == "same_vertical_hierarchy"

    directory.remove(ma_admins, user_b)

    assert admin.ok(admin.get("/conflicts")) == []
    assert admin.permissions("user.b@acme.example")["accounts"] == [acme.boston]


def test_a_conflict_goes_when_the_clashing_mapping_is_deleted(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "... must not be in the same vertical hierarchy": of two mappings putting
    B in Boston and in East above it, the earlier wins and the later is a listed
    conflict; once the earlier mapping is deleted, B belongs to East."""
    user_b = directory.user("user.b@acme.example", user_type="Customer")
    directory.group("Boston Users", users=[user_b])
    directory.group("East Users", users=[user_b])
    first = admin.map("Boston Users", "portal_user", acme.boston, assign_account=True)
    second = admin.map("East Users", "portal_user", acme.east, assign_account=True)

    listed = admin.ok(admin.get("/conflicts", user="user.b@acme.example"))
    assert [(c["account_id"], c["origin"]) for c in listed] == [(acme.east, second)]

    admin.ok(admin.delete(f"/mappings/{first}"), 204)

    assert admin.ok(admin.get("/conflicts")) == []
    assert admin.permissions("user.b@acme.example")["accounts"] == [acme.east]


def test_a_user_s_accounts_must_all_be_of_one_type_whatever_asks_for_another(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "A user can belong to multiple accounts, but all of the accounts must be of
    the same type ...". A user the IdP sends no type for belongs to Acme Boston, a customer
    account: a direct assignment to a partner account is refused (409 naming scope_id and
    Boston), and an IdP group mapped there is a listed conflict; the user keeps Boston."""
    user = directory.user("user.c@acme.example")
    admin.assign("user.c@acme.example", "portal_user", acme.boston, assign_account=True)
    reseller = admin.scope("account", "Acme Reseller", None, "partner")

    refused = ask_to_join(admin, "user.c@acme.example", "portal_user", reseller)
    directory.group("Reseller Users", users=[user])
    mapping = admin.map("Reseller Users", "portal_user", reseller, assign_account=True)

    assert refused.status_code == 409, refused.get_data(True)
    assert refused.json["reason"] == "mixed_account_types"
    assert "scope_id" in refused.json["errors"]
    assert refused.json["details"]["blocking_account_id"] == acme.boston
    perms = admin.permissions("user.c@acme.example")
    assert perms["accounts"] == [acme.boston]
    assert [(c["rule"], c["account_id"], c["origin"]) for c in perms["conflicts"]] == [
        ("mixed_account_types", reseller, mapping)
    ]
    assert admin.at("user.c@acme.example", reseller) == {}


@pytest.mark.parametrize("below", ["ma", "boston", "ny"])
def test_an_account_below_one_the_user_belongs_to_is_refused_too(
    admin: Admin, directory: Directory, acme: Acme, below: str
) -> None:
    """Seed 001: "... all of the accounts ... must not be in the same vertical hierarchy",
    looking down as well as up: a member of Acme East cannot also join Acme Massachusetts,
    Acme Boston or Acme New York below it (409 naming scope_id and Acme East)."""
    directory.user("user.e@acme.example", user_type="Customer")
    admin.assign("user.e@acme.example", "portal_user", acme.east, assign_account=True)

    refused = ask_to_join(admin, "user.e@acme.example", "portal_user", getattr(acme, below))

    assert refused.status_code == 409, refused.get_data(True)
    assert refused.json["reason"] == "same_vertical_hierarchy"
    assert "scope_id" in refused.json["errors"]
    assert refused.json["details"]["blocking_account_id"] == acme.east
    assert admin.permissions("user.e@acme.example")["accounts"] == [acme.east]


def test_a_portal_user_sees_no_entitlements_in_the_sub_accounts_of_its_own_account(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "by default, the Portal User role does not have permission to see any
    entitlements beyond their own account(s)": a Portal User of Acme Massachusetts sees its
    entitlements there and none at Acme Boston below it. "By default": a tenant that lets
    the role reach sub-accounts (a change of the role) has its portal users see Boston."""
    directory.user("user.m@acme.example", user_type="Customer")
    admin.assign("user.m@acme.example", "portal_user", acme.ma, assign_account=True)

    assert admin.at("user.m@acme.example", acme.ma)[ENTITLEMENTS] == "view"
    assert admin.at("user.m@acme.example", acme.boston) == {}

    admin.ok(admin.patch("/roles/portal_user", {"reaches_descendants": True}))

    assert admin.at("user.m@acme.example", acme.boston)[ENTITLEMENTS] == "view"


# -- Account rules bind permissions (issue 16, finding 2) ---------------------------
# Seed 001: "What a user can see and do in the End-User portal is dependent on the
# permissions granted them and their location in the hierarchy." A grant at an account
# (or inside one, or reaching into one from above) holds only for a member of that
# account or of an account above it.


def test_portal_user_at_acme_east_without_membership_sees_nothing_there(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "their location in the hierarchy" decides what a user sees: a role at
    Acme East given to a user who belongs to no account there grants nothing, and the
    grant is listed as a conflict naming the account and the direct assignment."""
    user_b = directory.user("user.b@acme.example", user_type="Customer")
    assignment = admin.assign("user.b@acme.example", "portal_user", acme.east)

    perms = admin.permissions("user.b@acme.example")

    assert perms["accounts"] == []
    assert admin.at("user.b@acme.example", acme.east) == {}
    assert perms["scopes"] == {}
    (conflict,) = perms["conflicts"]
    assert conflict["rule"] == "not_a_member"
    assert conflict["account_id"] == acme.east
    assert conflict["origin"] == "direct"
    assert conflict["origin_detail"]["assignment_id"] == assignment
    listed = admin.ok(admin.get("/conflicts", rule="not_a_member"))
    assert [(c["user_id"], c["account_id"], c["account_name"]) for c in listed] == [
        (user_b, acme.east, "Acme East")
    ]
    why = admin.explain("user.b@acme.example", ENTITLEMENTS, "view", acme.east)
    assert why["outcome"] == "refused_by_account_conflict"
    assert why["refused"][0]["conflict"]["rule"] == "not_a_member"


def test_a_mapped_role_at_an_account_the_user_is_not_in_names_the_mapping_and_group(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "What a user can see ... is dependent on the permissions granted them and
    their location in the hierarchy": a mapping without assign_account grants nothing at
    an account the user is not in, and the conflict names the mapping and its group."""
    user_b = directory.user("user.b@acme.example", user_type="Customer")
    group = directory.group("East Viewers", users=[user_b])
    mapping = admin.map("East Viewers", "portal_user", acme.east)

    perms = admin.permissions("user.b@acme.example")

    assert admin.at("user.b@acme.example", acme.east) == {}
    (conflict,) = perms["conflicts"]
    assert (conflict["rule"], conflict["account_id"], conflict["origin"]) == (
        "not_a_member",
        acme.east,
        mapping,
    )
    assert conflict["origin_detail"]["mapping_id"] == mapping
    assert conflict["origin_detail"]["group_id"] == group
    assert conflict["origin_detail"]["group_name"] == "East Viewers"


def test_membership_of_an_account_above_covers_a_grant_below_it(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: User A "can see all the entitlements associated with the Acme Massachusetts
    account and its sub-accounts": a member of Massachusetts holds a role given at Acme
    Boston below it, without being a member of Boston itself."""
    directory.user("user.a@acme.example", user_type="Customer")
    admin.assign("user.a@acme.example", "portal_user", acme.ma, assign_account=True)
    admin.assign("user.a@acme.example", "portal_administrative_user", acme.boston)

    perms = admin.permissions("user.a@acme.example")

    assert perms["accounts"] == [acme.ma]
    assert perms["conflicts"] == []
    assert admin.at("user.a@acme.example", acme.boston)[ENTITLEMENTS] == "manage"


@pytest.fixture
def overseer(admin: Admin, acme: Acme) -> str:
    """An organization above the Acme accounts, and a role granted there that reaches
    every scope below (a support desk that sees entitlements)."""
    org = admin.scope("organization", "Acme Holdings")
    for account in (acme.na, acme.special):
        admin.ok(admin.patch(f"/scopes/{account}", {"parent_id": org}))
    admin.ok(
        admin.post(
            "/roles",
            {
                "product": "licensing-portal",
                "key": "support_desk",
                "name": "Support desk",
                "grants": {ENTITLEMENTS: "view"},
                "allowed_scope_types": ["organization"],
                "reaches_descendants": True,
            },
        ),
        201,
    )
    return org


def test_a_grant_from_above_reaches_only_the_accounts_the_user_belongs_to(
    admin: Admin, directory: Directory, acme: Acme, overseer: str
) -> None:
    """Seed 001: User B "can only see the entitlements in the Acme Boston and Special
    Operations accounts": a role granted at the organization above every account reaches
    Boston and Special Operations, B's accounts, and stops at every other account."""
    directory.user("user.b@acme.example", user_type="Customer")
    admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)
    admin.assign("user.b@acme.example", "portal_user", acme.special, assign_account=True)
    admin.assign("user.b@acme.example", "support_desk", overseer)

    perms = admin.permissions("user.b@acme.example")

    assert perms["conflicts"] == []
    assert admin.at("user.b@acme.example", overseer)[ENTITLEMENTS] == "view"
    for seen in (acme.boston, acme.special):
        assert admin.at("user.b@acme.example", seen)[ENTITLEMENTS] == "view"
    for unseen in (acme.na, acme.east, acme.ma, acme.ny):
        assert admin.at("user.b@acme.example", unseen) == {}
    why = admin.explain("user.b@acme.example", ENTITLEMENTS, "view", acme.ny)
    assert why["allowed"] is False
    assert why["refused"][0]["conflict"]["rule"] == "not_a_member"
    assert why["refused"][0]["conflict"]["account_id"] == acme.na


def test_readers_of_the_cached_set_see_the_grant_from_above_stop_at_other_accounts(
    admin: Admin, directory: Directory, acme: Acme, overseer: str, client, tenant
) -> None:
    """Seed 001: User B "can only see the entitlements in the Acme Boston and Special
    Operations accounts", also for an app that checks the cached set with a read token."""
    directory.user("user.b@acme.example", user_type="Customer")
    admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)
    admin.assign("user.b@acme.example", "portal_user", acme.special, assign_account=True)
    admin.assign("user.b@acme.example", "support_desk", overseer)
    scopes = [acme.boston, acme.special, acme.na, acme.east, acme.ma, acme.ny, overseer]

    answer = client.post(
        "/api/v1/check",
        json={
            "checks": [
                {"user": "user.b@acme.example", "area": ENTITLEMENTS, "level": "view", "scope": s}
                for s in scopes
            ]
        },
        headers=tenant.auth("read"),
    )

    assert answer.status_code == 200, answer.get_data(True)
    allowed = {r["scope"]: r["allowed"] for r in answer.json["results"]}
    assert allowed == {
        acme.boston: True,
        acme.special: True,
        overseer: True,
        acme.na: False,
        acme.east: False,
        acme.ma: False,
        acme.ny: False,
    }


# -- No silent eviction (issue 16, finding 3) ----------------------------------------
# Seed 001: "User B can not be assigned to Acme Massachusetts, Acme East or Acme North
# America because they are all in the same vertical hierarchy."


def user_b_to_massachusetts(admin: Admin, acme: Acme) -> TestResponse:
    """Ask to make User B a Portal User and member of Acme Massachusetts."""
    return ask_to_join(admin, "user.b@acme.example", "portal_user", acme.ma)


def test_a_direct_assignment_cannot_evict_an_account_that_came_from_the_idp(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "User B can not be assigned to Acme Massachusetts ... because they are all
    in the same vertical hierarchy", whether Boston came from an admin or from a group:
    the assignment is refused with 409 naming Boston and the mapping and group it came
    from, and B keeps Boston."""
    user_b = directory.user("user.b@acme.example", user_type="Customer")
    group = directory.group("Boston Users", users=[user_b])
    mapping = admin.map("Boston Users", "portal_user", acme.boston, assign_account=True)

    refused = user_b_to_massachusetts(admin, acme)

    assert refused.status_code == 409, refused.get_data(True)
    assert refused.json["reason"] == "same_vertical_hierarchy"
    assert "Acme Boston" in refused.json["message"]
    assert "Boston Users" in refused.json["message"]
    details = refused.json["details"]
    assert details["blocking_account_id"] == acme.boston
    assert details["blocking_origin"] == mapping
    assert details["blocking_origin_detail"]["group_id"] == group
    assert details["blocking_origin_detail"]["group_name"] == "Boston Users"
    perms = admin.permissions("user.b@acme.example")
    assert perms["accounts"] == [acme.boston]
    assert perms["conflicts"] == []
    assert admin.ok(admin.get("/assignments", user="user.b@acme.example")) == []


def test_a_refused_direct_assignment_names_the_direct_assignment_it_collides_with(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "User B can not be assigned to Acme Massachusetts ... same vertical
    hierarchy": the 409 names the direct assignment that made B a member of Boston."""
    directory.user("user.b@acme.example", user_type="Customer")
    boston = admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)

    refused = user_b_to_massachusetts(admin, acme)

    assert refused.status_code == 409
    details = refused.json["details"]
    assert (details["blocking_account_id"], details["blocking_origin"]) == (acme.boston, "direct")
    assert details["blocking_origin_detail"]["assignment_id"] == boston


def test_a_group_change_that_collides_keeps_the_earlier_account_and_lists_both_origins(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "User B can not be assigned to Acme Massachusetts ... same vertical
    hierarchy": when the IdP later puts B in a group mapped to Massachusetts, B keeps
    Boston (assigned first) and the conflict names both origins."""
    user_b = directory.user("user.b@acme.example", user_type="Customer")
    boston = admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)
    mapping = admin.map("MA Admins", "portal_administrative_user", acme.ma, assign_account=True)
    group = directory.group("MA Admins", users=[user_b])

    perms = admin.permissions("user.b@acme.example")
    (listed,) = admin.ok(admin.get("/conflicts"))

    assert perms["accounts"] == [acme.boston]
    for conflict in (perms["conflicts"][0], listed):
        assert conflict["account_id"] == acme.ma
        assert conflict["origin_detail"]["mapping_id"] == mapping
        assert conflict["origin_detail"]["group_id"] == group
        assert conflict["origin_detail"]["group_name"] == "MA Admins"
        assert conflict["blocking_account_id"] == acme.boston
        assert conflict["blocking_origin_detail"]["source"] == "direct"
        assert conflict["blocking_origin_detail"]["assignment_id"] == boston


def test_a_mapping_made_before_its_group_existed_does_not_evict_a_later_mapped_account(
    admin: Admin, directory: Directory, acme: Acme
) -> None:
    """Seed 001: "User B can not be assigned to Acme Massachusetts ... same vertical
    hierarchy". The mapping to Boston was made before the IdP pushed its group; B was
    already in Massachusetts through another group when that group arrived, so B's
    request for Boston began later and Massachusetts stays."""
    user_b = directory.user("user.b@acme.example", user_type="Customer")
    early = admin.map("Boston Users", "portal_user", acme.boston, assign_account=True)
    directory.group("MA Admins", users=[user_b])
    later = admin.map("MA Admins", "portal_administrative_user", acme.ma, assign_account=True)
    assert admin.permissions("user.b@acme.example")["accounts"] == [acme.ma]

    directory.group("Boston Users", users=[user_b])

    perms = admin.permissions("user.b@acme.example")
    assert perms["accounts"] == [acme.ma]
    assert [(c["account_id"], c["origin"], c["blocking_origin"]) for c in perms["conflicts"]] == [
        (acme.boston, early, later)
    ]
