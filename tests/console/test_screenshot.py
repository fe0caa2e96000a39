"""The README's picture of the console is taken here, by the browser, from a tenant
seeded as a newcomer's would be. Set ROLECALL_UPDATE_SCREENSHOT=1 to write it to
docs/console.png; otherwise it is taken to a temporary file and only checked."""

from __future__ import annotations

import os
from pathlib import Path

from tests.console.conftest import BrowserConsole, Demo

DOCS_PICTURE = Path(__file__).resolve().parents[2] / "docs" / "console.png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_readme_shows_a_screenshot_taken_by_the_browser(
    demo: Demo, signed_in_page: BrowserConsole, tmp_path: Path
) -> None:
    page = signed_in_page.page
    page.set_viewport_size({"width": 1280, "height": 800})
    signed_in_page.goto("/console/")
    target = DOCS_PICTURE if os.environ.get("ROLECALL_UPDATE_SCREENSHOT") else tmp_path / "c.png"
    target.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(target))
    taken = target.read_bytes()
    assert taken.startswith(PNG_SIGNATURE)
    assert len(taken) > 10_000  # a rendered page, not a blank one
    assert DOCS_PICTURE.exists(), "docs/console.png is committed"
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "](docs/console.png)" in readme
