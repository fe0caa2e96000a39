"""Signing in to the console: an admin token is exchanged for a session cookie, and the
session ends with sign-out, its lifetime, idleness, or its token's revocation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import update

from service.persistence.base import utcnow
from service.persistence.console_models import ConsoleSession
from service.runtime import Runtime
from service.services import console_sessions
from service.services.console_sessions import SessionPolicy
from tests.conftest import TenantKeys
from tests.console.conftest import NONCE_FIELD, Console, sign_in

POLICY = SessionPolicy(
    lifetime=timedelta(hours=1), idle=timedelta(minutes=10), link_lifetime=timedelta(minutes=5)
)


def test_an_admin_token_opens_a_session_held_in_an_httponly_strict_cookie(
    app: Flask, tenant: TenantKeys
) -> None:
    client = app.test_client()
    response = sign_in(client, tenant.admin)
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "rolecall_console=" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/console" in cookie
    assert tenant.admin not in cookie
    page = client.get("/console/")
    assert page.status_code == 200
    assert "Tenant <strong>acme</strong>" in page.get_data(as_text=True)


def test_a_page_asked_for_without_a_session_leads_to_sign_in_and_back(
    app: Flask, tenant: TenantKeys
) -> None:
    client = app.test_client()
    asked = client.get("/console/?tab=tokens")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/console/sign-in?next=/console/?tab%3Dtokens"
    form = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/console/?tab=tokens"' in form
    nonce = NONCE_FIELD.search(form).group(1)  # type: ignore[union-attr]
    done = client.post(
        "/console/sign-in",
        data={"sign_in_nonce": nonce, "token": tenant.admin, "next": "/console/?tab=tokens"},
    )
    assert done.headers["Location"] == "/console/?tab=tokens"


def test_sign_in_never_sends_a_browser_to_another_site(app: Flask, tenant: TenantKeys) -> None:
    client = app.test_client()
    nonce = NONCE_FIELD.search(client.get("/console/sign-in").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    done = client.post(
        "/console/sign-in",
        data={"sign_in_nonce": nonce, "token": tenant.admin, "next": "//evil.example/console"},
    )
    assert done.headers["Location"] == "/console/"


def test_only_a_live_admin_token_signs_in_and_a_refusal_does_not_echo_the_token(
    app: Flask, tenant: TenantKeys
) -> None:
    for token in (tenant.scim, tenant.read, "rc_admin_not-a-real-token"):
        client = app.test_client()
        refused = sign_in(client, token)
        assert refused.status_code == 401
        body = refused.get_data(as_text=True)
        assert "That is not a live admin token of any tenant" in body
        assert token not in body
        assert not any("rolecall_console=" in c for c in refused.headers.getlist("Set-Cookie"))
        assert client.get("/console/").status_code == 302


def test_a_sign_in_form_posted_from_elsewhere_is_refused(app: Flask, tenant: TenantKeys) -> None:
    # No nonce cookie: the form did not come from this console's sign-in page.
    refused = app.test_client().post("/console/sign-in", data={"token": tenant.admin})
    assert refused.status_code == 403
    assert "This form has expired" in refused.get_data(as_text=True)


def test_signing_out_ends_the_session_even_for_a_kept_copy_of_the_cookie(
    console: Console, app: Flask
) -> None:
    cookie = console.client.get_cookie("rolecall_console", path="/console")
    assert cookie is not None
    out = console.post("/console/sign-out")
    assert out.status_code == 303
    assert out.headers["Location"] == "/console/sign-in"
    assert "You are signed out." in console.client.get("/console/sign-in").get_data(as_text=True)

    replay = app.test_client()
    replay.set_cookie("rolecall_console", cookie.value, path="/console")
    assert replay.get("/console/").status_code == 302
    refused = replay.post("/console/tokens", data={"kind": "read", "csrf_token": "x"})
    assert refused.status_code == 401


def test_a_session_ends_after_its_lifetime_and_after_idleness(
    console: Console, runtime: Runtime
) -> None:
    assert console.get("/console/").status_code == 200
    with runtime.unit_of_work() as uow:
        uow.session.execute(update(ConsoleSession).values(expires_at=utcnow()))
    assert console.get("/console/").status_code == 302

    again = Console(console.client)
    sign_in(again.client, _admin_of(runtime))
    assert again.get("/console/").status_code == 200
    idle_for = timedelta(minutes=runtime.settings.console_idle_minutes + 1)
    with runtime.unit_of_work() as uow:
        uow.session.execute(update(ConsoleSession).values(last_seen_at=utcnow() - idle_for))
    assert again.get("/console/").status_code == 302


def _admin_of(runtime: Runtime) -> str:
    """A fresh admin token of the only tenant (the one the test signed in to)."""
    from service.services import tokens

    tenant_id = tokens.list_tenants(runtime.unit_of_work())[0].id
    return tokens.issue_token(runtime.unit_of_work(), tenant_id, "admin").plaintext


def test_a_one_time_link_opens_one_session_and_is_refused_after(
    app: Flask, runtime: Runtime, tenant: TenantKeys
) -> None:
    code = console_sessions.issue_sign_in_link(runtime.unit_of_work(), tenant.id, POLICY)
    client = app.test_client()
    shown = client.get(f"/console/sign-in/{code}")
    assert shown.status_code == 200  # a button: fetching the link does not spend it
    nonce = NONCE_FIELD.search(shown.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    used = client.post(f"/console/sign-in/{code}", data={"sign_in_nonce": nonce})
    assert used.status_code == 303
    assert client.get("/console/").status_code == 200

    other = app.test_client()
    page = other.get(f"/console/sign-in/{code}").get_data(as_text=True)
    nonce = NONCE_FIELD.search(page).group(1)  # type: ignore[union-attr]
    refused = other.post(f"/console/sign-in/{code}", data={"sign_in_nonce": nonce})
    assert refused.status_code == 401
    assert "This sign-in link is not valid" in refused.get_data(as_text=True)


def test_links_stand_for_one_console_token_per_tenant_and_expire(
    runtime: Runtime, tenant: TenantKeys, make_console: Callable[[str], Console]
) -> None:
    first = console_sessions.issue_sign_in_link(runtime.unit_of_work(), tenant.id, POLICY)
    second = console_sessions.issue_sign_in_link(runtime.unit_of_work(), tenant.id, POLICY)
    assert first != second
    page = make_console(tenant.admin).get("/console/").get_data(as_text=True)
    assert page.count("console sign-in") == 1  # one token made for links, reused

    expired = SessionPolicy(POLICY.lifetime, POLICY.idle, link_lifetime=timedelta(0))
    code = console_sessions.issue_sign_in_link(runtime.unit_of_work(), tenant.id, expired)
    try:
        console_sessions.sign_in_with_link(runtime.unit_of_work(), code, POLICY)
    except console_sessions.SignInRefused as refused:
        assert refused.field == "link"
    else:
        raise AssertionError("an expired link opened a session")


def test_pruning_forgets_sessions_and_links_that_can_no_longer_be_used(
    console: Console, runtime: Runtime, tenant: TenantKeys
) -> None:
    spent = console_sessions.issue_sign_in_link(runtime.unit_of_work(), tenant.id, POLICY)
    console_sessions.sign_in_with_link(runtime.unit_of_work(), spent, POLICY)
    waiting = console_sessions.issue_sign_in_link(runtime.unit_of_work(), tenant.id, POLICY)
    assert console_sessions.prune(runtime.unit_of_work()) == 1  # the spent link
    assert console.get("/console/").status_code == 200  # live sessions stay

    later = utcnow() + timedelta(hours=runtime.settings.console_session_hours + 1)
    assert console_sessions.prune(runtime.unit_of_work(), now=later) == 3  # 2 sessions, 1 link
    assert console.get("/console/").status_code == 302
    try:
        console_sessions.sign_in_with_link(runtime.unit_of_work(), waiting, POLICY)
    except console_sessions.SignInRefused:
        pass
    else:
        raise AssertionError("a pruned link opened a session")
