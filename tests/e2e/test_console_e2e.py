"""The console on the production stack: gunicorn (several threads, sessions in
PostgreSQL) in production mode (Secure cookies), in a real browser. Sign in, make a
token, and see the session end at once when its admin token is revoked through the API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LiveStack

pytestmark = pytest.mark.e2e


def test_an_admin_uses_the_console_on_gunicorn_until_its_token_is_revoked(
    live_stack: LiveStack, page: Any
) -> None:
    page.set_default_timeout(15_000)
    admin = live_stack.cli(
        "token", "create", "--tenant", live_stack.tenant, "--kind", "admin"
    ).strip()
    page.goto(f"{live_stack.base_url}/console/sign-in")
    page.get_by_label("Admin token").fill(admin)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#tokens")
    cookie = next(c for c in page.context.cookies() if c["name"] == "rolecall_console")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.get_by_label("Kind").select_option("read")
    page.get_by_label("Description").fill("e2e app")
    page.get_by_role("button", name="Create token").click()
    read = page.get_by_label("Token", exact=True).input_value()
    assert live_stack.api("GET", "/api/v1/snapshot", headers={"Authorization": f"Bearer {read}"}).ok

    tokens = live_stack.api("GET", "/api/v1/tokens").json()
    admin_id = next(t["id"] for t in tokens if t["prefix"] == admin[:12])
    assert live_stack.api("DELETE", f"/api/v1/tokens/{admin_id}").status_code == 204

    page.goto(f"{live_stack.base_url}/console/")
    assert "/console/sign-in" in page.url
    assert admin not in live_stack.processes["web"].log()
