"""Fixtures for the admin console: a signed-in test client for fast page tests, and a
signed-in page in a real headless browser (Debian's chromium driven by Playwright)
for the browser tests, which also holds every request the page made to its origin."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from tests.conftest import TenantKeys

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
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


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


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
