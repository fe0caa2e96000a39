"""Bearer-token authentication: the token decides the tenant and what may be called."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from service.http.context import runtime
from service.http.errors import Forbidden, Unauthorized
from service.services.tokens import TokenKind, authenticate_cached

F = TypeVar("F", bound=Callable[..., Any])


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


def requires(*kinds: TokenKind) -> Callable[[F], F]:
    """Only a valid token of one of `kinds` may call the view; sets `g.caller`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            presented = _presented_token()
            if presented is None:
                raise Unauthorized("A bearer token is required")
            caller = authenticate_cached(runtime(), presented)
            if caller is None:
                raise Unauthorized("The token is unknown, revoked or expired")
            if caller.kind not in kinds:
                allowed = ", ".join(k.value for k in kinds)
                raise Forbidden(f"A {caller.kind.value} token cannot call this; it needs {allowed}")
            g.caller = caller
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
