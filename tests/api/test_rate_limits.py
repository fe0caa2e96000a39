"""Rate limits per tenant and token kind: beyond its limit a caller gets 429 with
Retry-After, in the SCIM error schema on SCIM paths and the admin shape elsewhere.

The limits live in Redis (the embedded fake by default, a real one when the suite
runs with ROLECALL_TEST_REDIS_URL), so every worker process of a deployment counts
against the same window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from limits.strategies import SlidingWindowCounterRateLimiter

from service.app import create_app
from service.cache.rate_limit import RequestLimits, limits_storage, parse_limits
from service.cache.redis_client import connect
from service.runtime import Runtime
from service.settings import Settings, SettingsError
from tests.conftest import TenantKeys

# Three requests a minute of each kind: a window no test outlives, so what is counted
# is exactly what the test sent.
SMALL = {"scim": "3/minute", "admin": "3/minute", "read": "3/minute"}

SCIM_USERS = "/scim/v2/Users"
ADMIN_ROLES = "/api/v1/roles"
READ_PERMISSIONS = "/api/v1/users/nobody@example.org/permissions"


@pytest.fixture
def limited(runtime: Runtime) -> FlaskClient:
    """A client of an app whose runtime allows three requests a minute per kind."""
    limits = RequestLimits(runtime.redis, runtime.settings.redis_key_prefix, SMALL)
    app = create_app(runtime=dataclasses.replace(runtime, request_limits=limits))
    app.testing = True
    return app.test_client()


def use_up(client: FlaskClient, path: str, headers: dict[str, str]) -> None:
    for _ in range(3):
        assert client.get(path, headers=headers).status_code != 429


def retry_after(response: object) -> int:
    value = response.headers["Retry-After"]  # type: ignore[attr-defined]
    assert value.isdigit(), value
    return int(value)


def test_a_scim_client_over_its_limit_gets_429_in_the_scim_error_schema(
    limited: FlaskClient, tenant: TenantKeys
) -> None:
    use_up(limited, SCIM_USERS, tenant.auth("scim"))
    response = limited.get(SCIM_USERS, headers=tenant.auth("scim"))
    assert response.status_code == 429
    assert response.mimetype == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "429"
    assert "scimType" not in body  # RFC 7644 defines none for a rate limit
    assert "retry" in body["detail"]
    assert 1 <= retry_after(response) <= 60


def test_an_admin_client_over_its_limit_gets_429_in_the_admin_shape(
    limited: FlaskClient, tenant: TenantKeys
) -> None:
    use_up(limited, ADMIN_ROLES, tenant.auth("admin"))
    response = limited.get(ADMIN_ROLES, headers=tenant.auth("admin"))
    assert response.status_code == 429
    body = response.get_json()
    assert body["code"] == 429
    assert body["status"] == "Too Many Requests"
    assert "admin tokens" in body["message"]
    assert 1 <= retry_after(response) <= 60


def test_a_reader_over_its_limit_gets_429_when_reads_are_limited(
    limited: FlaskClient, tenant: TenantKeys
) -> None:
    use_up(limited, READ_PERMISSIONS, tenant.auth("read"))
    response = limited.get(READ_PERMISSIONS, headers=tenant.auth("read"))
    assert response.status_code == 429
    assert response.get_json()["code"] == 429
    assert 1 <= retry_after(response) <= 60


def test_a_post_over_the_limit_is_refused_before_its_body_is_read(
    limited: FlaskClient, tenant: TenantKeys
) -> None:
    use_up(limited, SCIM_USERS, tenant.auth("scim"))
    response = limited.post(SCIM_USERS, data="{not json", headers=tenant.auth("scim"))
    assert response.status_code == 429


def test_one_tenant_over_its_limit_does_not_limit_another(
    limited: FlaskClient, make_tenant: Callable[[str], TenantKeys]
) -> None:
    noisy, quiet = make_tenant("noisy"), make_tenant("quiet")
    use_up(limited, SCIM_USERS, noisy.auth("scim"))
    assert limited.get(SCIM_USERS, headers=noisy.auth("scim")).status_code == 429
    assert limited.get(SCIM_USERS, headers=quiet.auth("scim")).status_code == 200


def test_token_kinds_of_one_tenant_are_counted_apart(
    limited: FlaskClient, tenant: TenantKeys
) -> None:
    use_up(limited, SCIM_USERS, tenant.auth("scim"))
    assert limited.get(SCIM_USERS, headers=tenant.auth("scim")).status_code == 429
    assert limited.get(ADMIN_ROLES, headers=tenant.auth("admin")).status_code == 200
    assert limited.get(READ_PERMISSIONS, headers=tenant.auth("read")).status_code == 404


def test_a_refused_token_is_not_counted(limited: FlaskClient, tenant: TenantKeys) -> None:
    # 401 and 403 come first: a caller not let in cannot use up the tenant's limit.
    for _ in range(5):
        assert limited.get(SCIM_USERS, headers=tenant.auth("read")).status_code == 403
        assert limited.get(SCIM_USERS, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert limited.get(SCIM_USERS, headers=tenant.auth("scim")).status_code == 200


def test_the_default_scim_limit_lets_an_idp_burst_of_a_thousand_through(
    runtime: Runtime,
) -> None:
    # The OpenID IPSIE SCIM profile asks for at least 25 requests/s per tenant; the
    # default sustains 100/s and takes a first sync's burst of 1,000 at once.
    limits = RequestLimits(runtime.redis, "burst:", Settings().rate_limits)
    assert [limits.wait("t1", "scim") for _ in range(1000)] == [None] * 1000


def test_a_busy_tenant_takes_permits_from_redis_a_batch_at_a_time(runtime: Runtime) -> None:
    # One round trip per ten requests under the default SCIM limit: the first request
    # leases ten permits, counted in Redis at once; the next nine spend them locally.
    limits = RequestLimits(runtime.redis, "batch:", Settings().rate_limits)
    window = SlidingWindowCounterRateLimiter(limits_storage(runtime.redis, "batch:"))
    (item,) = parse_limits(Settings().rate_limit_scim)

    assert limits.wait("t1", "scim") is None
    assert window.get_window_stats(item, "t1", "scim").remaining == item.amount - 10
    assert all(limits.wait("t1", "scim") is None for _ in range(9))
    assert window.get_window_stats(item, "t1", "scim").remaining == item.amount - 10


def test_processes_leasing_permits_never_let_more_than_the_limit_through(
    runtime: Runtime,
) -> None:
    # Two processes of one deployment (two limiters on one Redis), 200 a minute: each
    # leases two permits at a time, and together they let at most 200 requests through.
    processes = [RequestLimits(runtime.redis, "shared:", {"scim": "200/minute"}) for _ in "ab"]
    let_through = sum(processes[n % 2].wait("t1", "scim") is None for n in range(300))
    assert 198 <= let_through <= 200


def test_reads_are_not_limited_by_default(runtime: Runtime) -> None:
    limits = RequestLimits(runtime.redis, "reads:", Settings().rate_limits)
    assert all(limits.wait("t1", "read") is None for _ in range(500))
    assert runtime.redis.keys("reads:*") == []  # no round trip was made


def test_a_limit_that_cannot_reach_redis_lets_the_request_through() -> None:
    # Fail open: a Redis outage must not turn into refusing every tenant.
    unreachable = connect("redis://127.0.0.1:1/0", timeout=0.2)
    limits = RequestLimits(unreachable, "down:", SMALL)
    assert all(limits.wait("t1", "scim") is None for _ in range(5))


def test_limits_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {"ROLECALL_RATE_LIMIT_SCIM": "10/second; 300/minute", "ROLECALL_RATE_LIMIT_ADMIN": "off"}
    )
    assert settings.rate_limits == {
        "scim": "10/second; 300/minute",
        "admin": "",
        "read": "",
        "portal": Settings().rate_limit_portal,
    }
    assert Settings.from_env({}).rate_limits == Settings().rate_limits


def test_a_limit_that_does_not_parse_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="ROLECALL_RATE_LIMIT_READ"):
        Settings.from_env({"ROLECALL_RATE_LIMIT_READ": "lots"})
