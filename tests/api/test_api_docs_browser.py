"""The API documentation page in a real headless browser (Debian's chromium, driven by
Playwright): it renders the operations of the served document, and no request it makes
leaves the server's origin."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from service.cli import OPENAPI_PATH

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(
        "chromium is not installed (apt-get install chromium); the browser test needs it",
        allow_module_level=True,
    )


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def page() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def _operation_count() -> int:
    paths = json.loads(OPENAPI_PATH.read_text())["paths"]
    methods = {"get", "put", "post", "patch", "delete"}
    return sum(1 for operations in paths.values() for method in operations if method in methods)


def test_the_docs_page_renders_every_operation_without_leaving_the_origin(
    live_url: str, page: Any
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(f"{live_url}/api/docs")
    assert response.status == 200
    page.wait_for_selector(".opblock-summary", timeout=15_000)
    assert page.locator(".opblock").count() == _operation_count()
    assert "Create an API token" in page.inner_text("#swagger-ui-container")
    page.wait_for_load_state("networkidle")
    elsewhere = [url for url in requested if not url.startswith((f"{live_url}/", "data:", "blob:"))]
    assert requested and elsewhere == []
