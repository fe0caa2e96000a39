"""A deprovisioning reaches readers in the request that made it, or the IdP is told to
retry; and its retry applies it again, even though the user is already inactive.

Here the outbox relay runs as its own process (`outbox_relay=process`), so nothing
applies a deferred effect during the test: only the request and its retry can.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.persistence.outbox import OutboxRecord
from service.runtime import Runtime
from service.services import propagation, relay
from tests.api.test_metrics import sample
from tests.conftest import TenantKeys, counted
from tests.permissions.conftest import Admin
from tests.scim.conftest import ERROR_SCHEMA, USER_SCHEMA, Scim, assert_scim_error


@pytest.fixture
def relay_apart(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """As in production: the request only writes its outbox rows; `rolecall relay` sends."""
    monkeypatch.setattr(
        runtime, "settings", runtime.settings.with_overrides(outbox_relay="process")
    )


@pytest.fixture
def editor(client: FlaskClient, tenant: TenantKeys, scim: Scim, runtime: Runtime) -> str:
    """A user whose cached set grants `edit` (seed 003's rights, through a mapped group)."""
    admin = Admin(client, tenant)
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    admin.map("Editors", "edit", admin.scope("folder", "Folder", org))
    user = scim.create_user("ada@example.org")["id"]
    scim.create_group("Editors", [user])
    read = client.get(f"/api/v1/users/{user}/permissions", headers=tenant.auth("read"))
    assert read.status_code == 200 and read.json["scopes"], read.json
    assert cached(runtime, tenant, user)["scopes"]  # granted, and cached
    return user


def cached(runtime: Runtime, tenant: TenantKeys, user: str) -> dict[str, Any]:
    body = runtime.cache.body_of(tenant.id, user)
    assert body is not None
    return body


def failing_first(store: Callable[..., Any], error: Exception) -> Callable[..., Any]:
    """`store` that fails once (Redis unreachable from this process), then works."""
    calls = {"n": 0}

    def store_once_failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise error
        return store(*args, **kwargs)

    return store_once_failing


def deactivate(scim: Scim, user: str, how: str) -> TestResponse:
    if how == "PATCH":
        return scim.patch(f"/Users/{user}", [{"op": "replace", "value": {"active": False}}])
    body = {"schemas": [USER_SCHEMA], "userName": "ada@example.org", "active": False}
    return scim.put(f"/Users/{user}", body)


def deprovisions_pending(runtime: Runtime, tenant: TenantKeys, user: str) -> int:
    with runtime.unit_of_work() as uow:
        session = uow.session
        rows = session.query(OutboxRecord).filter_by(
            tenant_id=tenant.id, task=propagation.DEPROVISION, object_id=user
        )
        return rows.count()


@pytest.mark.parametrize("how", ["PATCH", "PUT"])
@pytest.mark.usefixtures("relay_apart")
def test_a_retried_deactivation_clears_the_cached_set_the_first_attempt_could_not(
    scim: Scim,
    runtime: Runtime,
    tenant: TenantKeys,
    editor: str,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    granted = cached(runtime, tenant, editor)
    monkeypatch.setattr(
        runtime.cache,
        "store_many",
        failing_first(runtime.cache.store_many, redis.ConnectionError("Redis is unreachable")),
    )

    first = deactivate(scim, editor, how)
    # Committed, but not yet in effect for readers: the IdP is told to retry.
    assert_scim_error(first, 503)
    assert first.headers["Retry-After"] == "1"
    assert scim.get(f"/Users/{editor}").json["active"] is False
    assert cached(runtime, tenant, editor) == granted
    assert deprovisions_pending(runtime, tenant, editor) == 1  # the outbox keeps it anyway

    retried = deactivate(scim, editor, how)
    # The user is already inactive; the retry still applies the deprovisioning.
    assert retried.status_code == 200, retried.get_data(as_text=True)
    assert retried.json["active"] is False
    cleared = cached(runtime, tenant, editor)
    assert cleared["scopes"] == {}
    assert cleared["version"] > granted["version"]


def test_a_deactivation_sent_again_deprovisions_again(
    scim: Scim, runtime: Runtime, tenant: TenantKeys, editor: str
) -> None:
    assert deactivate(scim, editor, "PATCH").status_code == 200
    once = cached(runtime, tenant, editor)
    assert once["scopes"] == {}
    assert deactivate(scim, editor, "PATCH").status_code == 200
    assert cached(runtime, tenant, editor)["version"] > once["version"]


def test_an_active_user_sent_unchanged_changes_nothing(
    scim: Scim, runtime: Runtime, tenant: TenantKeys, editor: str
) -> None:
    activate = [{"op": "replace", "value": {"active": True}}]
    version = scim.patch(f"/Users/{editor}", activate).json["meta"]["version"]
    before = cached(runtime, tenant, editor)
    with counted(runtime) as statements:
        response = scim.patch(f"/Users/{editor}", activate)
    assert response.status_code == 200
    assert response.json["meta"]["version"] == version
    assert cached(runtime, tenant, editor) == before
    writes = [sql for sql in statements if not sql.lstrip().upper().startswith("SELECT")]
    # Only the provisioning log's row that says the request changed nothing.
    assert [sql.split("(")[0].strip() for sql in writes] == ["INSERT INTO audit_events"]


@pytest.mark.usefixtures("relay_apart")
def test_a_deactivation_whose_cache_write_fails_unexpectedly_is_a_503_not_a_500(
    scim: Scim, runtime: Runtime, tenant: TenantKeys, editor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        runtime.cache, "store_many", failing_first(runtime.cache.store_many, OSError())
    )
    response = deactivate(scim, editor, "PATCH")
    assert_scim_error(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert response.json["schemas"] == [ERROR_SCHEMA]


def test_a_committed_create_is_a_201_though_its_work_could_not_be_sent(
    scim: Scim, runtime: Runtime, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down(*_args: Any, **_kwargs: Any) -> None:
        raise ConnectionError("the broker is unreachable")

    monkeypatch.setattr(relay, "send_emitted", broker_down)
    created = scim.create_user("erin")  # asserts the 201
    assert scim.get(f"/Users/{created['id']}").status_code == 200
    with runtime.unit_of_work() as uow:
        session = uow.session
        pending = session.query(OutboxRecord).filter_by(tenant_id=tenant.id).count()
    assert pending == 1  # the user's first permission set waits for the relay's sweep


def test_a_committed_deletion_is_never_a_500(
    scim: Scim, runtime: Runtime, tenant: TenantKeys, editor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("an after-commit step failed")

    monkeypatch.setattr(runtime.cache, "store_many", broken)
    monkeypatch.setattr(relay, "send_emitted", broken)
    response = scim.delete(f"/Users/{editor}")
    assert_scim_error(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert scim.get(f"/Users/{editor}").status_code == 404
    assert deprovisions_pending(runtime, tenant, editor) == 1


def test_a_deprovisioning_is_timed_to_its_feed_change_and_to_the_cache_cleared(
    client: FlaskClient, scim: Scim, editor: str
) -> None:
    def counts() -> tuple[float, float]:
        text = client.get("/metrics").text
        return (
            sample(text, "rolecall_deprovision_feed_seconds_count"),
            sample(text, "rolecall_deprovision_cache_clear_seconds_count"),
        )

    before = counts()
    assert deactivate(scim, editor, "PATCH").status_code == 200
    assert counts() == (before[0] + 1, before[1] + 1)
