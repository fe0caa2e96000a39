"""`rolecall invite`: submits the job as the API does, follows it, prints a summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from service import runtime as runtime_module
from service.cli import main
from service.services import scopes, tokens
from service.settings import Settings
from service.wiring import build_runtime
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


def test_scope_and_role_fill_in_the_rows_that_name_none(cli_env: Inbox, tmp_path: Path) -> None:
    """Seed 003: invite "at the Organization, Folder, or Report level", from the command
    line: --scope and --role for the rows that leave scope_id and role empty."""
    runner = CliRunner()
    assert (
        runner.invoke(main, ["catalog", "load", "reporting", "--tenant", "initech"]).exit_code == 0
    )
    runtime = build_runtime(Settings.from_env())
    tenant_id = tokens.find_tenant(runtime.unit_of_work(), "initech").id
    org = scopes.create_scope(
        runtime.unit_of_work(), tenant_id, type="organization", name="Initech", actor="test"
    ).id
    folder = scopes.create_scope(
        runtime.unit_of_work(), tenant_id, type="folder", name="TPS", parent_id=org, actor="test"
    ).id
    people = tmp_path / "people.csv"
    people.write_text(
        "email,name,scope_id,role\npeter@initech.example.com,Peter,,\n"
        f"milton@initech.example.com,Milton,{folder},view\n"
    )
    result = runner.invoke(
        main, ["invite", "--tenant", "initech", "--scope", org, "--role", "edit", str(people)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("completed: 2 sent")
    [peter] = cli_env.to("peter@initech.example.com")
    assert "as Edit at the organization Initech." in cli_env.text(peter)
    [milton] = cli_env.to("milton@initech.example.com")
    assert "as View at the folder TPS." in cli_env.text(milton)

    bad = runner.invoke(main, ["invite", "--tenant", "initech", "--role", "edit", str(people)])
    assert "line 2: scope_id: role 'edit' needs a scope_id to be granted at" in bad.stderr
    runtime.engine.dispose()
