"""`rolecall invite`: submits the job as the API does, follows it, prints a summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from service import runtime as runtime_module
from service.cli import main
from tests.invitations.conftest import Inbox


@pytest.fixture
def cli_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: tuple[Inbox, int]
) -> Iterator[Inbox]:
    inbox, port = smtp_server
    previous = runtime_module._current
    monkeypatch.setenv("ROLECALL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ROLECALL_MAILER", "smtp")
    monkeypatch.setenv("ROLECALL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ROLECALL_SMTP_PORT", str(port))
    for name in ("ROLECALL_BROKER_URL", "ROLECALL_REDIS_URL", "ROLECALL_ENV"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(main, ["tenant", "create", "initech"]).exit_code == 0
    yield inbox
    # The command makes its runtime the process's; later tests need theirs back.
    runtime_module._current = previous


def test_invite_sends_the_file_and_prints_a_correct_summary(cli_env: Inbox, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "email,name\npeter@initech.example.com,Peter Gibbons\nbad-address,Nobody\n"
        "milton@initech.example.com,Milton Waddams\n"
    )
    result = CliRunner().invoke(main, ["invite", "--tenant", "initech", str(people)])
    assert result.exit_code == 0, result.output
    assert "line 3: 'bad-address' is not a valid email address" in result.stderr
    assert "Inviting" in result.stderr
    assert result.stdout.strip() == (
        "completed: 2 sent, 0 skipped (already invited), 0 failed, 1 invalid, 0 still to do"
    )
    assert sorted(cli_env.recipients()) == [
        "milton@initech.example.com",
        "peter@initech.example.com",
    ]

    again = CliRunner().invoke(main, ["invite", "--tenant", "initech", str(people)])
    assert again.stdout.strip().startswith("completed: 0 sent, 2 skipped")
    assert len(cli_env.messages) == 2


def test_an_address_scim_would_refuse_is_reported_by_line(cli_env: Inbox, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("email,name\nbob@reserved.test,Bob\n")
    result = CliRunner().invoke(main, ["invite", "--tenant", "initech", str(people)])
    assert result.exit_code == 0, result.output
    assert "line 2: 'bob@reserved.test' is not a valid email address: The part after" in (
        result.stderr
    )
    assert "0 sent" in result.stdout


def test_invite_refuses_a_file_without_a_header(cli_env: Inbox, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("peter@initech.example.com,Peter\n")
    result = CliRunner().invoke(main, ["invite", "--tenant", "initech", str(people)])
    assert result.exit_code == 1
    assert "looks like data, not a header" in result.stderr
    assert cli_env.messages == []
