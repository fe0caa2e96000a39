"""Flask integration: a view decorator that answers 403 unless rolecall allows.

    from rolecall_client import Client
    from rolecall_client.flask import init_app, require

    init_app(app, Client(ROLECALL_URL, READ_TOKEN))

    @app.get("/folders/<folder_id>/reports")
    @require("reporting/view", "granted", scope=lambda: request.view_args["folder_id"],
             user=lambda: g.user_id)
    def reports(folder_id): ...

Needs the ``flask`` extra (``pip install "rolecall-client[flask]"``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app

from rolecall_client.client import Client

EXTENSION = "rolecall_client"
View = TypeVar("View", bound=Callable[..., Any])


def init_app(app: Flask, client: Client) -> None:
    """Make ``client`` the one ``require`` asks; it is closed with the app's teardown of
    the process (``client.close()``), which the app owns."""
    app.extensions[EXTENSION] = client


def client_of(app: Flask) -> Client:
    client = app.extensions.get(EXTENSION)
    if not isinstance(client, Client):
        raise RuntimeError(
            "rolecall_client.flask.init_app(app, client) was not called for this app"
        )
    return client


def require(
    area: str,
    level: str,
    *,
    scope: str | Callable[[], str | None],
    user: Callable[[], str | None],
    product: str | None = None,
) -> Callable[[View], View]:
    """Run the view only when ``user()`` holds ``level`` of ``area`` at ``scope`` (a
    scope id, or a callable giving one for the request); otherwise 403. No user (None)
    or no scope is 403 too: this decides permissions, not who the caller is."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            who = user()
            where = scope() if callable(scope) else scope
            if not who or not where:
                abort(403)
            if not client_of(current_app).check(who, area, level, where, product):
                abort(403)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
