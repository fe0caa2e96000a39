"""Connection: what an IdP needs (the SCIM base URL and a token) and the tenant's
tokens, created (shown once), rotated with an overlap, and revoked."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, flash, redirect, url_for

from service.http.admin.tokens.schemas import TokenCreateSchema, TokenRotateSchema
from service.http.console.blueprint import (
    FormErrors,
    actor,
    blueprint,
    console_caller,
    parse_form,
    refused_into,
    render,
    tenant_id,
)
from service.http.context import runtime, uow
from service.services import tokens
from service.services.tokens import IssuedToken, TokenKind

# The overlaps offered when rotating: long enough to roll the new token out to an IdP.
OVERLAPS = (
    (0, "none: the old token stops now"),
    (3600, "1 hour"),
    (86400, "1 day"),
    (7 * 86400, "7 days"),
)


def _page(
    errors: FormErrors | None = None, issued: IssuedToken | None = None, status: int = 200
) -> tuple[str, int]:
    live = [t for t in tokens.list_tokens(uow(), tenant_id()) if t.revoked_at is None]
    return render(
        "connection.html",
        status,
        scim_base_url=f"{runtime().settings.public_base_url}/scim/v2",
        tokens=live,
        kinds=[kind.value for kind in TokenKind],
        overlaps=OVERLAPS,
        errors=errors or FormErrors(),
        issued=issued,
        own_token_id=console_caller().caller.token_id,
    )


@blueprint.route("/")
def connection() -> tuple[str, int]:
    return _page()


@blueprint.route("/tokens", methods=["POST"])
def create_token() -> tuple[str, int]:
    """A new token, shown in this response only (never stored, never redirected to)."""
    body, errors = parse_form(TokenCreateSchema())
    if not errors:
        with refused_into(errors):
            issued = tokens.issue_token(
                uow(), tenant_id(), body["kind"], body["description"], actor=actor()
            )
            return _page(issued=issued, status=201)
    return _page(errors, status=422)


@blueprint.route("/tokens/<token_id>/rotate", methods=["POST"])
def rotate_token(token_id: str) -> tuple[str, int]:
    body, errors = parse_form(TokenRotateSchema())
    if not errors:
        issued = tokens.rotate(
            uow(),
            token_id,
            timedelta(seconds=body["overlap_seconds"]),
            tenant_id(),
            actor=actor(),
        )
        return _page(issued=issued, status=201)
    return _page(errors, status=422)


@blueprint.route("/tokens/<token_id>/revoke", methods=["POST"])
def revoke_token(token_id: str) -> Response:
    revoked = tokens.revoke(uow(), token_id, tenant_id(), actor=actor())
    if revoked.id == console_caller().caller.token_id:
        # This session stood for that token: it has ended with it.
        flash("You revoked the token this session was opened with; sign in again.")
        return redirect(url_for("console.sign_in"), code=303)
    flash(f"Token {revoked.prefix}… is revoked. Callers using it are refused from now on.")
    return redirect(url_for("console.connection"), code=303)
