"""The authenticator: bearer tokens decide the tenant and which surface may be called.

One parser of the Authorization header (`bearer_token`), one map from surfaces to the
token kinds that may call them (`SURFACES`), and one decision (`admit`), used by
`requires` for the SCIM and admin APIs and by the read API. The read API passes
`admit` to the read path (service.services.permission_reads), which authenticates
and reads in one Redis round trip and asks `admit` before it reads anything more.

The token is checked before the request is parsed: `requires` marks its view with
the surface, and `authenticate_before_parsing` (a before-request hook) admits the
caller before flask-smorest reads a query or a body, so a caller without a valid
token learns nothing from validation errors and gets its 401 or 403 first.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import partial, wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from service.http.context import runtime
from service.http.errors import Forbidden, TooManyRequests, Unauthorized
from service.services.tokens import Caller, TokenKind, authenticate_cached

F = TypeVar("F", bound=Callable[..., Any])


class Surface(StrEnum):
    SCIM = "scim"  # /scim/v2: an IdP pushing users and groups
    ADMIN = "admin"  # /api/v1 management: roles, mappings, invitations, tokens ...
    READ = "read"  # /api/v1 permission reads and checks, for apps
    PORTAL = "portal"  # /api/v1/self-registrations: an End-User Portal signing people up


SURFACES: dict[Surface, tuple[TokenKind, ...]] = {
    Surface.SCIM: (TokenKind.SCIM,),
    Surface.ADMIN: (TokenKind.ADMIN,),
    Surface.READ: (TokenKind.READ, TokenKind.ADMIN),
    Surface.PORTAL: (TokenKind.PORTAL,),
}


# The attribute `requires` sets on its view; functools.wraps carries it up through
# flask-smorest's decorators to the function the route holds.
SURFACE_ATTRIBUTE = "rolecall_surface"


def bearer_token() -> str:
    """The token the request presents (`Authorization: Bearer <token>`)."""
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthorized("A bearer token is required")
    return credential.strip()


def admit(surface: Surface | str, caller: Caller | None) -> Caller:
    """The caller, if its token may call `surface`; sets `g.caller` (for the views and
    the access log). None (a token unknown, revoked or expired) is 401; a token of
    another kind is 403; a caller over its tenant's limit for its token kind is 429
    (checked here, the one place every surface learns who is calling)."""
    if caller is None:
        raise Unauthorized("The token is unknown, revoked or expired", invalid_token=True)
    kinds = SURFACES[Surface(surface)]
    if caller.kind not in kinds:
        allowed = " or ".join(k.value for k in kinds)
        raise Forbidden(f"A {caller.kind.value} token cannot call this; it needs {allowed}")
    g.caller = caller
    wait = runtime().request_limits.wait(caller.tenant_id, caller.kind.value)
    if wait is not None:
        raise TooManyRequests(
            f"Too many requests with {caller.kind.value} tokens of this tenant; retry later",
            wait,
        )
    return caller


def admitting(surface: Surface | str) -> Callable[[Caller | None], Caller]:
    """`admit` for one surface, as the read path takes it."""
    return partial(admit, surface)


def authenticate(surface: Surface | str) -> Caller:
    """The caller of this request, if its bearer token may call `surface`."""
    return admit(surface, authenticate_cached(runtime(), bearer_token()))


def requires(surface: Surface | str) -> Callable[[F], F]:
    """Only a valid token that may call `surface` may call the view; sets `g.caller`.

    `surface` is a Surface or its name; `requires(TokenKind.ADMIN)` names the admin
    surface, as each token kind is named after the surface it is made for."""
    known = Surface(surface)  # an unknown surface fails at import, not at the first request

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.get("caller") is None:  # called other than through its route
                authenticate(known)
            return view(*args, **kwargs)

        setattr(wrapper, SURFACE_ATTRIBUTE, known)
        return wrapper  # type: ignore[return-value]

    return decorate


def authenticate_before_parsing() -> None:
    """Before-request hook: admits the caller of a view marked by `requires`."""
    view = current_app.view_functions.get(request.endpoint or "")
    surface = getattr(view, SURFACE_ATTRIBUTE, None)
    if surface is not None:
        authenticate(surface)
