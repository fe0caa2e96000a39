"""Signing in (with an admin token, or a one-time link) and out."""

from __future__ import annotations

import hmac
import secrets

from flask import Response, flash, redirect, request, url_for

from service.http.console.blueprint import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    FormErrors,
    blueprint,
    console_caller,
    cookie_options,
    policy,
    refused_into,
    render,
)
from service.http.context import uow
from service.http.redaction import secret_in_path
from service.services import console_sessions
from service.services.console_sessions import OpenedSession


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page, never another site."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return url_for("console.connection")


def _form_page(template: str, errors: FormErrors, status: int = 200, **context: object) -> Response:
    nonce = secrets.token_urlsafe(24)
    body, status = render(template, status, errors=errors, sign_in_nonce=nonce, **context)
    response = Response(body, status=status, mimetype="text/html")
    response.set_cookie(SIGN_IN_COOKIE, nonce, max_age=3600, **cookie_options())
    return response


def _nonce_matches() -> bool:
    presented = request.form.get("sign_in_nonce", "")
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    return bool(expected) and hmac.compare_digest(presented, expected)


def _signed_in(opened: OpenedSession, target: str) -> Response:
    response = redirect(target, code=303)
    response.set_cookie(SESSION_COOKIE, opened.secret, **cookie_options())
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response:
    """Exchange an admin token for a session; the token goes no further than this."""
    errors = FormErrors()
    target = request.values.get("next")
    if request.method == "POST":
        if not _nonce_matches():
            errors.add("", "This form has expired. Paste the token again.")
            return _form_page("sign_in.html", errors, 403, next=target)
        with refused_into(errors):
            opened = console_sessions.sign_in(uow(), request.form.get("token", ""), policy())
            return _signed_in(opened, _safe_next(target))
        return _form_page("sign_in.html", errors, 401, next=target)
    return _form_page("sign_in.html", errors, next=target)


@blueprint.route("/sign-in/<code>", methods=["GET", "POST"])
@secret_in_path
def sign_in_with_link(code: str) -> Response:
    """A one-time link: shown as a button, so a mail scanner or a preview that
    fetches the link does not spend it."""
    errors = FormErrors()
    if request.method == "POST":
        if not _nonce_matches():
            errors.add("", "This form has expired. Open the link again.")
            return _form_page("sign_in_link.html", errors, 403)
        with refused_into(errors):
            opened = console_sessions.sign_in_with_link(uow(), code, policy())
            return _signed_in(opened, url_for("console.connection"))
        return _form_page("sign_in_link.html", errors, 401)
    return _form_page("sign_in_link.html", errors)


@blueprint.route("/sign-out", methods=["POST"])
def sign_out() -> Response:
    console_sessions.sign_out(uow(), console_caller())
    flash("You are signed out.")
    response = redirect(url_for("console.sign_in"), code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
