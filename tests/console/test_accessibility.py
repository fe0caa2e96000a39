"""axe-core over every console page: the sweep starts at every page that takes no
argument, follows the console's own links to the pages that do (a job, a mapping),
and holds every page to no serious or critical violation. It fails too when a page of
the console is reached by no link, since nobody could then find it."""

from __future__ import annotations

from collections import deque
from urllib.parse import urlsplit

from flask import Flask

from service.http.console.blueprint import OPEN_ENDPOINTS
from tests.console.conftest import BrowserConsole, Demo, accessibility_violations

# A page of each route is enough: the same template renders every object of a kind.
PAGES_PER_ENDPOINT = 2


def _console_pages(app: Flask) -> set[str]:
    """Every console endpoint a browser can GET as a page (files to download aside)."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console.")
        and "GET" in (rule.methods or ())
        and rule.endpoint not in OPEN_ENDPOINTS
        and not rule.endpoint.endswith("_download")
    }


def _endpoint(app: Flask, path: str) -> str | None:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method="GET")
    except Exception:  # not a route (an anchor, a download)
        return None
    return endpoint


def test_every_console_page_has_no_serious_or_critical_accessibility_violation(
    demo: Demo, signed_in_page: BrowserConsole, app: Flask
) -> None:
    page = signed_in_page.page
    expected = _console_pages(app)
    starts = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint in expected and not rule.arguments
    ]
    queue = deque(sorted(starts))
    seen_paths: set[str] = set()
    visited: dict[str, int] = {}
    violations: list[str] = []
    while queue:
        path = queue.popleft()
        endpoint = _endpoint(app, urlsplit(path).path)
        if path in seen_paths or endpoint is None or visited.get(endpoint, 0) >= PAGES_PER_ENDPOINT:
            continue
        seen_paths.add(path)
        response = signed_in_page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        visited[endpoint] = visited.get(endpoint, 0) + 1
        violations += accessibility_violations(page)
        for href in page.eval_on_selector_all(
            "main a[href^='/console']:not([download])",
            "links => links.map(a => a.getAttribute('href'))",
        ):
            if href not in seen_paths:
                queue.append(href)

    assert violations == []
    assert expected - set(visited) == set(), "console pages no link reaches"


def test_the_sign_in_pages_have_no_serious_or_critical_accessibility_violation(
    browser_page: BrowserConsole,
) -> None:
    browser_page.goto("/console/sign-in")
    assert accessibility_violations(browser_page.page) == []
    browser_page.page.get_by_label("Admin token").fill("rc_admin_wrong")
    browser_page.page.get_by_role("button", name="Sign in").click()
    browser_page.page.wait_for_selector("#token-error")
    assert accessibility_violations(browser_page.page) == []
