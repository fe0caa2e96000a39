"""What the console refuses: forms without the session's CSRF token, another tenant's
objects, sessions whose admin token was revoked; and what it never shows or logs."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.runtime import Runtime
from service.services import console_sessions
from service.services.console_sessions import SessionPolicy
from tests.conftest import TenantKeys, bearer
from tests.console.conftest import NONCE_FIELD, Console


def _live_tokens(client: FlaskClient, tenant: TenantKeys) -> list[dict]:
    return client.get("/api/v1/tokens", headers=tenant.auth("admin")).get_json()


def test_a_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    before = len(_live_tokens(client, tenant))
    for token in ("", "forged-value"):
        refused = console.client.post("/console/tokens", data={"kind": "read", "csrf_token": token})
        assert refused.status_code == 403
        assert "did not come from this console" in refused.get_data(as_text=True)
    assert len(_live_tokens(client, tenant)) == before


def test_the_csrf_token_of_another_session_is_refused(
    make_console: Callable[[str], Console], tenant: TenantKeys, client: FlaskClient
) -> None:
    mine, theirs = make_console(tenant.admin), make_console(tenant.admin)
    assert mine.csrf_token != theirs.csrf_token
    refused = mine.client.post(
        "/console/tokens", data={"kind": "read", "csrf_token": theirs.csrf_token}
    )
    assert refused.status_code == 403


def test_a_session_of_another_tenant_cannot_reach_this_tenants_tokens(
    make_tenant: Callable[[str], TenantKeys],
    make_console: Callable[[str], Console],
    client: FlaskClient,
) -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    acme_token_id = _live_tokens(client, acme)[0]["id"]
    intruder = make_console(globex.admin)
    page = intruder.get("/console/").get_data(as_text=True)
    assert acme_token_id not in page
    for action in ("revoke", "rotate"):
        refused = intruder.post(f"/console/tokens/{acme_token_id}/{action}")
        assert refused.status_code == 404
    assert client.get("/api/v1/tokens", headers=acme.auth("admin")).status_code == 200
    assert acme_token_id in {t["id"] for t in _live_tokens(client, acme)}


def test_revoking_the_admin_token_ends_the_sessions_it_opened(
    make_console: Callable[[str], Console], tenant: TenantKeys, client: FlaskClient
) -> None:
    first, second = make_console(tenant.admin), make_console(tenant.admin)
    admin_id = next(
        t["id"] for t in _live_tokens(client, tenant) if t["prefix"] == tenant.admin[:12]
    )
    assert (
        client.delete(f"/api/v1/tokens/{admin_id}", headers=tenant.auth("admin")).status_code == 204
    )
    for console in (first, second):
        assert console.get("/console/").status_code == 302
        assert console.post("/console/tokens", data={"kind": "read"}).status_code == 401


def test_revoking_its_own_token_from_the_console_signs_the_admin_out(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    admin_id = next(
        t["id"] for t in _live_tokens(client, tenant) if t["prefix"] == tenant.admin[:12]
    )
    done = console.post(f"/console/tokens/{admin_id}/revoke")
    assert done.status_code == 303
    assert done.headers["Location"] == "/console/sign-in"
    assert console.get("/console/").status_code == 302


def test_no_token_appears_in_a_page_or_a_log_line_except_a_new_one_once(
    console: Console, tenant: TenantKeys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pages = [console.get("/console/").get_data(as_text=True)]
    created = console.post("/console/tokens", data={"kind": "scim", "description": "Entra"})
    assert created.status_code == 201
    shown = created.get_data(as_text=True)
    new_token = shown.split('id="issued-token" class="secret" type="text" readonly value="')[1]
    new_token = new_token.split('"')[0]
    assert new_token.startswith("rc_scim_")
    pages.append(console.get("/console/").get_data(as_text=True))
    session_secret = console.client.get_cookie("rolecall_console", path="/console").value  # type: ignore[union-attr]
    secrets = [tenant.admin, tenant.scim, tenant.read, tenant.portal, new_token, session_secret]
    for page in pages:
        assert not [s for s in secrets if s in page]
    for record in caplog.records:
        line = record.getMessage() + repr(record.__dict__)
        assert not [s for s in secrets if s in line]


def test_console_pages_tell_the_browser_to_load_nothing_from_elsewhere(
    console: Console,
) -> None:
    page = console.get("/console/")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    body = page.get_data(as_text=True)
    assert "http://" not in body.replace("http://localhost/scim/v2", "")
    assert "https://" not in body


def test_an_unknown_console_page_is_an_html_404(console: Console) -> None:
    missing = console.get("/console/no-such-page")
    assert missing.status_code == 404
    assert "There is no such page in the console." in missing.get_data(as_text=True)


def test_an_api_token_does_not_open_console_pages(client: FlaskClient, tenant: TenantKeys) -> None:
    asked = client.get("/console/", headers=bearer(tenant.admin))
    assert asked.status_code == 302


def test_a_one_time_link_reaches_no_log_line(
    app: Flask, runtime: Runtime, tenant: TenantKeys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = console_sessions.issue_sign_in_link(
        runtime.unit_of_work(), tenant.id, SessionPolicy.of(runtime.settings)
    )
    visitor = app.test_client()
    page = visitor.get(f"/console/sign-in/{code}").get_data(as_text=True)
    nonce = NONCE_FIELD.search(page).group(1)  # type: ignore[union-attr]
    assert (
        visitor.post(f"/console/sign-in/{code}", data={"sign_in_nonce": nonce}).status_code == 303
    )
    logged = [r.getMessage() + repr(r.__dict__) for r in caplog.records]
    assert any("/console/sign-in/<code>" in line for line in logged)
    assert not [line for line in logged if code in line]
