"""Logs are JSON lines with a request id, and no token or password ever reaches them."""

from __future__ import annotations

import json
import logging

import pytest
from flask.testing import FlaskClient

from service.observability import JsonFormatter
from tests.conftest import TenantKeys

PASSWORD = "Tr0ub4dor&3-never-logged"


def test_a_scim_password_never_reaches_a_log_line(
    client: FlaskClient, tenant: TenantKeys, caplog: pytest.LogCaptureFixture, capfd
) -> None:
    caplog.set_level(logging.DEBUG)
    created = client.post(
        "/scim/v2/Users",
        headers={**tenant.auth("scim"), "X-Request-ID": "req-secret-check"},
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "pat@example.org",
            "password": PASSWORD,
            "unknownAttribute": {"password": PASSWORD},
        },
    )
    assert created.status_code == 201
    assert "password" not in created.json
    lines = [JsonFormatter().format(record) for record in caplog.records]
    written = capfd.readouterr()
    for text in [*lines, written.err, written.out]:
        assert PASSWORD not in text
        assert tenant.scim not in text
    access = [json.loads(line) for line in lines if '"message": "request"' in line]
    assert any(entry.get("request_id") == "req-secret-check" for entry in access)


def test_a_password_in_a_log_message_is_masked() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, "", 0, 'body {"password": "%s"}', (PASSWORD,), None
    )
    assert PASSWORD not in JsonFormatter().format(record)
