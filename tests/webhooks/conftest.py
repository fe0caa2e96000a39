"""Webhook tests: real HTTP receivers on loopback, an admin client, and a resolver
that answers what a test needs (a name resolving to a private address, or to a
different address on the second look: DNS rebinding)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask.testing import FlaskClient

from service.runtime import Runtime
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory


@dataclass
class Receiver:
    """An HTTP server on loopback that records what it is sent and answers `status`
    (with `headers`), or `fail_next` times 503 first."""

    port: int = 0
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    fail_next: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def _serve(state: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.fail_next:
                state.fail_next -= 1
                self.send_response(503)
            else:
                state.received.append((dict(self.headers), body))
                self.send_response(state.status)
                for name, value in state.headers.items():
                    self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receivers() -> Iterator[Callable[[], Receiver]]:
    """Makes receivers; each is stopped at the end of the test."""
    servers: list[ThreadingHTTPServer] = []

    def make() -> Receiver:
        state = Receiver()
        servers.append(_serve(state))
        return state

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(receivers: Callable[[], Receiver]) -> Receiver:
    return receivers()


class FakeDns:
    """A resolver: each name answers its list of addresses in turn (the last one
    repeats); every lookup is recorded."""

    def __init__(self, **names: list[str]) -> None:
        self.answers = {name.replace("_", "."): list(a) for name, a in names.items()}
        self.lookups: list[str] = []

    def set(self, name: str, *answers: str) -> None:
        self.answers[name] = list(answers)

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.answers.get(host)
        if not answers:
            return []
        return [answers.pop(0) if len(answers) > 1 else answers[0]]


@pytest.fixture
def admin(client: FlaskClient, tenant: TenantKeys) -> Admin:
    return Admin(client, tenant)


@pytest.fixture
def directory(runtime: Runtime, tenant: TenantKeys) -> Directory:
    return Directory(runtime, tenant.id)
