"""The first minutes with `rolecall dev`, run as a newcomer runs it: in an empty
directory, with no ROLECALL_* settings, stopped by its process id.

The first run makes tenant 'demo' and shows its tokens once; both it and a restart
print a one-time sign-in link to the console, and a restart says how to make tokens
again with the commands to run. Meanwhile the embedded default writes
one access line per request, JSON lines without terminal escape codes, and no
warning (the in-process task broker used to warn about a missing hostname)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

TOKEN = re.compile(r"^\s+(scim|admin|read|portal)\s+(rc_\w+_\S+)$", re.MULTILINE)
SIGN_IN_LINK = re.compile(r"^  (http://\S+/console/sign-in/[\w-]+)$", re.MULTILINE)
NONCE = re.compile(r'name="sign_in_nonce" value="([^"]+)"')

# `rolecall dev` on its own SQLite file and in-process Redis, whatever the suite runs on.
pytestmark = pytest.mark.embedded_only


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _newcomer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLECALL_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _rolecall(*args: str) -> list[str]:
    return [sys.executable, "-m", "service.cli", *args]


@dataclass
class DevServer:
    url: str
    stdout: Path
    stderr: Path

    def printed(self) -> str:
        return self.stdout.read_text()

    def log_lines(self) -> list[str]:
        return [line for line in self.stderr.read_text().splitlines() if line.strip()]

    def json_log(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log_lines() if line.startswith("{")]


@contextmanager
def rolecall_dev(directory: Path, run: str) -> Iterator[DevServer]:
    port = _free_port()
    server = DevServer(
        f"http://127.0.0.1:{port}", directory / f"{run}.out", directory / f"{run}.err"
    )
    with server.stdout.open("w") as out, server.stderr.open("w") as err:
        process = subprocess.Popen(
            _rolecall("dev", "--port", str(port)),
            cwd=directory,
            env=_newcomer_env(),
            stdout=out,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, server.stderr.read_text()
            try:
                if requests.get(f"{server.url}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "rolecall dev did not start in 60 s"
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=15)


def _requests_a_newcomer_makes(url: str, admin: str, scim: str) -> list[tuple[str, str, int]]:
    """Each (method, path, status): reads, a refusal, and writes whose tasks run in-process."""
    bearer = {"Authorization": f"Bearer {admin}"}
    made = [
        ("GET", "/api/v1/roles", requests.get(f"{url}/api/v1/roles", headers=bearer)),
        ("GET", "/api/v1/roles", requests.get(f"{url}/api/v1/roles")),
        ("POST", "/api/v1/heartbeats", requests.post(f"{url}/api/v1/heartbeats", headers=bearer)),
        (
            "POST",
            "/scim/v2/Users",
            requests.post(
                f"{url}/scim/v2/Users",
                headers={
                    "Authorization": f"Bearer {scim}",
                    "Content-Type": "application/scim+json",
                },
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ada@example.com",
                },
            ),
        ),
        ("GET", "/api/docs", requests.get(f"{url}/api/docs")),
    ]
    return [(method, path, response.status_code) for method, path, response in made]


def test_the_first_run_shows_the_tokens_and_logs_one_plain_line_per_request(
    tmp_path: Path,
) -> None:
    with rolecall_dev(tmp_path, "first") as server:
        tokens = dict(TOKEN.findall(server.printed()))
        assert "Created tenant 'demo'. Its tokens, shown this once:" in server.printed()
        assert set(tokens) == {"scim", "admin", "read", "portal"}
        [link] = SIGN_IN_LINK.findall(server.printed())
        assert link.startswith(f"{server.url}/console/sign-in/")
        made = _requests_a_newcomer_makes(server.url, tokens["admin"], tokens["scim"])
        assert [status for _, _, status in made] == [200, 401, 202, 201, 200]
        # The access line is written after the response; give the last one a moment.
        time.sleep(0.5)

    lines = server.log_lines()
    assert all(line.startswith("{") for line in lines), "every log line is JSON"
    assert not [line for line in lines if "\x1b" in line or "\\u001b" in line]
    entries = server.json_log()
    access = [
        (e["method"], e["path"], e["status"]) for e in entries if e["logger"] == "rolecall.access"
    ]
    assert access == made
    werkzeug_requests = [
        e for e in entries if e["logger"] == "werkzeug" and "HTTP/1." in e["message"]
    ]
    assert werkzeug_requests == []
    assert any(e["logger"] == "werkzeug" and "Running on" in e["message"] for e in entries)
    assert any(e["logger"] == "celery.app.trace" for e in entries), "tasks ran in-process"
    warnings = [e for e in entries if e["level"] in {"warning", "error", "critical"}]
    assert warnings == []


def _sign_in(link: str) -> requests.Response:
    """Follow a one-time link as a browser does: the page, then its button."""
    browser = requests.Session()
    page = browser.get(link)
    assert page.status_code == 200
    [nonce] = NONCE.findall(page.text)
    return browser.post(link, data={"sign_in_nonce": nonce})


def test_a_restart_says_how_to_reach_the_demo_tenant_and_what_it_prints_works(
    tmp_path: Path,
) -> None:
    with rolecall_dev(tmp_path, "first") as server:
        assert "Created tenant 'demo'" in server.printed()
    with rolecall_dev(tmp_path, "restart") as server:
        printed = server.printed()
        assert "Created tenant" not in printed and not TOKEN.search(printed)
        assert "Tenant 'demo' exists already" in printed
        [link] = SIGN_IN_LINK.findall(printed)
        console = _sign_in(link)
        assert console.status_code == 200
        assert console.url == f"{server.url}/console/"
        assert "/console/sign-out" in console.text, "signed in to the console"
        assert _sign_in(link).status_code == 401, "the link works once"
        command = "rolecall token create --tenant demo --kind admin"
        assert f"  {command}\n" in printed
        made = subprocess.run(
            _rolecall(*command.split()[1:]),
            cwd=tmp_path,
            env=_newcomer_env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        token = made.stdout.strip()
        assert token.startswith("rc_admin_")
        roles = requests.get(
            f"{server.url}/api/v1/roles", headers={"Authorization": f"Bearer {token}"}
        )
        assert roles.status_code == 200
