"""A real rolecall server for the client's tests, and an IdP and an admin to drive it.

The server is `rolecall dev` (one process: the web app, its tasks run in-process, the
outbox swept by a thread) on a free port of 127.0.0.1, on a SQLite file and the embedded
fake Redis, or on ROLECALL_TEST_DATABASE_URL / ROLECALL_TEST_REDIS_URL when set (as the
server's own suite does). The tenant and its tokens are made with the `rolecall` CLI
before it starts. Everything started here is stopped by its PID.

Tests are skipped, saying why, when the `rolecall` command is not installed beside this
Python (the client installs and runs without the server; its tests need one).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

T = TypeVar("T")


def rolecall_command() -> str | None:
    beside = Path(sys.executable).parent / "rolecall"
    return str(beside) if beside.exists() else shutil.which("rolecall")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(condition: Callable[[], T], timeout: float, what: str) -> T:
    """The first truthy value of ``condition()`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.02)


class LiveServer:
    """One `rolecall dev` process and a tenant with a token of each kind."""

    def __init__(self, command: str, tmp: Path) -> None:
        self.command = command
        self.tmp = tmp
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ROLECALL_ENV": "development",
            "ROLECALL_DATABASE_URL": os.environ.get("ROLECALL_TEST_DATABASE_URL")
            or f"sqlite:///{tmp / 'rolecall.db'}",
            "ROLECALL_REDIS_URL": os.environ.get("ROLECALL_TEST_REDIS_URL") or "memory://",
            "ROLECALL_SECRET_KEY": "client-tests-secret-key",
            "ROLECALL_PUBLIC_BASE_URL": self.base_url,
            "ROLECALL_MAIL_FOLDER": str(tmp / "mail"),
            "ROLECALL_LOG_LEVEL": "WARNING",
            # The tests provision faster than an IdP would.
            "ROLECALL_RATE_LIMIT_SCIM": "off",
            "ROLECALL_RATE_LIMIT_ADMIN": "off",
            "ROLECALL_RATE_LIMIT_READ": "off",
        }
        self.tokens: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = tmp / "rolecall.log"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [self.command, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self.tmp,
        )
        if done.returncode != 0:
            raise AssertionError(f"rolecall {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def make_tenant(self) -> dict[str, str]:
        """A new tenant; its scim, admin and read tokens."""
        name = f"client-{uuid.uuid4().hex[:12]}"
        self.cli("tenant", "create", name)
        return {
            kind: self.cli("token", "create", "--tenant", name, "--kind", kind).strip()
            for kind in ("scim", "admin", "read")
        }

    def start(self) -> None:
        handle = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [self.command, "dev", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=self.tmp,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"rolecall dev exited early:\n{self.log()}")
            try:
                if requests.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet
            time.sleep(0.1)
        raise AssertionError(f"rolecall dev not ready after 60s:\n{self.log()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_live_server(tmp: Path) -> LiveServer:
    command = rolecall_command()
    if command is None:
        pytest.skip("the rolecall server is not installed here (pip install -e the repository)")
    server = LiveServer(command, tmp)
    server.cli("db", "upgrade")
    server.start()
    return server


class Tenant:
    """A tenant on the live server, driven as an IdP (SCIM) and an admin would."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.tokens = server.make_tenant()
        self.parents: dict[str, str | None] = {}  # every scope made here, to its parent

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def read_token(self) -> str:
        return self.tokens["read"]

    def call(self, kind: str, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = requests.request(
            method,
            f"{self.base_url}{path}",
            headers={"Authorization": f"Bearer {self.tokens[kind]}"},
            json=body,
            params=params or None,
            timeout=30,
        )
        assert response.status_code < 300, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def read_response(self, method: str, path: str, **params: Any) -> requests.Response:
        """A read-token request to /api/v1, whatever its status."""
        return requests.request(
            method,
            f"{self.base_url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.tokens['read']}"},
            params=params or None,
            timeout=30,
        )

    def admin(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        return self.call("admin", method, f"/api/v1{path}", body, **params)

    def scim(self, method: str, path: str, body: Any = None) -> Any:
        return self.call("scim", method, f"/scim/v2{path}", body)

    def read(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        return self.call("read", method, f"/api/v1{path}", body, **params)

    # -- admin ----------------------------------------------------------------------

    def load(self, catalog: str) -> None:
        self.admin("POST", f"/catalogs/{catalog}/load", {})

    def scope(
        self, kind: str, name: str, parent: str | None = None, account_type: str | None = None
    ) -> str:
        body: dict[str, Any] = {"type": kind, "name": name}
        if parent is not None:
            body["parent_id"] = parent
        if account_type is not None:
            body["account_type"] = account_type
        made = str(self.admin("POST", "/scopes", body)["id"])
        self.parents[made] = parent
        return made

    def move(self, scope: str, parent: str | None) -> None:
        self.admin("PATCH", f"/scopes/{scope}", {"parent_id": parent})
        self.parents[scope] = parent

    def ancestors(self, scope: str) -> tuple[str, ...]:
        """The scope's ancestor ids, nearest first, as this tenant made the tree."""
        chain: list[str] = []
        parent = self.parents[scope]
        while parent is not None:
            chain.append(parent)
            parent = self.parents[parent]
        return tuple(chain)

    def map(self, group: str, role: str, scope: str, product: str | None = None) -> str:
        body: dict[str, Any] = {
            "group": {"kind": "displayName", "value": group},
            "role_key": role,
            "scope_id": scope,
        }
        if product is not None:
            body["product"] = product
        return str(self.admin("POST", "/mappings", body)["id"])

    def unmap(self, mapping: str) -> None:
        self.admin("DELETE", f"/mappings/{mapping}")

    def assign(self, user: str, role: str, scope: str, **extra: Any) -> None:
        self.admin(
            "POST", "/assignments", {"user": user, "role_key": role, "scope_id": scope, **extra}
        )

    # -- SCIM -------------------------------------------------------------------------

    def user(
        self, user_name: str, external_id: str | None = None, user_type: str | None = None
    ) -> str:
        body: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": user_name, "active": True}
        if external_id is not None:
            body["externalId"] = external_id
        if user_type is not None:
            body["userType"] = user_type
        return str(self.scim("POST", "/Users", body)["id"])

    def group(self, name: str, *members: str) -> str:
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in members],
        }
        return str(self.scim("POST", "/Groups", body)["id"])

    def members(self, group: str, op: str, *users: str) -> None:
        """``op`` "add" or "remove" the users from the group."""
        operation: dict[str, Any] = {
            "op": op,
            "path": "members",
            "value": [{"value": u} for u in users],
        }
        if op == "remove":
            operation = {
                "op": "remove",
                "path": "members[" + " or ".join(f'value eq "{u}"' for u in users) + "]",
            }
        self.scim(
            "PATCH", f"/Groups/{group}", {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
        )

    def deactivate(self, user: str) -> None:
        self.scim(
            "PATCH",
            f"/Users/{user}",
            {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
        )

    def delete_user(self, user: str) -> None:
        self.scim("DELETE", f"/Users/{user}")

    # -- what the server answers ---------------------------------------------------------

    def permissions(self, ref: str) -> dict[str, Any]:
        return dict(self.read("GET", f"/users/{ref}/permissions"))

    def checks(self, checks: list[dict[str, Any]]) -> list[bool]:
        answer = self.read("POST", "/check", {"checks": checks})
        return [bool(r["allowed"]) for r in answer["results"]]
