"""A bulk invite in a real browser: upload a CSV with good and bad rows, watch the job's
progress bar move to 100 % as its batches run, read the row errors and download them.

Tasks run in-process in tests, so a job would finish inside the upload's own request.
Here the job's batch tasks are held back when the upload commits and let go one at a
time while the page is open: the bar is seen at each step, moved by console.js
re-reading the progress block (no reload)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from service.persistence.outbox import Emitted
from service.persistence.unit_of_work import Committed
from service.runtime import Runtime
from service.services import bulk_invites, relay
from tests.console.conftest import BrowserConsole, accessibility_violations

GOOD_ROWS = 150  # two batches: bulk_invites.BATCH_SIZE, then the rest
BAD_ROWS = [
    ("not-an-email", "Nobody", ""),
    ("person0@example.com", "Person Zero again", ""),
    ("ghost@example.com", "Ghost", "no-such-scope"),
]
TOTAL = GOOD_ROWS + len(BAD_ROWS)


@dataclass
class HeldBatches:
    """The bulk invite batch tasks committed while the fixture is on, not sent yet."""

    runtime: Runtime
    held: list[Emitted] = field(default_factory=list)

    def release(self, count: int = 1) -> None:
        """Send the oldest held batches (each runs here, in-process, to its end)."""
        sending, self.held = self.held[:count], self.held[count:]
        assert relay.send_emitted(self.runtime, sending) == len(sending)


@pytest.fixture
def held_batches(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldBatches]:
    holder = HeldBatches(runtime)
    send_after_commit = runtime.after_commit
    assert send_after_commit is not None

    def hold(rt: Runtime, committed: Committed) -> None:
        batches = [row for row in committed.rows if row.task == bulk_invites.BATCH_TASK]
        holder.held.extend(batches)
        others = [row for row in committed.rows if row.task != bulk_invites.BATCH_TASK]
        send_after_commit(rt, Committed(rows=others, effects=committed.effects))

    monkeypatch.setattr(runtime, "after_commit", hold)
    yield holder
    holder.release(len(holder.held))  # nothing is left in the outbox for the next test


def write_csv(path: Path) -> Path:
    lines = ["email,name,scope_id"]
    lines += [f"person{i}@example.com,Person {i}," for i in range(GOOD_ROWS)]
    lines += [",".join(row) for row in BAD_ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def bar(page: Any) -> tuple[int, int]:
    progress = page.get_by_label("Rows handled")
    return int(progress.get_attribute("value")), int(progress.get_attribute("max"))


def wait_for_bar(page: Any, value: int) -> None:
    page.wait_for_function(
        "value => Number(document.getElementById('job-bar')?.getAttribute('value')) === value",
        arg=value,
    )


def test_an_uploaded_csv_moves_the_bar_to_100_percent_and_its_row_errors_download(
    signed_in_page: BrowserConsole,
    held_batches: HeldBatches,
    tmp_path: Path,
    make_tenant: Callable[[str], Any],
) -> None:
    page = signed_in_page.page
    page.get_by_role("link", name="Bulk invites").click()
    assert page.title() == "Bulk invites · rolecall console"
    assert accessibility_violations(page) == []
    page.get_by_label("CSV file").set_input_files(write_csv(tmp_path / "people.csv"))
    page.get_by_role("button", name="Upload and invite").click()
    page.wait_for_load_state()

    # The job is recorded; only the bad rows are handled yet, and the page says so.
    assert page.title().startswith("Job bulk invite of ")
    assert f"{TOTAL} rows received from people.csv" in page.inner_text(".notice")
    assert bar(page) == (len(BAD_ROWS), TOTAL)
    assert page.locator("#job-progress[data-refresh-url]").count() == 1
    assert page.get_by_role("link", name="Refresh").is_visible()
    assert page.locator("#row-errors").count() == 0

    held_batches.release(1)  # the first hundred rows
    wait_for_bar(page, len(BAD_ROWS) + bulk_invites.BATCH_SIZE)
    assert page.inner_text("#job-status") == "running"

    held_batches.release(1)  # the rest
    wait_for_bar(page, TOTAL)
    assert bar(page) == (TOTAL, TOTAL)
    assert "100 %" in page.inner_text("#job-summary")
    assert page.inner_text("#job-status") == "completed"
    assert page.locator("#job-progress[data-refresh-url]").count() == 0  # it stops looking

    errors = page.locator("#row-errors tbody tr")
    assert errors.count() == len(BAD_ROWS)
    shown = {errors.nth(i).locator("td").first.inner_text(): errors.nth(i) for i in range(3)}
    first_bad = GOOD_ROWS + 2  # the header is line 1
    assert "not a valid email address" in shown[str(first_bad)].inner_text()
    assert "duplicate of line 2" in shown[str(first_bad + 1)].inner_text()
    # A scope without a role asks for the product's default role; this tenant has none.
    assert "role: name a role" in shown[str(first_bad + 2)].inner_text()
    assert accessibility_violations(page) == []

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download row errors (CSV)").click()
    download = downloading.value
    assert download.suggested_filename.endswith("-row-errors.csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [(row["line"], row["email"], row["status"]) for row in rows] == [
        (str(first_bad), "not-an-email", "invalid"),
        (str(first_bad + 1), "person0@example.com", "invalid"),
        (str(first_bad + 2), "ghost@example.com", "invalid"),
    ]
    assert rows[2]["scope_id"] == "no-such-scope"
    assert rows[2]["reason"].startswith("role: name a role")
