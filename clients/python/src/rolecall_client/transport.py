"""The HTTP calls the client makes, one method per endpoint of rolecall's read API.

Every method returns plain data or raises one of ``rolecall_client.errors``:
``RolecallUnavailable`` for what retrying may fix (no connection, a timeout, 5xx, 429),
``RolecallRefused`` for what it will not (401, 403, 400), ``CursorExpired`` for the feed's
410. A 404 of a user or a scope is an answer (``None``), not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

import requests

from rolecall_client.errors import CursorExpired, RolecallRefused, RolecallUnavailable

API = "/api/v1"
# POST /check takes at most this many checks per request (the server's schema).
CHECK_BATCH = 500


@dataclass(frozen=True)
class ChangesPage:
    changes: list[dict[str, Any]]
    cursor: str
    more: bool


@dataclass(frozen=True)
class SnapshotPage:
    sets: list[dict[str, Any]]
    feed_cursor: str
    next: str | None


@dataclass(frozen=True)
class Chain:
    """A scope's ancestor ids, nearest first, from the scope model at ``version``."""

    ancestors: tuple[str, ...]
    version: int


class Check(NamedTuple):
    """One question: may ``user`` hold ``level`` of ``area`` at ``scope``? ``area`` is a ref
    (``product/key``), or a key with ``product``, or a key held in one product only."""

    user: str
    area: str
    level: str
    scope: str
    product: str | None = None


class Transport(Protocol):
    """What the client needs from rolecall; ``HttpTransport`` is the real one."""

    def changes(self, after: str, wait: int, limit: int) -> ChangesPage: ...

    def snapshot(self, page: str | None, limit: int) -> SnapshotPage: ...

    def user_set(self, ref: str, min_version: int | None) -> dict[str, Any] | None: ...

    def ancestors(self, scope: str, min_version: int | None) -> Chain | None: ...

    def check(self, checks: Sequence[Check], min_version: int | None) -> list[bool]: ...

    def close(self) -> None: ...


class HttpTransport:
    """rolecall over HTTP with ``requests``, one connection pool per instance.

    The client gives its feed thread an instance of its own and shares another among
    the app's threads: urllib3's pool is thread-safe, and nothing here changes the
    session's state after it is built (no cookies are kept: rolecall sets none).
    """

    def __init__(self, base_url: str, read_token: str, timeout: float) -> None:
        self._base = base_url.rstrip("/") + API
        self._timeout = timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {read_token}"
        self._session.headers["User-Agent"] = "rolecall-client-python"

    def changes(self, after: str, wait: int, limit: int) -> ChangesPage:
        params = {"after": after, "limit": str(limit), "wait": str(wait)}
        # The server holds a long poll for up to `wait`: the read timeout allows for it.
        body = self._object(
            "GET", "/changes", params=params, timeout=self._timeout + wait, expired=True
        )
        return ChangesPage(list(body["changes"]), str(body["cursor"]), bool(body["more"]))

    def snapshot(self, page: str | None, limit: int) -> SnapshotPage:
        params = {"limit": str(limit)}
        if page is not None:
            params["cursor"] = page  # the `next` of the page before
        body = self._object("GET", "/snapshot", params=params)
        return SnapshotPage(list(body["sets"]), str(body["feed_cursor"]), body.get("next"))

    def user_set(self, ref: str, min_version: int | None) -> dict[str, Any] | None:
        params = {} if min_version is None else {"min_version": str(min_version)}
        return self._send("GET", "/users/{ref}/permissions", params=params, ref=ref)

    def ancestors(self, scope: str, min_version: int | None) -> Chain | None:
        params = {} if min_version is None else {"min_version": str(min_version)}
        body = self._send("GET", "/scopes/{ref}/ancestors", params=params, ref=scope)
        if body is None:
            return None
        return Chain(tuple(str(s) for s in body["ancestors"]), int(body["version"]))

    def check(self, checks: Sequence[Check], min_version: int | None) -> list[bool]:
        answers: list[bool] = []
        for start in range(0, len(checks), CHECK_BATCH):
            batch = checks[start : start + CHECK_BATCH]
            payload: dict[str, Any] = {"checks": [_check_json(c) for c in batch]}
            if min_version is not None:
                payload["min_version"] = min_version
            body = self._object("POST", "/check", json=payload)
            answers.extend(bool(r["allowed"]) for r in body["results"])
        return answers

    def close(self) -> None:
        self._session.close()

    def _object(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        """``_send`` for a request without a ref, which always answers an object."""
        body = self._send(method, path, **options)
        if body is None:  # only a lookup by ref answers None
            raise RolecallUnavailable(f"{method} {path}: no answer")
        return body

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
        expired: bool = False,
        ref: str | None = None,
    ) -> dict[str, Any] | None:
        """``path`` may hold ``{ref}``, filled in (quoted) for the request only: errors
        name the path as written, so logs carry no user's name or email."""
        url = self._base + (path if ref is None else path.format(ref=quote(ref, safe="")))
        try:
            response = self._session.request(
                method, url, params=params, json=json, timeout=timeout or self._timeout
            )
        except requests.RequestException as error:
            # The exception's text holds the URL: only its type is kept.
            raise RolecallUnavailable(f"{method} {path}: {type(error).__name__}") from error
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
            except ValueError as error:
                raise RolecallUnavailable(f"{method} {path}: the answer is not JSON") from error
            if not isinstance(body, dict):
                raise RolecallUnavailable(f"{method} {path}: the answer is not a JSON object")
            return body
        if status == 404 and ref is not None:  # no such user or scope: an answer
            return None
        code, message = _error_of(response)
        if status == 410 and expired:
            raise CursorExpired(message)
        if status >= 500 or status == 429:
            raise RolecallUnavailable(f"{method} {path}: {status} {code}")
        raise RolecallRefused(status, code, message)


def _check_json(check: Check) -> dict[str, str]:
    out = {"user": check.user, "area": check.area, "level": check.level, "scope": check.scope}
    if check.product is not None:
        out["product"] = check.product
    return out


def _error_of(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
        return str(body.get("code", "")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        return "", response.reason or ""
