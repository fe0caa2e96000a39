"""`rolecall console link --tenant T`: a fresh one-time sign-in link to T's console."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from service.cli import main
from service.settings import Settings
from tests.conftest import TenantKeys

NONCE = re.compile(r'name="sign_in_nonce" value="([^"]+)"')


@pytest.fixture
def same_database(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line reads the database the test app serves."""
    monkeypatch.setenv("ROLECALL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ROLECALL_PUBLIC_BASE_URL", "http://rolecall.test:8000")


def _link(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["console", "link", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("same_database")
def test_the_link_signs_in_to_the_tenant_s_console_once(
    tenant: TenantKeys, client: FlaskClient
) -> None:
    code, printed, said = _link("--tenant", tenant.name)
    assert code == 0, said
    assert f"console of {tenant.name!r}" in said
    link = printed.strip()
    assert link.startswith("http://rolecall.test:8000/console/sign-in/")
    path = link.removeprefix("http://rolecall.test:8000")
    nonce = NONCE.findall(client.get(path).get_data(as_text=True))[0]
    signed_in = client.post(path, data={"sign_in_nonce": nonce})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/console/"
    assert "/console/sign-out" in client.get("/console/").get_data(as_text=True)
    page = client.get(path).get_data(as_text=True)
    again = client.post(path, data={"sign_in_nonce": NONCE.findall(page)[0]})
    assert again.status_code == 401, "a link works once"


@pytest.mark.usefixtures("same_database")
def test_the_link_takes_the_tenant_by_id_and_another_base_url(tenant: TenantKeys) -> None:
    code, printed, _ = _link("--tenant", tenant.id, "--base-url", "https://iam.example.com/")
    assert code == 0
    assert printed.startswith("https://iam.example.com/console/sign-in/")


@pytest.mark.usefixtures("same_database")
def test_an_unknown_tenant_is_one_clear_line(tenant: TenantKeys) -> None:
    code, printed, said = _link("--tenant", "nobody")
    assert code == 1 and printed == ""
    assert "No tenant 'nobody'" in said
