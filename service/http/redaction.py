"""Paths that carry a secret (an invitation's token, a one-time sign-in code): the
access log writes their route (`/invitations/<token>`) instead of the path, so the
secret reaches no log line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request

F = TypeVar("F", bound=Callable[..., Any])

_ATTRIBUTE = "rolecall_secret_in_path"


def secret_in_path(view: F) -> F:
    """Marks a view whose URL holds a secret."""
    setattr(view, _ATTRIBUTE, True)
    return view


def loggable_path() -> str:
    """The request's path as it may be logged."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.url_rule is not None and getattr(view, _ATTRIBUTE, False):
        return request.url_rule.rule
    return request.path
