"""The read API apps call: cached sets with versions, checks with inheritance, and the
rules that keep it right (read-through on a miss, fail closed, follow every change)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.cache.permission_cache import PermissionCache
from service.cache.redis_client import connect
from service.runtime import Runtime
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory

USER = "ada@reeport.example"


@dataclass
class Reporting:
    org: str
    folder: str
    report: str
    other_folder: str
    user_id: str
    group_id: str


@pytest.fixture
def reporting(admin: Admin, directory: Directory) -> Reporting:
    """Seed 003's tool: members of "Editors" may edit under Folder 1."""
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    folder = admin.scope("folder", "Folder 1", org)
    report = admin.scope("report", "Report 1", folder)
    other_folder = admin.scope("folder", "Folder 2", org)
    user_id = directory.user(USER, external_id="EMP-7")
    group_id = directory.group("Editors", users=[user_id])
    admin.map("Editors", "edit", folder)
    return Reporting(org, folder, report, other_folder, user_id, group_id)


def read(client: FlaskClient, tenant: TenantKeys, ref: str, **query: object):
    return client.get(
        f"/api/v1/users/{ref}/permissions", headers=tenant.auth("read"), query_string=query
    )


def check(client: FlaskClient, tenant: TenantKeys, *checks: dict, **extra: object):
    return client.post(
        "/api/v1/check", json={"checks": list(checks), **extra}, headers=tenant.auth("read")
    )


def test_a_read_token_gets_the_set_with_its_version_by_id_username_or_external_id(
    client: FlaskClient, tenant: TenantKeys, reporting: Reporting
) -> None:
    bodies = [read(client, tenant, ref) for ref in (reporting.user_id, USER.upper(), "EMP-7")]
    assert [b.status_code for b in bodies] == [200, 200, 200]
    body = bodies[0].json
    assert body["user_id"] == reporting.user_id
    assert body["version"] > 0 and body["computed_at"]
    assert body["scopes"][reporting.folder]["reporting/edit"] == {
        "level": "granted",
        "inherits": True,
    }
    assert {b.json["version"] for b in bodies} == {body["version"]}  # one cached set


def test_the_set_is_served_from_the_cache_once_computed(
    client: FlaskClient,
    tenant: TenantKeys,
    reporting: Reporting,
    runtime: Runtime,
    directory: Directory,
) -> None:
    first = read(client, tenant, USER).json
    assert runtime.cache.version_of(tenant.id, reporting.user_id) == first["version"]
    # A change made behind the service's back (no outbox record) is not seen...
    directory.remove(reporting.group_id, reporting.user_id)
    assert read(client, tenant, USER).json == first
    # ...until a caller insists on a newer set.
    fresh = read(client, tenant, USER, min_version=first["version"] + 1).json
    assert fresh["version"] > first["version"] and fresh["scopes"] == {}


def test_a_cold_or_evicted_cache_is_never_a_denial(
    client: FlaskClient, tenant: TenantKeys, reporting: Reporting, runtime: Runtime
) -> None:
    runtime.cache.evict(tenant.id, reporting.user_id)
    allowed = check(
        client,
        tenant,
        {"user": USER, "area": "edit", "level": "granted", "scope": reporting.report},
    )
    assert allowed.status_code == 200
    assert allowed.json["results"][0]["allowed"] is True
    assert runtime.cache.version_of(tenant.id, reporting.user_id) is not None


def test_checks_follow_inheritance_down_the_scope_tree(
    client: FlaskClient, tenant: TenantKeys, reporting: Reporting
) -> None:
    def ask(area: str, scope: str) -> dict:
        return {"user": USER, "area": area, "level": "granted", "scope": scope}

    response = check(
        client,
        tenant,
        ask("edit", reporting.folder),
        ask("edit", reporting.report),
        ask("edit", reporting.org),
        ask("edit", reporting.other_folder),
        ask("share", reporting.folder),
    )
    assert [r["allowed"] for r in response.json["results"]] == [True, True, False, False, False]
    assert all(r["version"] > 0 for r in response.json["results"])


def test_a_check_names_an_unknown_user_or_scope_instead_of_failing(
    client: FlaskClient, tenant: TenantKeys, reporting: Reporting
) -> None:
    response = check(
        client,
        tenant,
        {"user": "nobody", "area": "edit", "level": "granted", "scope": reporting.folder},
        {"user": USER, "area": "edit", "level": "granted", "scope": "no-such-scope"},
        {"user": USER, "area": "edit", "level": "owner", "scope": reporting.folder},
    )
    results = response.json["results"]
    assert [r["allowed"] for r in results] == [False, False, False]
    assert results[0]["reason"] == "unknown user"
    assert results[1]["reason"] == "unknown scope"
    assert "no level 'owner'" in results[2]["reason"]


def test_a_bad_check_request_names_the_field(client: FlaskClient, tenant: TenantKeys) -> None:
    response = client.post(
        "/api/v1/check", json={"checks": [{"user": "a", "area": "b"}]}, headers=tenant.auth("read")
    )
    assert response.status_code == 422
    assert "level" in response.json["errors"]["json"]["checks"]["0"]


def test_a_scoped_read_resolves_each_area_at_that_scope(
    client: FlaskClient, tenant: TenantKeys, reporting: Reporting
) -> None:
    body = read(client, tenant, USER, scope=reporting.report).json
    # Edit from the mapping, View as the catalog's default role (seed 003).
    assert body["at_scope"] == {
        "scope_id": reporting.report,
        "areas": {"reporting/edit": "granted", "reporting/view": "granted"},
    }
    assert read(client, tenant, USER, scope="nowhere").status_code == 404


