"""AuthZEN evaluations are POST /api/v1/check's decisions, never a second rule: in a
tenant shaped like seed 003 (the reporting tool's View, Edit, Share and Manage at an
organization, folders and reports), every (user, area, level, scope) asked through
/access/v1/evaluation and /access/v1/evaluations is answered as the check answers it,
reasons included."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from tests.authzen.conftest import AuthZEN
from tests.permissions.conftest import Admin, Directory

AREAS = ["view", "edit", "share", "manage", "admin", "reporting/edit", "nothing_here"]
LEVELS = ["granted", "full"]  # "full" is no level of the reporting tool's on/off areas


@dataclass
class Reporting:
    users: list[str]
    scopes: list[str]


@pytest.fixture
def reporting(admin: Admin, directory: Directory) -> Reporting:
    """Seed 003: "View in Folder 1 + Edit in Folder 2", Share in Folder 1 through an IdP
    group, Manage for the Organization, and a user who holds nothing."""
    admin.load("reporting")
    org = admin.scope("organization", "Reeport Org")
    folder_1 = admin.scope("folder", "Folder 1", org)
    folder_2 = admin.scope("folder", "Folder 2", org)
    report_1 = admin.scope("report", "Report 1", folder_1)
    report_2 = admin.scope("report", "Report 2", folder_2)
    users = ["viewer@reeport.example", "sharer@reeport.example", "manager@reeport.example"]
    ids = {user: directory.user(user, external_id=f"ext-{user}") for user in users}
    nobody = directory.user("nobody@reeport.example")
    admin.assign("viewer@reeport.example", "view", folder_1)
    admin.assign("viewer@reeport.example", "edit", folder_2)
    directory.group("Folder 1 sharers", users=[ids["sharer@reeport.example"]])
    admin.map("Folder 1 sharers", "share", folder_1)
    admin.assign("manager@reeport.example", "manage", org)
    return Reporting(
        # The three ways to name a user, an id of no user, and one of another kind.
        users=[
            "viewer@reeport.example",
            ids["sharer@reeport.example"],
            "ext-manager@reeport.example",
            nobody,
            "ghost@reeport.example",
        ],
        scopes=[org, folder_1, folder_2, report_1, report_2, "no-such-scope"],
    )


def evaluation(user: str, area: str, level: str, scope: str) -> dict[str, Any]:
    return {
        "subject": {"type": "user", "id": user},
        "action": {"name": f"{area}:{level}"},
        "resource": {"type": "scope", "id": scope},
    }


def checked(authzen: AuthZEN, asked: list[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
    checks = [{"user": u, "area": a, "level": lv, "scope": s} for u, a, lv, s in asked]
    response = authzen.client.post(
        "/api/v1/check", json={"checks": checks}, headers=authzen.keys.auth("read")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["results"]


def as_decision(result: dict[str, Any]) -> dict[str, Any]:
    """What the check's result says, as an AuthZEN Decision."""
    decision: dict[str, Any] = {"decision": result["allowed"]}
    if "reason" in result:
        decision["context"] = {"reason": result["reason"]}
    return decision


def test_every_evaluation_is_answered_as_the_check_answers_it(
    authzen: AuthZEN, reporting: Reporting
) -> None:
    """Seed 003: "View in Folder 1 + Edit in Folder 2 = the User can only view Reports
    under Folder 1 and create/edit/delete all Reports under Folder 2" - and every other
    question about the tenant - decided alike by both APIs."""
    asked = list(itertools.product(reporting.users, AREAS, LEVELS, reporting.scopes))
    expected = [as_decision(r) for r in checked(authzen, asked)]

    answered = [authzen.ok("evaluation", evaluation(*question)) for question in asked]

    assert answered == expected
    allowed = sum(d["decision"] for d in answered)
    assert 0 < allowed < len(asked)  # both answers occur: the comparison means something


def test_a_batch_of_evaluations_is_answered_as_the_check_answers_the_same_batch(
    authzen: AuthZEN, reporting: Reporting
) -> None:
    """One /access/v1/evaluations request with the user as the top-level default and a
    batch of questions, against one /api/v1/check of the same batch."""
    user = reporting.users[0]
    asked = list(itertools.product([user], AREAS, LEVELS, reporting.scopes))
    items = [
        {"action": {"name": f"{a}:{lv}"}, "resource": {"type": "scope", "id": s}}
        for _, a, lv, s in asked
    ]

    answer = authzen.ok(
        "evaluations", {"subject": {"type": "user", "id": user}, "evaluations": items}
    )

    assert answer["evaluations"] == [as_decision(r) for r in checked(authzen, asked)]


def test_an_action_named_in_properties_is_the_same_question(
    authzen: AuthZEN, reporting: Reporting
) -> None:
    """`properties.area`, `.level` and `.product` name what `<product>/<area>:<level>`
    names."""
    viewer, folder_2 = reporting.users[0], reporting.scopes[2]
    by_name = evaluation(viewer, "reporting/edit", "granted", folder_2)
    by_properties = {
        **by_name,
        "action": {
            "name": "edit a report",
            "properties": {"area": "edit", "level": "granted", "product": "reporting"},
        },
    }

    assert authzen.ok("evaluation", by_name) == {"decision": True}
    assert authzen.ok("evaluation", by_properties) == {"decision": True}


def test_a_plain_verb_names_an_on_off_area_at_its_one_level(
    authzen: AuthZEN, reporting: Reporting
) -> None:
    """An action name without a level (AuthZEN's usual `can_read`) is the on/off area of
    that key at `granted`."""
    viewer, folder_1, folder_2 = reporting.users[0], *reporting.scopes[1:3]

    assert authzen.decide(viewer, "edit", folder_2) is True
    assert authzen.decide(viewer, "edit", folder_1) is False
