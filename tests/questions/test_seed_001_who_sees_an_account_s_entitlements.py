"""Seed 001 asked the other way round: who sees Acme Massachusetts' entitlements, and
where does a user see them, as "this account and everything below it" except where
the account rules stop an inherited grant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.permissions.acme import ENTITLEMENTS, Acme, build_acme
from tests.permissions.conftest import Admin, Directory
from tests.questions.conftest import Questions


@dataclass
class People:
    acme: Acme
    org: str  # Acme Holdings, an organization above the accounts, no account itself


@pytest.fixture
def people(admin: Admin, directory: Directory) -> People:
    """User A and User B as the seed places them (A: Portal Administrative User at Acme
    Massachusetts and Acme New York through IdP groups; B: Portal User at Acme Boston and
    Special Operations, directly), and a support desk role at an organization above
    every account, which reaches into the accounts its holder belongs to and stops at
    the others."""
    acme = build_acme(admin)
    org = admin.scope("organization", "Acme Holdings")
    for account in (acme.na, acme.special):
        admin.ok(admin.patch(f"/scopes/{account}", {"parent_id": org}))
    desk = {
        "product": "licensing-portal",
        "key": "support_desk",
        "name": "Support desk",
        "grants": {ENTITLEMENTS: "view"},
        "allowed_scope_types": ["organization"],
        "reaches_descendants": True,
    }
    admin.ok(admin.post("/roles", desk), 201)
    user_a = directory.user("user.a@acme.example", user_type="Customer")
    directory.group("MA Admins", users=[user_a])
    directory.group("NY Admins", users=[user_a])
    admin.map("MA Admins", "portal_administrative_user", acme.ma, assign_account=True)
    admin.map("NY Admins", "portal_administrative_user", acme.ny, assign_account=True)
    directory.user("user.b@acme.example", user_type="Customer")
    admin.assign("user.b@acme.example", "portal_user", acme.boston, assign_account=True)
    admin.assign("user.b@acme.example", "portal_user", acme.special, assign_account=True)
    return People(acme, org)


def test_user_a_sees_acme_massachusetts_entitlements_and_user_b_does_not(
    ask: Questions, people: People
) -> None:
    """Seed 001: "User A can see all the entitlements associated with the Acme
    Massachusetts account and its sub-accounts ..." and "User B can only see the
    entitlements in the Acme Boston and Special Operations accounts": who sees Acme
    Massachusetts' entitlements is User A alone; Acme Boston's, both of them (A by
    inheritance from Massachusetts)."""
    acme = people.acme

    assert ask.names_who_can(acme.ma, ENTITLEMENTS, "view") == {"user.a@acme.example"}
    assert ask.names_who_can(acme.boston, ENTITLEMENTS, "view") == {
        "user.a@acme.example",
        "user.b@acme.example",
    }
    assert ask.names_who_can(acme.east, ENTITLEMENTS, "view") == set()
    (a_at_boston,) = [
        e
        for e in ask.who_can(acme.boston, ENTITLEMENTS, "view")
        if e["user_name"].startswith("user.a")
    ]
    assert a_at_boston["level"] == "manage"
    assert [
        (c["granted_at"], c["inherited"], c["via_group_names"]) for c in a_at_boston["chains"]
    ] == [(acme.ma, True, ["MA Admins"])]


def test_where_user_a_can_manage_entitlements_is_two_subtrees(
    ask: Questions, people: People
) -> None:
    """Seed 001: "... Acme Massachusetts account and its sub-accounts as well as Acme New
    York because User A has been assigned the Portal Administrative User role which, by
    default, comes with all the permissions to see and manage entitlements in
    sub-accounts": two entries, each "this account and everything below it"."""
    acme = people.acme

    entries = ask.where_can("user.a@acme.example", ENTITLEMENTS, "manage")

    assert [(e["scope_name"], e["subtree"], e["except_below"]) for e in entries] == [
        ("Acme Massachusetts", True, []),
        ("Acme New York", True, []),
    ]
    expanded = ask.where_can("user.a@acme.example", ENTITLEMENTS, "manage", expand="true")
    assert {e["scope_id"] for e in expanded} == {acme.ma, acme.boston, acme.ny}


def test_a_grant_from_above_is_a_subtree_except_below_the_accounts_it_stops_at(
    admin: Admin, ask: Questions, people: People
) -> None:
    """Seed 001: "User B can only see the entitlements in the Acme Boston and Special
    Operations accounts": with the support desk at the organization above, B sees the
    organization and everything below it except Acme North America and below (B is not
    in it), and Acme Boston below that, which B belongs to."""
    acme = people.acme
    admin.assign("user.b@acme.example", "support_desk", people.org)

    entries = ask.where_can("user.b@acme.example", ENTITLEMENTS, "view")

    by_name = {e["scope_name"]: e for e in entries}
    assert by_name["Acme Holdings"]["subtree"] is True
    assert by_name["Acme Holdings"]["except_below"] == [acme.na]
    assert by_name["Acme Boston"]["subtree"] is True
    boston = by_name["Acme Boston"]["chains"]
    assert [(c["role_key"], c["granted_at"], c["inherited"]) for c in boston] == [
        ("portal_user", acme.boston, False),
        ("support_desk", people.org, True),
    ]


def covered(entries: list[dict[str, Any]], scope: str, ancestors: list[str]) -> bool:
    """Whether where-can's entries say the user may act at ``scope`` (whose ancestors,
    nearest first, are given): it is an entry's scope, or below a subtree entry and not
    at or below one of that entry's exceptions."""
    for e in entries:
        if e["scope_id"] == scope:
            return True
        if not e["subtree"] or e["scope_id"] not in ancestors:
            continue
        between = [scope, *ancestors[: ancestors.index(e["scope_id"])]]
        if not set(between) & set(e["except_below"]):
            return True
    return False


@pytest.mark.parametrize("user", ["user.a@acme.example", "user.b@acme.example"])
@pytest.mark.parametrize("level", ["view", "manage"])
@pytest.mark.parametrize("desk", [False, True], ids=["no desk", "support desk above"])
def test_where_can_covers_exactly_the_scopes_where_who_can_names_the_user(
    admin: Admin, ask: Questions, people: People, user: str, level: str, desk: bool
) -> None:
    """A scope is covered by a where-can entry exactly when the user is allowed there:
    the compact answer, the expanded one and who-can at every scope agree."""
    if desk:
        admin.assign(user, "support_desk", people.org)
    scopes = admin.ok(admin.get("/scopes", page_size=100))
    parent = {s["id"]: s["parent_id"] for s in scopes}

    def ancestors(sid: str) -> list[str]:
        out, up = [], parent[sid]
        while up is not None:
            out.append(up)
            up = parent[up]
        return out

    entries = ask.where_can(user, ENTITLEMENTS, level, limit=1)
    expanded = {e["scope_id"] for e in ask.where_can(user, ENTITLEMENTS, level, expand="true")}
    allowed = {sid for sid in parent if user in ask.names_who_can(sid, ENTITLEMENTS, level)}

    assert {sid for sid in parent if covered(entries, sid, ancestors(sid))} == allowed
    assert expanded == allowed
    # Only B asked about managing is allowed nowhere (a Portal User views).
    assert bool(allowed) == (user.startswith("user.a") or level == "view")