def test_an_admin_token_gets_the_live_set_with_what_explains_it(
    admin: Admin, reporting: Reporting
) -> None:
    body = admin.permissions(USER)
    assert (body["assignments"][0]["product"], body["assignments"][0]["role_key"]) == (
        "reporting",
        "edit",
    )
    assert body["conflicts"] == []


def test_only_read_and_admin_tokens_may_read(
    client: FlaskClient, tenant: TenantKeys, reporting: Reporting
) -> None:
    scim = client.get(f"/api/v1/users/{USER}/permissions", headers=tenant.auth("scim"))
    assert scim.status_code == 403
    nobody = client.get(f"/api/v1/users/{USER}/permissions")
    assert nobody.status_code == 401
    wrong = client.get(
        f"/api/v1/users/{USER}/permissions", headers={"Authorization": "Bearer rc_read_wrong"}
    )
    assert wrong.status_code == 401


def test_another_tenants_user_is_not_found(
    client: FlaskClient, make_tenant, reporting: Reporting
) -> None:
    other = make_tenant("globex")
    assert read(client, other, reporting.user_id).status_code == 404
    assert read(client, other, USER).status_code == 404


def test_a_mapping_change_reaches_the_cached_set(
    client: FlaskClient, tenant: TenantKeys, admin: Admin, reporting: Reporting
) -> None:
    before = read(client, tenant, USER).json
    admin.map("Editors", "share", reporting.other_folder)  # tasks run in-process here
    after = read(client, tenant, USER).json
    assert after["version"] > before["version"]
    assert after["scopes"][reporting.other_folder]["reporting/share"]["level"] == "granted"


def test_a_direct_assignment_reaches_the_cached_set(
    client: FlaskClient, tenant: TenantKeys, admin: Admin, reporting: Reporting
) -> None:
    read(client, tenant, USER)
    admin.assign(USER, "manage", reporting.org)
    after = read(client, tenant, USER).json
    assert after["scopes"][reporting.org]["reporting/manage"]["level"] == "granted"


def test_reads_are_answered_from_the_database_when_redis_is_down(
    runtime: Runtime, tenant: TenantKeys, reporting: Reporting
) -> None:
    down = connect("redis://127.0.0.1:1/0", timeout=0.2)
    client = create_app(runtime=replace(runtime, redis=down, cache=PermissionCache(down, "x:")))
    client = client.test_client()
    body = read(client, tenant, USER).json
    assert body["scopes"][reporting.folder]["reporting/edit"]["level"] == "granted"
    allowed = check(
        client,
        tenant,
        {"user": USER, "area": "edit", "level": "granted", "scope": reporting.report},
    )
    assert allowed.json["results"][0]["allowed"] is True


def test_with_redis_and_the_database_down_the_answer_is_503_never_allowed(
    runtime: Runtime, tenant: TenantKeys, reporting: Reporting, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import create_engine

    from service.persistence.db import make_session_factory

    down = connect("redis://127.0.0.1:1/0", timeout=0.2)
    dead_engine = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    broken = replace(
        runtime,
        settings=runtime.settings.with_overrides(check_schema_at_start=False),
        redis=down,
        cache=PermissionCache(down, "x:"),
        engine=dead_engine,
        sessions=make_session_factory(dead_engine),
    )
    app = create_app(runtime=broken)
    client = app.test_client()
    response = check(
        client,
        tenant,
        {"user": USER, "area": "edit", "level": "granted", "scope": reporting.report},
    )
    assert response.status_code == 503
    assert "allowed" not in response.get_data(as_text=True)
    read_response = read(client, tenant, USER)
    assert read_response.status_code == 503
    assert read_response.json["reason"] == "unavailable"


def test_an_unusual_check_body_gets_the_schemas_field_errors(
    client: FlaskClient, tenant: TenantKeys, reporting: Reporting
) -> None:
    valid = {"user": USER, "area": "edit", "level": "granted", "scope": reporting.folder}
    extra = client.post(
        "/api/v1/check", headers=tenant.auth("read"), json={"checks": [{**valid, "colour": "blue"}]}
    )
    assert extra.status_code == 422
    assert "colour" in extra.json["errors"]["json"]["checks"]["0"]
    empty = client.post("/api/v1/check", headers=tenant.auth("read"), json={"checks": []})
    assert empty.status_code == 422 and "checks" in empty.json["errors"]["json"]
    newer = check(client, tenant, valid, min_version=1)
    assert newer.status_code == 200 and newer.json["results"][0]["allowed"] is True


def test_a_mapping_change_recomputes_only_the_members_of_its_group(
    client: FlaskClient,
    tenant: TenantKeys,
    admin: Admin,
    directory: Directory,
    reporting: Reporting,
    runtime: Runtime,
) -> None:
    outsider = directory.user("outsider@reeport.example")
    read(client, tenant, USER)
    read(client, tenant, outsider)
    member_before = runtime.cache.version_of(tenant.id, reporting.user_id)
    outsider_before = runtime.cache.version_of(tenant.id, outsider)
    admin.map("Editors", "share", reporting.other_folder)
    assert runtime.cache.version_of(tenant.id, reporting.user_id) > member_before
    assert runtime.cache.version_of(tenant.id, outsider) == outsider_before
