"""The Flask decorator and the plain WSGI example, against a real rolecall: a user in
the editors group is served, everyone else gets 403."""

from __future__ import annotations

import importlib.util
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

from rolecall_client import Client
from rolecall_client.flask import init_app, require
from tests.live_server import LiveServer, Tenant, eventually

EXAMPLE = Path(__file__).parents[1] / "examples" / "wsgi_app.py"


class Reports:
    def __init__(self, server: LiveServer) -> None:
        self.tenant = Tenant(server)
        self.tenant.load("reporting")
        self.org = self.tenant.scope("organization", "Apps Org")
        self.folder = self.tenant.scope("folder", "Apps Folder", self.org)
        self.tenant.map("Apps Readers", "view", self.folder, product="reporting")
        self.reader = self.tenant.user("reader@apps.example")
        self.stranger = self.tenant.user("stranger@apps.example")
        self.tenant.group("Apps Readers", self.reader)
        eventually(lambda: self.tenant.permissions(self.reader)["scopes"], 10, "the reader's set")


@pytest.fixture(scope="module")
def reports(live_server: LiveServer) -> Reports:
    return Reports(live_server)


@pytest.fixture(scope="module")
def client(reports: Reports) -> Iterator[Client]:
    with Client(reports.tenant.base_url, reports.tenant.read_token) as made:
        made.wait_until_fresh(15)
        yield made


def flask_app(client: Client) -> Flask:
    app = Flask(__name__)
    init_app(app, client)

    @app.get("/folders/<folder_id>/reports")
    @require(
        "reporting/view",
        "granted",
        scope=lambda: (request.view_args or {}).get("folder_id"),
        user=lambda: request.headers.get("X-User"),
    )
    def folder_reports(folder_id: str) -> str:
        return f"reports of {folder_id}"

    return app


def test_the_flask_decorator_serves_the_allowed_and_403s_the_rest(
    reports: Reports, client: Client
) -> None:
    web = flask_app(client).test_client()
    path = f"/folders/{reports.folder}/reports"

    assert web.get(path, headers={"X-User": reports.reader}).status_code == 200
    assert web.get(path, headers={"X-User": "reader@apps.example"}).status_code == 200
    assert web.get(path, headers={"X-User": reports.stranger}).status_code == 403
    assert web.get(path).status_code == 403
    assert (
        web.get(f"/folders/{reports.org}/reports", headers={"X-User": reports.reader}).status_code
        == 403
    )


def test_the_flask_decorator_needs_init_app() -> None:
    app = Flask(__name__)

    @app.get("/")
    @require("reporting/view", "granted", scope="s", user=lambda: "u")
    def index() -> str:
        return "never"

    app.testing = True
    with pytest.raises(RuntimeError, match="init_app"):
        app.test_client().get("/")


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("wsgi_app_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def call(app: Any, path: str, user: str | None) -> tuple[str, bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(),
    }
    if user is not None:
        environ["HTTP_X_USER"] = user
    seen: list[str] = []
    body = b"".join(app(environ, lambda status, headers: seen.append(status)))
    return seen[0], body


def test_the_wsgi_example_serves_the_allowed_and_403s_the_rest(
    reports: Reports, client: Client
) -> None:
    app = load_example().make_app(client)

    status, body = call(app, f"/reports/{reports.folder}", reports.reader)
    assert status == "200 OK" and reports.folder.encode() in body
    assert call(app, f"/reports/{reports.folder}", reports.stranger)[0] == "403 Forbidden"
    assert call(app, f"/reports/{reports.folder}", None)[0] == "403 Forbidden"
    assert call(app, "/elsewhere", reports.reader)[0] == "404 Not Found"
