"""The served OpenAPI document is the contract: schemathesis calls every operation in it
(admin, read and SCIM) with inputs generated from it, valid and not, and each answer
must be no server error and must match what the document says of that operation
(status code and body schema).

It runs in the README's pytest command, on SQLite or on PostgreSQL as .ci/run sets,
through schemathesis' WSGI transport against the app the `app` fixture builds, with
a valid token of the kind each surface needs. Run it alone with `pytest -m contract`.
Bounded by `EXAMPLES` per operation and derandomised, so a run is quick and repeatable.

The operations are read from the checked-in document, which tests/api/test_openapi.py
holds equal to the served one (and the first test here checks again): schemathesis
parametrizes at collection, before any fixture could serve it, and its fixture-based
loader does not run under pytest 9.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from service.cli import OPENAPI_PATH
from tests.conftest import TenantKeys

EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# RFC 7644 §3.11: a provider that does not support /Me "SHOULD respond with HTTP status
# code 501". That 501 is documented, so the status and body are still checked; only
# "no 5xx at all" cannot hold for it.
NOT_IMPLEMENTED_BY_DESIGN = {"/scim/v2/Me"}

schema = schemathesis.openapi.from_path(OPENAPI_PATH)
# The feed's long polls and event streams are held open for up to a second or two each
# (the test settings' feed_max_wait_seconds, feed_stream_seconds): fewer examples.
HELD_OPEN = ["/api/v1/changes", "/api/v1/changes/stream"]
HELD_OPEN_EXAMPLES = 5


def test_the_contract_is_the_served_document(client: FlaskClient) -> None:
    assert client.get("/api/openapi.json").json == json.loads(OPENAPI_PATH.read_text())


def token_for(path: str, keys: TenantKeys) -> str:
    """The kind of token each surface is called with: SCIM for SCIM, read for the two
    read operations apps call, portal for self-registration, admin for the rest."""
    if path.startswith("/scim/"):
        return keys.scim
    if path == "/api/v1/self-registrations":
        return keys.portal
    if path == "/api/v1/check" or path.endswith("/permissions"):
        return keys.read
    if path in ("/api/v1/snapshot",) or path.endswith("/ancestors"):
        return keys.read
    return keys.admin


@pytest.mark.contract
@schema.exclude(path=HELD_OPEN).parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_document_says(
    case: Any, app: Flask, tenant: TenantKeys
) -> None:
    headers = {"Authorization": f"Bearer {token_for(case.path, tenant)}"}

    response = case.call(app=app, headers=headers)

    if case.path in NOT_IMPLEMENTED_BY_DESIGN:
        assert response.status_code == 501 or response.status_code < 500, response.text
        case.validate_response(response, checks=CHECKS, excluded_checks=[not_a_server_error])
    else:
        assert response.status_code < 500, response.text
        # The documented status code and body (schemathesis raises, naming the failure).
        case.validate_response(response, checks=CHECKS)


@pytest.mark.contract
@schema.include(path=HELD_OPEN).parametrize()
@settings(
    max_examples=HELD_OPEN_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_feeds_held_open_operations_answer_as_their_document_says(
    case: Any, app: Flask, tenant: TenantKeys
) -> None:
    response = case.call(app=app, headers={"Authorization": f"Bearer {tenant.read}"})

    assert response.status_code < 500, response.text
    case.validate_response(response, checks=CHECKS)
