"""Against a real rolecall: changes an IdP or an admin makes reach the client's answers
by the feed, in the time the issue sets, and the client fails closed when rolecall goes
away."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from rolecall_client import Client, RolecallUnavailable
from tests.live_server import PATCH_SCHEMA, LiveServer, Tenant, eventually, start_live_server

EDIT = "reporting/edit"
GRANTED = "granted"


@dataclass
class Folder:
    """A reporting tenant: an organization, a folder in it, and an IdP group whose
    members may edit in the folder."""

    tenant: Tenant
    org: str
    folder: str
    report: str
    group: str


def reporting_tenant(server: LiveServer) -> Folder:
    tenant = Tenant(server)
    tenant.load("reporting")
    org = tenant.scope("organization", "Live Org")
    folder = tenant.scope("folder", "Live Folder", org)
    report = tenant.scope("report", "Live Report", folder)
    tenant.map("Live Editors", "edit", folder, product="reporting")
    group = tenant.group("Live Editors")
    return Folder(tenant, org, folder, report, group)


@pytest.fixture
def folder(live_server: LiveServer) -> Folder:
    return reporting_tenant(live_server)


@pytest.fixture
def client(folder: Folder) -> Iterator[Client]:
    with Client(folder.tenant.base_url, folder.tenant.read_token) as made:
        assert made.wait_until_fresh(15), "the client never caught up with the feed"
        yield made


def seen_within(client: Client, user: str, scope: str, expected: bool, timeout: float) -> float:
    """Seconds until the client's check of `user` at `scope` answers `expected`."""
    started = time.monotonic()
    eventually(
        lambda: client.check(user, EDIT, GRANTED, scope) is expected,
        timeout,
        f"the client to answer {expected}",
    )
    assert client.status().fresh  # the answer came from memory, kept by the feed
    return time.monotonic() - started


def test_a_scim_group_change_reaches_the_clients_answer(folder: Folder, client: Client) -> None:
    user = folder.tenant.user("grace@live.example")
    assert not client.check(user, EDIT, GRANTED, folder.report)

    folder.tenant.members(folder.group, "add", user)
    seen_within(client, user, folder.report, True, 10)
    assert client.check("GRACE@live.example", EDIT, GRANTED, folder.report)
    assert not client.check(user, EDIT, GRANTED, folder.org)

    folder.tenant.members(folder.group, "remove", user)
    seen_within(client, user, folder.report, False, 10)


def test_a_held_set_equals_the_servers_at_its_version(folder: Folder, client: Client) -> None:
    user = folder.tenant.user("heidi@live.example", external_id="ext-heidi")
    assert not client.check("ext-heidi", EDIT, GRANTED, folder.folder)
    folder.tenant.members(folder.group, "add", user)
    seen_within(client, "ext-heidi", folder.folder, True, 10)

    held, server = client.cached(user), folder.tenant.permissions(user)
    assert held is not None
    # A recompute that changes nothing is no event (the feed contract): the server may
    # hold a newer version of the same content.
    assert held["version"] <= server["version"]
    assert without_version(held) == without_version(server)
    assert client.permissions("ext-heidi") == held


def without_version(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("version", "computed_at")}


def test_a_deprovisioned_user_is_denied_by_the_client(folder: Folder, client: Client) -> None:
    user = folder.tenant.user("ivan@live.example")
    folder.tenant.members(folder.group, "add", user)
    seen_within(client, user, folder.folder, True, 10)

    folder.tenant.deactivate(user)

    seen_within(client, user, folder.folder, False, 2)
    assert not client.check("ivan@live.example", EDIT, GRANTED, folder.folder)
    assert client.cached(user)["active"] is False  # held, from the feed: not refetched


def test_a_deleted_user_is_denied_and_has_no_permissions(folder: Folder, client: Client) -> None:
    user = folder.tenant.user("judy@live.example")
    folder.tenant.members(folder.group, "add", user)
    seen_within(client, user, folder.folder, True, 10)

    folder.tenant.delete_user(user)

    seen_within(client, user, folder.folder, False, 2)
    assert client.permissions(user) is None
    assert not client.check("judy@live.example", EDIT, GRANTED, folder.folder)


def test_a_renamed_user_no_longer_answers_to_its_old_name(folder: Folder, client: Client) -> None:
    user = folder.tenant.user("peggy@live.example")
    folder.tenant.members(folder.group, "add", user)
    seen_within(client, "Peggy@live.example", folder.folder, True, 10)

    rename = {"op": "replace", "path": "userName", "value": "peggy.new@live.example"}
    folder.tenant.scim(
        "PATCH", f"/Users/{user}", {"schemas": [PATCH_SCHEMA], "Operations": [rename]}
    )

    seen_within(client, "Peggy@live.example", folder.folder, False, 10)
    assert client.check("peggy.new@live.example", EDIT, GRANTED, folder.folder)
    assert client.check(user, EDIT, GRANTED, folder.folder)


def test_a_scope_moved_out_of_the_folder_loses_what_it_inherited(
    folder: Folder, client: Client
) -> None:
    user = folder.tenant.user("mallory@live.example")
    folder.tenant.members(folder.group, "add", user)
    seen_within(client, user, folder.report, True, 10)

    folder.tenant.move(folder.report, folder.org)

    seen_within(client, user, folder.report, False, 10)
    assert client.check(user, EDIT, GRANTED, folder.folder)  # the folder itself keeps it


def test_min_version_answers_from_a_set_at_least_that_new(folder: Folder, client: Client) -> None:
    user = folder.tenant.user("niaj@live.example")
    assert not client.check(user, EDIT, GRANTED, folder.folder)
    folder.tenant.members(folder.group, "add", user)
    written = eventually(
        lambda: (body := folder.tenant.permissions(user))["scopes"] and body["version"],
        10,
        "the server to compute the new set",
    )

    assert client.check(user, EDIT, GRANTED, folder.folder, min_version=written)


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of this test's own, which it stops."""
    server = start_live_server(tmp_path_factory.mktemp("stopped"))
    try:
        yield server
    finally:
        server.stop()


def test_with_rolecall_stopped_the_client_denies_once_max_staleness_has_passed(
    own_server: LiveServer,
) -> None:
    folder = reporting_tenant(own_server)
    user = folder.tenant.user("olivia@live.example")
    folder.tenant.members(folder.group, "add", user)
    with Client(folder.tenant.base_url, folder.tenant.read_token, max_staleness=2) as client:
        assert client.wait_until_fresh(15)
        seen_within(client, user, folder.folder, True, 10)

        own_server.stop()
        stopped = time.monotonic()
        while time.monotonic() - stopped < 1.0:  # within the bound: memory answers
            assert client.check(user, EDIT, GRANTED, folder.folder)
            time.sleep(0.05)
        denied = eventually(
            lambda: not client.check(user, EDIT, GRANTED, folder.folder),
            5,
            "the client to deny once max_staleness passed",
        )

        assert denied
        assert time.monotonic() - stopped <= 2 + 1.5  # the bound, plus a poll's slack
        assert not client.status().fresh
        with pytest.raises(RolecallUnavailable):
            client.permissions(user)

        own_server.start()  # back: the feed resumes from its cursor
        assert client.wait_until_fresh(15)
        assert client.check(user, EDIT, GRANTED, folder.folder)
