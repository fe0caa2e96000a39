"""Fixtures for the admin console: a signed-in test client for fast page tests, and a
signed-in page in a real headless browser (Debian's chromium driven by Playwright)
for the browser tests, which also holds every request the page made to its origin."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TenantKeys

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
NONCE_FIELD = re.compile(r'name="sign_in_nonce" value="([^"]+)"')


@dataclass
class Console:
    """A browser's view of the console through Flask's test client: its cookies, and
    the CSRF token its pages carry, sent with every form it posts."""

    client: FlaskClient
    csrf_token: str = ""

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        response = self.client.get(path, **kwargs)
        found = CSRF_FIELD.search(response.get_data(as_text=True))
        if found:
            self.csrf_token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        if not self.csrf_token:
            self.get("/console/")
        form = {"csrf_token": self.csrf_token, **(data or {})}
        return self.client.post(path, data=form, **kwargs)


def sign_in(client: FlaskClient, token: str) -> TestResponse:
    """The sign-in form, filled and sent as a browser would."""
    form = client.get("/console/sign-in").get_data(as_text=True)
    nonce = NONCE_FIELD.search(form)
    assert nonce, "the sign-in form carries its nonce"
    return client.post("/console/sign-in", data={"sign_in_nonce": nonce.group(1), "token": token})


@pytest.fixture
def make_console(app: Flask) -> Callable[[str], Console]:
    def make(admin_token: str) -> Console:
        client = app.test_client()
        assert sign_in(client, admin_token).status_code == 303
        console = Console(client)
        assert console.get("/console/").status_code == 200
        return console

    return make


@pytest.fixture
def console(make_console: Callable[[str], Console], tenant: TenantKeys) -> Console:
    """The acme tenant's console, signed in with its admin token."""
    return make_console(tenant.admin)


# -- in a real browser ---------------------------------------------------------------


@dataclass
class BrowserConsole:
    """A page in the browser, and every URL it asked for."""

    page: Any
    base_url: str
    requested: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        return self.page.goto(f"{self.base_url}{path}")

    def sign_in(self, token: str) -> None:
        self.goto("/console/sign-in")
        self.page.get_by_label("Admin token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def foreign_requests(self) -> list[str]:
        origin = urlsplit(self.base_url).netloc
        return [
            url
            for url in self.requested
            if not url.startswith("data:") and urlsplit(url).netloc != origin
        ]


@pytest.fixture
def browser_page(browser: Any, live_url: str) -> Iterator[BrowserConsole]:
    """A fresh browser context (no cookies) on the live console; at the end, no request
    any page made left the server's origin."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    held = BrowserConsole(page, live_url)
    page.on("request", lambda request: held.requested.append(request.url))
    try:
        yield held
    finally:
        context.close()
    assert held.foreign_requests() == [], "a console page asked another origin"


@pytest.fixture
def signed_in_page(browser_page: BrowserConsole, tenant: TenantKeys) -> BrowserConsole:
    browser_page.sign_in(tenant.admin)
    assert browser_page.page.title() == "Connection · rolecall console"
    return browser_page


# -- a tenant with something on every page -------------------------------------------

ENTRA = {"User-Agent": "Microsoft Azure AD SCIM Client/1.0"}
OKTA = {"User-Agent": "Okta SCIM Client 1.0.0"}


@dataclass(frozen=True)
class Demo:
    """A tenant as an admin finds it after a first sync: the reporting product, an
    organization with a folder and a report, two users and a group pushed by Entra ID
    (and one request Entra got refused), a mapping, an invitation, a webhook, and a bulk
    invite job with a row refused."""

    keys: TenantKeys
    organization: str
    folder: str
    report: str
    ada: str
    grace: str
    editors: str


def scim(
    client: FlaskClient, keys: TenantKeys, method: str, path: str, body: Any, idp: dict
) -> TestResponse:
    return client.open(
        f"/scim/v2{path}",
        method=method,
        json=body,
        headers={**keys.auth("scim"), **idp, "Content-Type": "application/scim+json"},
    )


def seed_demo(client: FlaskClient, keys: TenantKeys) -> Demo:
    from tests.permissions.conftest import Admin

    admin = Admin(client, keys)
    admin.load("reporting")
    organization = admin.scope("organization", "Acme Corp")
    folder = admin.scope("folder", "Finance", parent=organization)
    report = admin.scope("report", "Quarterly revenue", parent=folder)
    user_schema = "urn:ietf:params:scim:schemas:core:2.0:User"
    users = {}
    for name, given in (("ada@acme.test", "Ada"), ("grace@acme.test", "Grace")):
        created = scim(
            client,
            keys,
            "POST",
            "/Users",
            {"schemas": [user_schema], "userName": name, "name": {"givenName": given}},
            ENTRA,
        )
        assert created.status_code == 201, created.get_data(as_text=True)
        users[given] = created.get_json()["id"]
    group = scim(
        client,
        keys,
        "POST",
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Finance editors",
            "members": [{"value": users["Ada"]}],
        },
        ENTRA,
    )
    assert group.status_code == 201, group.get_data(as_text=True)
    refused = scim(client, keys, "POST", "/Users", {"schemas": [user_schema]}, OKTA)
    assert refused.status_code == 400
    admin.map("Finance editors", "edit", folder, product="reporting")
    invited = admin.post(
        "/invitations", {"email": "new.hire@example.com", "name": "New Hire", "scope_id": folder}
    )
    assert invited.status_code == 201, invited.get_data(as_text=True)
    hook = admin.post("/webhooks", {"url": "http://127.0.0.1:9/hooks", "description": "audit"})
    assert hook.status_code == 201, hook.get_data(as_text=True)
    bulk = client.post(
        "/api/v1/invitations/bulk",
        data=b"email,name\nlin@example.com,Lin\nnot-an-email,Nobody\n",
        content_type="text/csv",
        headers=keys.auth("admin"),
    )
    assert bulk.status_code == 202, bulk.get_data(as_text=True)
    return Demo(
        keys=keys,
        organization=organization,
        folder=folder,
        report=report,
        ada=users["Ada"],
        grace=users["Grace"],
        editors=group.get_json()["id"],
    )


@pytest.fixture
def demo(client: FlaskClient, tenant: TenantKeys) -> Demo:
    return seed_demo(client, tenant)


# -- accessibility -------------------------------------------------------------------

# axe-core's impacts a person cannot work around; minor and moderate ones are reported
# by the sweep's message but do not fail it.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def accessibility_violations(page: Any) -> list[str]:
    """What axe-core (bundled by axe-playwright-python, run inside the page) finds on
    the page as it is now, serious or critical only, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = results.response["violations"]
    return [
        f"{page.url} {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in found
        if v["impact"] in BLOCKING_IMPACTS
    ]
