"""The console in a real browser: sign in, rotate and revoke a token, sign out and be
refused. Every browser test's page is checked to have asked nothing of another origin
(the `browser_page` fixture)."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import TenantKeys, bearer
from tests.console.conftest import BrowserConsole


def test_an_admin_signs_in_rotates_and_revokes_a_token_and_signs_out(
    signed_in_page: BrowserConsole, tenant: TenantKeys, client: FlaskClient
) -> None:
    page = signed_in_page.page
    assert page.get_by_label("SCIM base URL").input_value() == "http://localhost/scim/v2"
    assert page.context.cookies()[0]["httpOnly"] is True

    scim_row = page.locator("#tokens tbody tr", has_text=tenant.scim[:12])
    scim_row.get_by_label("Old token keeps working for").select_option(label="1 day")
    scim_row.get_by_role("button", name="Rotate").click()
    issued = page.get_by_label("Token", exact=True).input_value()
    assert issued.startswith("rc_scim_")
    assert "it is shown this once" in page.inner_text(".issued")
    for token in (tenant.scim, issued):  # the old one works through the overlap
        assert client.get("/scim/v2/Users", headers=bearer(token)).status_code == 200

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#tokens tbody tr", has_text=tenant.scim[:12]).get_by_role(
        "button", name="Revoke"
    ).click()
    page.wait_for_selector("text=is revoked")
    assert page.locator("#tokens", has_text=tenant.scim[:12]).count() == 0
    assert client.get("/scim/v2/Users", headers=bearer(tenant.scim)).status_code == 401
    assert client.get("/scim/v2/Users", headers=bearer(issued)).status_code == 200

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("text=You are signed out.")
    assert page.title() == "Sign in · rolecall console"
    signed_in_page.goto("/console/")
    assert page.url.endswith("/console/sign-in?next=/console/")
    assert page.get_by_label("Admin token").is_visible()


def test_a_wrong_token_is_refused_in_the_browser_without_echoing_it(
    browser_page: BrowserConsole, tenant: TenantKeys
) -> None:
    browser_page.sign_in(tenant.read)
    page = browser_page.page
    assert "That is not a live admin token of any tenant" in page.inner_text("main")
    assert tenant.read not in page.content()
    assert page.get_by_label("Admin token").input_value() == ""


def test_the_console_is_usable_by_keyboard_alone(
    browser_page: BrowserConsole, tenant: TenantKeys
) -> None:
    page = browser_page.page
    browser_page.goto("/console/sign-in")
    page.keyboard.press("Tab")  # the first stop skips to the content
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(tenant.admin)
    page.keyboard.press("Enter")
    page.wait_for_selector("#tokens")

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Skip to content" moves focus to the page's content
    assert page.evaluate("document.activeElement.id") == "main"
    page.get_by_label("Kind").focus()
    page.keyboard.press("ArrowDown")  # scim → admin … a select answers to the arrows
    page.keyboard.press("Tab")
    page.keyboard.type("made by keyboard")
    page.keyboard.press("Enter")
    page.wait_for_selector(".issued")
    assert page.get_by_label("Token", exact=True).input_value().startswith("rc_")
