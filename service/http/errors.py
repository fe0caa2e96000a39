"""Errors, one home for every surface.

Admin and read APIs answer in flask-smorest's shape (`code`, `status`, `message`,
`errors` keyed by field), which its own validation errors already use; SCIM paths
answer in the SCIM error schema (RFC 7644 §3.12), with `status` as a string.
An unexpected exception is a 500 without internals.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from service.domain.errors import DomainError

SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_MEDIA_TYPE = "application/scim+json"

log = logging.getLogger("rolecall.http")

# A 503 asks the caller to retry: a committed change whose immediate effect could not
# be applied yet (an IdP's retry re-applies it), or a database that is away.
RETRY_AFTER_SECONDS = "1"


class HttpError(Exception):
    status = 400
    reason = "bad_request"
    scim_type: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(HttpError):
    """401. `invalid_token`: a token was presented but is unknown, revoked or expired
    (RFC 6750 §3), as opposed to no bearer token at all."""

    status = 401
    reason = "unauthorized"

    def __init__(self, message: str, *, invalid_token: bool = False) -> None:
        super().__init__(message)
        self.invalid_token = invalid_token


class Forbidden(HttpError):
    status = 403
    reason = "forbidden"


class TooManyRequests(HttpError):
    """Over the caller's rate limit; `retry_after` seconds until the next may go."""

    status = 429
    reason = "too_many_requests"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        # Retry-After takes whole seconds (RFC 9110 §10.2.3): round up, so a caller
        # that waits as told is let through.
        self.retry_after = max(1, math.ceil(retry_after))


def is_scim_path() -> bool:
    return request.path.startswith("/scim/")


def scim_error(status: int, detail: str, scim_type: str | None = None) -> Response:
    body: dict[str, Any] = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    response = jsonify(body)
    response.status_code = status
    response.mimetype = SCIM_MEDIA_TYPE
    return response


def api_error(
    status: int,
    message: str,
    reason: str | None = None,
    field: str | None = None,
    details: Mapping[str, object] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
    }
    if reason:
        body["reason"] = reason
    if field:
        body["errors"] = {field: [message]}
    if details is not None:
        body["details"] = dict(details)
    response = jsonify(body)
    response.status_code = status
    return response


def _with_auth_challenge(response: Response, error: HttpError) -> Response:
    if isinstance(error, Unauthorized):
        challenge = 'Bearer realm="rolecall"'
        if error.invalid_token:
            challenge += f', error="invalid_token", error_description="{error.message}"'
        response.headers["WWW-Authenticate"] = challenge
    return response


def _with_werkzeug_headers(response: Response, error: HTTPException) -> Response:
    """werkzeug's own headers of the error (Allow on a 405, Retry-After on a 429 or 503,
    WWW-Authenticate ...), all but its HTML Content-Type."""
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HttpError)
    def _http_error(error: HttpError) -> Response:
        if is_scim_path():
            response = scim_error(error.status, error.message, error.scim_type)
        else:
            response = api_error(error.status, error.message, error.reason)
        if isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after)
        return _with_auth_challenge(response, error)

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        if is_scim_path():
            response = scim_error(error.status, error.message)
        else:
            response = api_error(
                error.status, error.message, error.code, error.field, error.details
            )
        if error.status == 503:  # Unavailable: the same request may be retried shortly
            log.warning("unavailable on %s %s: %s", request.method, request.path, error.message)
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response

    @app.errorhandler(HTTPException)
    def _werkzeug_error(error: HTTPException) -> Response:
        status = error.code or 500
        if is_scim_path():
            response = scim_error(status, error.description or HTTPStatus(status).phrase)
            return _with_werkzeug_headers(response, error)
        data = getattr(error, "data", None) or {}
        body: dict[str, Any] = {
            "code": status,
            "status": HTTPStatus(status).phrase,
            "message": data.get("message") or error.description,
        }
        if "messages" in data:  # webargs' per-field validation messages
            body["errors"] = data["messages"]
        response = jsonify(body)
        response.status_code = status
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return _with_werkzeug_headers(response, error)

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError) -> Response:
        # The database is down, restarting or unreachable: the request may be retried.
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.path,
            type(error.orig).__name__,
        )
        message = "The database is unavailable; retry shortly"
        response = scim_error(503, message) if is_scim_path() else api_error(503, message)
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_scim_path():
            return scim_error(500, "Internal server error")
        return api_error(500, "Internal server error")
