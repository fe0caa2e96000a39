"""`rolecall who-can` and `rolecall where-can`: the questions as tables on the command line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.app import create_app
from service.cli import main
from service.services import tokens
from service.settings import Settings
from service.wiring import build_runtime
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory


@dataclass
class Org:
    org: str
    folder: str


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """A reporting tenant "acme" in a fresh SQLite file the commands read: an
    organization with one folder; alice views it through the group "Org Viewers",
    bob edits the folder directly."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ROLECALL_DATABASE_URL", url)
    run("db", "upgrade")
    run("tenant", "create", "acme")
    token = run("token", "create", "--tenant", "acme", "--kind", "admin")[1].strip()
    settings = Settings(database_url=url, environment="test", secret_key="cli-test")
    runtime = build_runtime(settings)
    client = create_app(settings, runtime).test_client()
    keys = TenantKeys(id="", name="acme", scim="", admin=token, read="", portal="")
    admin = Admin(client, keys)
    admin.load("reporting")
    org = admin.scope("organization", "Acme Org")
    folder = admin.scope("folder", "Plans", org)
    directory = Directory(runtime, tokens.find_tenant(runtime.unit_of_work(), "acme").id)
    alice = directory.user("alice@acme.example")
    directory.user("bob@acme.example")
    directory.group("Org Viewers", users=[alice])
    admin.map("Org Viewers", "view", org)
    admin.assign("bob@acme.example", "edit", folder)
    yield Org(org, folder)
    runtime.close()


def test_who_can_prints_each_user_with_its_level_and_chain(org: Org) -> None:
    code, out, err = run("who-can", "--tenant", "acme", org.folder, "reporting/view", "granted")

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["USER", "LEVEL", "CHAIN"]
    alice = next(line for line in lines if line.startswith("alice@acme.example"))
    assert "group 'Org Viewers'" in alice and "Acme Org (inherited)" in alice
    bob = next(line for line in lines if line.startswith("bob@acme.example"))
    assert "product default role" in bob and "Acme Org > Plans" in bob


def test_who_can_pages_and_all_follows_the_cursors(org: Org) -> None:
    code, out, err = run(
        "who-can", "--tenant", "acme", org.folder, "view", "granted", "--limit", "1"
    )
    assert code == 0, err
    assert len(out.splitlines()) == 2 and "--cursor" in err

    code, out, err = run(
        "who-can", "--tenant", "acme", org.folder, "view", "granted", "--limit", "1", "--all"
    )
    users = {line.split()[0] for line in out.splitlines()[1:]}
    assert code == 0 and users == {"alice@acme.example", "bob@acme.example"}
    assert "--cursor" not in err


def test_where_can_prints_one_line_per_subtree_or_every_scope_expanded(org: Org) -> None:
    code, out, err = run("where-can", "--tenant", "acme", "alice@acme.example", "view", "granted")
    assert code == 0, err
    (line,) = out.splitlines()[1:]
    assert line.startswith("Acme Org") and "and below" in line

    code, out, _ = run(
        "where-can", "--tenant", "acme", "alice@acme.example", "view", "granted", "--expand"
    )
    assert [line.split("  ")[0] for line in out.splitlines()[1:]] == [
        "Acme Org",
        "Acme Org > Plans",
    ]


def test_an_unknown_area_is_a_one_line_error(org: Org) -> None:
    code, _, err = run("who-can", "--tenant", "acme", org.folder, "nope", "granted")

    assert code == 1 and "no area 'nope'" in err
