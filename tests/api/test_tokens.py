"""Tokens: kinds decide what may be called; revoked, rotated and foreign tokens behave."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import select

from service.persistence.base import utcnow
from service.persistence.models import ApiToken
from service.persistence.outbox import OutboxRecord
from service.runtime import Runtime
from service.services import propagation, relay
from service.services.tokens import hash_token
from tests.conftest import TenantKeys, bearer


def test_a_request_without_a_token_is_401_with_a_json_body(client: FlaskClient) -> None:
    response = client.get("/api/v1/tokens")
    assert response.status_code == 401
    assert response.json["code"] == 401
    assert "bearer token" in response.json["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_401(client: FlaskClient, tenant: TenantKeys) -> None:
    response = client.get("/api/v1/tokens", headers=bearer("rc_admin_" + "x" * 43))
    assert response.status_code == 401
    assert response.json["message"] == "The token is unknown, revoked or expired"


def test_a_malformed_authorization_header_is_401(client: FlaskClient, tenant: TenantKeys) -> None:
    response = client.get("/api/v1/tokens", headers={"Authorization": f"Basic {tenant.admin}"})
    assert response.status_code == 401


@pytest.mark.parametrize("kind", ["scim", "read"])
def test_only_an_admin_token_manages_tokens(
    client: FlaskClient, tenant: TenantKeys, kind: str
) -> None:
    response = client.get("/api/v1/tokens", headers=tenant.auth(kind))
    assert response.status_code == 403
    assert response.json["message"] == f"A {kind} token cannot call this; it needs admin"


def test_an_admin_token_creates_a_token_shown_once_and_stored_hashed(
    client: FlaskClient, tenant: TenantKeys, runtime: Runtime
) -> None:
    response = client.post(
        "/api/v1/tokens",
        json={"kind": "read", "description": "dashboard"},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 201
    plaintext = response.json["token"]
    assert plaintext.startswith("rc_read_") and len(plaintext) >= 8 + 43
    listed = client.get("/api/v1/tokens", headers=tenant.auth("admin")).json
    assert all("token" not in row for row in listed)
    assert {row["description"] for row in listed} >= {"dashboard"}
    with runtime.unit_of_work() as uow:
        session = uow.session
        stored = session.get(ApiToken, response.json["id"])
        assert stored is not None
        assert stored.token_hash == hash_token(plaintext)
        assert plaintext not in (stored.token_hash, stored.prefix)


def test_creating_a_token_of_an_unknown_kind_names_the_field(
    client: FlaskClient, tenant: TenantKeys
) -> None:
    response = client.post("/api/v1/tokens", json={"kind": "root"}, headers=tenant.auth("admin"))
    assert response.status_code == 422
    assert "kind" in response.json["errors"]["json"]


def test_a_revoked_token_is_refused_at_once(client: FlaskClient, tenant: TenantKeys) -> None:
    created = client.post("/api/v1/tokens", json={"kind": "admin"}, headers=tenant.auth("admin"))
    second = created.json["token"]
    assert client.get("/api/v1/tokens", headers=bearer(second)).status_code == 200

    revoked = client.delete(f"/api/v1/tokens/{created.json['id']}", headers=tenant.auth("admin"))
    assert revoked.status_code == 204
    assert client.get("/api/v1/tokens", headers=bearer(second)).status_code == 401


def test_rotation_keeps_the_old_token_working_until_the_overlap_ends(
    client: FlaskClient, tenant: TenantKeys, runtime: Runtime
) -> None:
    listed = client.get("/api/v1/tokens", headers=tenant.auth("admin")).json
    read_id = next(row["id"] for row in listed if row["kind"] == "read")
    rotated = client.post(
        f"/api/v1/tokens/{read_id}/rotate",
        json={"overlap_seconds": 600},
        headers=tenant.auth("admin"),
    )
    assert rotated.status_code == 201
    new_token = rotated.json["token"]
    assert new_token != tenant.read and new_token.startswith("rc_read_")

    # Both work during the overlap: a read token is refused by kind (403), not unknown (401).
    assert client.get("/api/v1/tokens", headers=bearer(tenant.read)).status_code == 403
    assert client.get("/api/v1/tokens", headers=bearer(new_token)).status_code == 403

    with runtime.unit_of_work() as uow:
        session = uow.session
        old = session.get(ApiToken, read_id)
        assert old is not None and old.rotated_to_id == rotated.json["id"]
        old.expires_at = utcnow() - timedelta(seconds=1)  # the overlap has ended

    assert client.get("/api/v1/tokens", headers=bearer(tenant.read)).status_code == 401
    assert client.get("/api/v1/tokens", headers=bearer(new_token)).status_code == 403


def test_a_rotated_admin_token_works_during_the_overlap(
    client: FlaskClient, tenant: TenantKeys
) -> None:
    listed = client.get("/api/v1/tokens", headers=tenant.auth("admin")).json
    admin_id = next(row["id"] for row in listed if row["kind"] == "admin")
    rotated = client.post(
        f"/api/v1/tokens/{admin_id}/rotate", json={}, headers=tenant.auth("admin")
    )
    assert rotated.status_code == 201
    assert rotated.json["kind"] == "admin"
    assert client.get("/api/v1/tokens", headers=tenant.auth("admin")).status_code == 200
    assert client.get("/api/v1/tokens", headers=bearer(rotated.json["token"])).status_code == 200


def test_two_tenants_cannot_see_or_revoke_each_others_tokens(
    client: FlaskClient, make_tenant
) -> None:
    acme = make_tenant("acme")
    globex = make_tenant("globex")
    acme_ids = {row["id"] for row in client.get("/api/v1/tokens", headers=acme.auth("admin")).json}
    globex_ids = {
        row["id"] for row in client.get("/api/v1/tokens", headers=globex.auth("admin")).json
    }
    assert acme_ids and globex_ids and not acme_ids & globex_ids

    foreign = next(iter(globex_ids))
    assert client.delete(f"/api/v1/tokens/{foreign}", headers=acme.auth("admin")).status_code == 404
    assert (
        client.post(
            f"/api/v1/tokens/{foreign}/rotate", json={}, headers=acme.auth("admin")
        ).status_code
        == 404
    )
    assert client.get("/api/v1/tokens", headers=globex.auth("admin")).status_code == 200


def test_no_token_appears_in_the_logs(
    client: FlaskClient, tenant: TenantKeys, caplog: pytest.LogCaptureFixture, capfd
) -> None:
    caplog.set_level(logging.DEBUG)
    created = client.post("/api/v1/tokens", json={"kind": "scim"}, headers=tenant.auth("admin"))
    client.get("/api/v1/tokens", headers=bearer(created.json["token"]))
    client.get("/api/v1/tokens", headers=bearer("rc_admin_not-a-real-token-value"))
    logging.getLogger("rolecall.test").warning("leaked %s", tenant.admin)

    secrets = [tenant.admin, tenant.scim, tenant.read, created.json["token"]]
    from service.observability import JsonFormatter

    formatted = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    written = capfd.readouterr()
    assert "request" in formatted  # the access log did run
    for secret in secrets:
        assert secret not in formatted
        assert secret not in written.err and secret not in written.out
    assert "[redacted]" in formatted


def test_a_used_token_is_answered_from_the_cache_until_it_is_revoked(
    client: FlaskClient, tenant: TenantKeys, runtime: Runtime
) -> None:
    digest = hash_token(tenant.admin)
    assert runtime.cache.cached_token(digest) is None
    assert client.get("/api/v1/tokens", headers=tenant.auth("admin")).status_code == 200
    cached = runtime.cache.cached_token(digest)
    assert cached is not None and cached.tenant_id == tenant.id and cached.kind == "admin"

    created = client.post("/api/v1/tokens", json={"kind": "admin"}, headers=tenant.auth("admin"))
    client.delete(f"/api/v1/tokens/{cached.token_id}", headers=bearer(created.json["token"]))
    assert runtime.cache.cached_token(digest) is None
    # A request that read the database before the revocation cannot cache it again.
    from service.cache.permission_cache import CachedToken

    assert not runtime.cache.remember_token(digest, CachedToken(tenant.id, "admin", "x", 0.0))
    assert client.get("/api/v1/tokens", headers=tenant.auth("admin")).status_code == 401


def test_tokens_are_checked_against_the_database_when_redis_is_down(
    runtime: Runtime, tenant: TenantKeys
) -> None:
    from dataclasses import replace

    from service.app import create_app
    from service.cache.permission_cache import PermissionCache
    from service.cache.redis_client import connect

    down = connect("redis://127.0.0.1:1/0", timeout=0.2)
    app = create_app(runtime=replace(runtime, redis=down, cache=PermissionCache(down, "t:")))
    client = app.test_client()
    assert client.get("/api/v1/tokens", headers=tenant.auth("admin")).status_code == 200
    assert client.get("/api/v1/tokens", headers=bearer("rc_admin_unknown")).status_code == 401


def test_a_revocation_committed_while_redis_is_down_succeeds_and_the_outbox_applies_it(
    client: FlaskClient, tenant: TenantKeys, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = client.post("/api/v1/tokens", json={"kind": "admin"}, headers=tenant.auth("admin"))
    token_id, doomed = created.json["id"], created.json["token"]
    assert client.get("/api/v1/tokens", headers=bearer(doomed)).status_code == 200
    digest = hash_token(doomed)
    assert runtime.cache.cached_token(digest) is not None  # remembered

    def redis_down(token_hash: str) -> None:
        raise redis.ConnectionError("Redis is unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(runtime.cache, "forget_token", redis_down)
        response = client.delete(f"/api/v1/tokens/{token_id}", headers=tenant.auth("admin"))
        # The revocation is committed: the answer says so, and nothing is lost.
        assert response.status_code == 204
        assert _pending(runtime, propagation.FORGET_TOKEN, token_id)
        assert runtime.cache.cached_token(digest) is not None  # not yet forgotten

    relay.relay(runtime)  # the sweep (tasks run in-process here)
    assert not _pending(runtime, propagation.FORGET_TOKEN, token_id)
    assert runtime.cache.cached_token(digest) is None
    assert client.get("/api/v1/tokens", headers=bearer(doomed)).status_code == 401


def _pending(runtime: Runtime, task: str, object_id: str) -> list[OutboxRecord]:
    with runtime.unit_of_work().reading() as session:
        return list(
            session.scalars(
                select(OutboxRecord).where(
                    OutboxRecord.task == task, OutboxRecord.object_id == object_id
                )
            )
        )
