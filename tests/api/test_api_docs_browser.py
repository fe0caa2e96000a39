"""The API documentation page in a real headless browser (Debian's chromium, driven by
Playwright): it renders the operations of the served document, and no request it makes
leaves the server's origin."""

from __future__ import annotations

import json
from typing import Any

from service.cli import OPENAPI_PATH


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
