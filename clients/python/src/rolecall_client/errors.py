"""What the client raises. Checks never raise for an outage: they deny."""

from __future__ import annotations


class RolecallError(Exception):
    """Base of every error this client raises."""


class RolecallUnavailable(RolecallError):
    """rolecall could not be reached (or answered 5xx), and the client holds nothing fresh
    enough to answer from: the answer is unknown, so nothing is returned."""


class RolecallRefused(RolecallError):
    """rolecall refused the request (a bad or revoked token, a malformed request): a
    configuration error that retrying will not fix. ``status`` and ``code`` are the
    server's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"rolecall answered {status} {code}: {message}")
        self.status = status
        self.code = code


class InvalidSet(RolecallError):
    """A permission set that is not in the shape the feed contract promises."""


class CursorExpired(RolecallError):
    """The feed no longer holds changes after the cursor (410): start from a snapshot."""
