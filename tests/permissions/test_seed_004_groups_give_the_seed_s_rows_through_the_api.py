"""Seed 004 end to end: each of the nine groups gives its row, a user in several groups
holds the best of each, and a change of groups through SCIM changes what apps read."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from service.catalogs import load
from service.domain import split_ref
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin
from tests.permissions.test_scim_changes_reach_readers import Idp
from tests.permissions.test_seed_004_creator_and_viewer_through_the_api import expected
from tests.unit.domain.test_seed_004_creator_and_viewer_differ_per_area import (
    CONVERSATIONS_MANAGER,
    CREATOR,
    DASHBOARD_MANAGER,
    ROWS,
    VIEWER,
)

CATALOG = load("data-platform")
ROLE_OF = {role.name: role for role in CATALOG.roles}


@pytest.fixture
def workspaces(admin: Admin) -> tuple[str, str]:
    """The root workspace, at the top of the organization, and a child workspace; each
    of the nine groups is mapped in the root workspace under the seed's name."""
    admin.load("data-platform")
    organization = admin.scope("organization", "Acme")
    root = admin.scope("workspace", "Acme root", organization)
    child = admin.scope("workspace", "Marketing", root)
    for name, role in ROLE_OF.items():
        admin.map(f"Adverity {name}", role.key, root)
    return root, child


@pytest.fixture
def idp(client: FlaskClient, tenant: TenantKeys) -> Idp:
    return Idp(client, tenant)


def read(client: FlaskClient, tenant: TenantKeys, user: str, scope: str) -> dict[str, str]:
    """What an app reads with a read token: the data platform's areas the user holds at
    ``scope``, by key (the set names them by ref, ``data-platform/<key>``)."""
    response = client.get(
        f"/api/v1/users/{user}/permissions",
        headers=tenant.auth("read"),
        query_string={"scope": scope},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    held: dict[str, str] = {}
    for ref, level in response.json["at_scope"]["areas"].items():
        product, key = split_ref(ref)
        if product == "data-platform":
            held[key] = level
    return held


@pytest.mark.parametrize("group", list(ROWS))
def test_each_group_gives_the_seed_s_row(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, workspaces: tuple[str, str], group: str
) -> None:
    """ "User permissions associated with each group": a user the IdP puts in one group
    reads that group's row in the root workspace, and in the child workspace too except
    for the root workspace's own role (its child row is the Administrator's). Each case
    is the list under its group's name in the seed ("Administrator in root workspace",
    "Administrator", "Creator", "Datastream manager", "Mapping table manager", "Dashboard
    manager", "Notifications administrator", "Conversations manager", "Viewer"), "No
    access" being no grant."""
    root, child = workspaces
    user = idp.user(f"{ROLE_OF[group].key}@example.com")
    idp.group(f"Adverity {group}", user)

    assert read(client, tenant, user, root) == expected(ROWS[group])
    below = read(client, tenant, user, child)
    assert below == ({} if ROLE_OF[group].root_only else expected(ROWS[group]))


def test_a_user_in_two_groups_holds_the_higher_level_of_each_area(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, workspaces: tuple[str, str]
) -> None:
    """ "Assign user permissions in Adverity by assigning the user to one or more
    groups.": with two, each area at the higher of the two rows' levels (in the seed's
    order of levels), an area either row grants being held."""
    root, _ = workspaces
    user = idp.user("both@example.com")
    idp.group("Adverity Dashboard manager", user)
    idp.group("Adverity Conversations manager", user)

    def higher(area: str, a: str | None, b: str | None) -> str | None:
        levels = CATALOG.areas_by_key[area].levels
        return max((lv for lv in (a, b) if lv is not None), key=levels.index, default=None)

    best = {
        area: higher(area, DASHBOARD_MANAGER[area], CONVERSATIONS_MANAGER[area])
        for area in DASHBOARD_MANAGER
    }
    held = read(client, tenant, user, root)

    assert held == expected(best)
    assert held["data_conversations"] == "View and manage"  # from Conversations manager
    assert held["datastreams"] == "View"  # from Dashboard manager


def test_changing_a_user_s_groups_changes_what_apps_read(
    client: FlaskClient, tenant: TenantKeys, idp: Idp, workspaces: tuple[str, str]
) -> None:
    """ "As a result, the user's permissions are updated based on the groups to which
    you have assigned the user.": moved from Viewer to Creator by the IdP, the user
    reads Creator's row at once; out of every group, nothing."""
    root, child = workspaces
    user = idp.user("mover@example.com")
    viewers = idp.group("Adverity Viewer", user)
    creators = idp.group("Adverity Creator")
    assert read(client, tenant, user, child) == expected(VIEWER)

    idp.patch("Groups", creators, {"op": "add", "path": "members", "value": [{"value": user}]})
    idp.patch("Groups", viewers, {"op": "remove", "path": f'members[value eq "{user}"]'})
    assert read(client, tenant, user, child) == expected(CREATOR)

    idp.patch("Groups", creators, {"op": "remove", "path": f'members[value eq "{user}"]'})
    assert read(client, tenant, user, root) == {}
