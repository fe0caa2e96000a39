"""Bad input on the read API apps call: a clear 4xx, never a 500, and the token first.

The read API parses its own input on the hot path (service.http.read.views); these
examples hold it to the same rules as the admin API: body size, JSON depth, NUL in
strings and path ids, numbers past 64 bits, and a 401 that says why (RFC 6750 §3).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys, bearer

UNKNOWN_TOKEN = "rc_read_" + "x" * 43
CHECK = {"user": "u@example.com", "area": "reports", "level": "view", "scope": "s"}


def body_errors(response: Any) -> dict[str, Any]:
    errors = response.json["errors"]
    return errors.get("json", errors)


@pytest.mark.parametrize("kind", ["read", "admin"])
def test_nul_in_the_user_of_a_permissions_path_is_404(
    client: FlaskClient, tenant: TenantKeys, kind: str
) -> None:
    response = client.get("/api/v1/users/a%00b/permissions", headers=tenant.auth(kind))

    assert response.status_code == 404
    assert response.json["code"] == 404


def test_nul_in_a_check_is_422_naming_the_field(client: FlaskClient, tenant: TenantKeys) -> None:
    body = {"checks": [{**CHECK, "user": "u\u0000@example.com"}]}

    response = client.post("/api/v1/check", json=body, headers=tenant.auth("read"))

    assert response.status_code == 422
    assert body_errors(response) == {"checks": {"0": {"user": ["Must not contain NUL."]}}}


def test_nul_in_the_scope_query_is_422_naming_scope(
    client: FlaskClient, tenant: TenantKeys
) -> None:
    response = client.get(
        "/api/v1/users/u@example.com/permissions?scope=a%00b", headers=tenant.auth("read")
    )

    assert response.status_code == 422
    assert "scope" in response.json["errors"]


def test_a_check_nested_too_deep_is_400(client: FlaskClient, tenant: TenantKeys) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    headers = {**tenant.auth("read"), "Content-Type": "application/json"}

    response = client.post("/api/v1/check", data=deep, headers=headers)

    assert response.status_code == 400
    assert response.json["code"] == 400


def test_a_5_mb_check_is_413(client: FlaskClient, tenant: TenantKeys) -> None:
    body = {"checks": [{**CHECK, "scope": "s" * 5_000_000}]}

    response = client.post("/api/v1/check", json=body, headers=tenant.auth("read"))

    assert response.status_code == 413


@pytest.mark.parametrize("value", ["99999999999999999999", "-99999999999999999999"])
def test_a_min_version_past_64_bits_is_422_naming_it(
    client: FlaskClient, tenant: TenantKeys, value: str
) -> None:
    on_get = client.get(
        f"/api/v1/users/u@example.com/permissions?min_version={value}", headers=tenant.auth("read")
    )
    on_check = client.post(
        "/api/v1/check",
        json={"checks": [CHECK], "min_version": int(value)},
        headers=tenant.auth("read"),
    )

    assert on_get.status_code == 422 and "min_version" in on_get.json["errors"]
    assert on_check.status_code == 422 and "min_version" in body_errors(on_check)


def test_a_read_without_a_token_is_401_with_a_bearer_challenge(client: FlaskClient) -> None:
    response = client.get("/api/v1/users/u@example.com/permissions")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="rolecall"'


def test_a_read_with_an_unknown_token_is_401_invalid_token(client: FlaskClient) -> None:
    on_get = client.get("/api/v1/users/u@example.com/permissions", headers=bearer(UNKNOWN_TOKEN))
    on_check = client.post("/api/v1/check", json={"checks": [CHECK]}, headers=bearer(UNKNOWN_TOKEN))

    for response in (on_get, on_check):
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "request_args",
    [
        {"path": "/api/v1/check", "method": "POST", "json": {"checks": "nonsense"}},
        {
            "path": "/api/v1/check",
            "method": "POST",
            "data": "{",
            "content_type": "application/json",
        },
        {"path": "/api/v1/users/u/permissions?min_version=x", "method": "GET"},
    ],
)
@pytest.mark.parametrize("token", [None, UNKNOWN_TOKEN])
def test_a_bad_request_from_a_caller_without_a_valid_token_is_401_not_4xx(
    client: FlaskClient, request_args: dict[str, Any], token: str | None
) -> None:
    headers = bearer(token) if token else {}

    response = client.open(**request_args, headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="rolecall"')


def test_a_scim_token_reading_with_a_bad_body_is_403(
    client: FlaskClient, tenant: TenantKeys
) -> None:
    response = client.post("/api/v1/check", json={"checks": "x"}, headers=tenant.auth("scim"))

    assert response.status_code == 403
