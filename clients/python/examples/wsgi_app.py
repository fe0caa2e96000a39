"""A plain WSGI app that asks rolecall before it serves a report.

    ROLECALL_URL=http://127.0.0.1:8000 ROLECALL_READ_TOKEN=... python examples/wsgi_app.py

GET /reports/<scope id> with an `X-User` header (set by whatever authenticates the
caller in front of this app) answers 200 when that user may view reports there,
403 otherwise. Any WSGI server serves `make_app(client)`; this file runs wsgiref's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from wsgiref.simple_server import make_server

from rolecall_client import Client

StartResponse = Callable[[str, list[tuple[str, str]]], object]
WsgiApp = Callable[[dict[str, object], StartResponse], Iterable[bytes]]


def make_app(rolecall: Client) -> WsgiApp:
    def app(environ: dict[str, object], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        user = str(environ.get("HTTP_X_USER", ""))
        prefix = "/reports/"
        if not path.startswith(prefix) or not path[len(prefix) :]:
            return respond(start_response, "404 Not Found", b"no such page\n")
        scope = path[len(prefix) :]
        if not user or not rolecall.check(user, "reporting/view", "granted", scope):
            return respond(start_response, "403 Forbidden", b"forbidden\n")
        return respond(start_response, "200 OK", f"reports of {scope} for {user}\n".encode())

    return app


def respond(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    client = Client(os.environ["ROLECALL_URL"], os.environ["ROLECALL_READ_TOKEN"])
    with make_server("127.0.0.1", int(os.environ.get("PORT", "8080")), make_app(client)) as server:
        print(f"serving on http://127.0.0.1:{server.server_port}/reports/<scope id>")
        server.serve_forever()
