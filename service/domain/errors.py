"""Errors raised by the domain.

The admin and read APIs turn these into JSON bodies in one place, so every
domain error carries what that place needs: an HTTP status (a class attribute,
because the kind of error decides it), a machine-readable ``code``, the input
``field`` it concerns (so a client can highlight it), and a human ``message``.

Codes used by the domain:

- 422 ``ValidationFailed``: ``invalid_key``, ``invalid_value``, ``unknown_scope_type``,
  ``unknown_parent``, ``cycle``, ``account_type_required``, ``account_type_not_allowed``,
  ``unknown_area``, ``unknown_level``, ``unknown_role``, ``unknown_scope``,
  ``scope_type_not_allowed``, ``root_only``, ``not_an_account``, and for where an
  invitation invites to ``scope_required``, ``role_required``
- 400 ``BadRequest``: ``invalid_cursor``
- 404 ``NotFound``: ``not_found``
- 409 ``Conflict``: ``duplicate``, ``has_children``, ``catalog_conflict``,
  and the account rules of seed 001 when an admin makes a direct account assignment:
  ``mixed_account_types``, ``same_vertical_hierarchy``, ``user_type_mismatch``
  (with ``details``: the account it collides with and where that came from)

``details``, when present, is structured data about the error for clients (a JSON
object), beside the message written for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    status: ClassVar[int] = 400

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "status": self.status,
            "code": self.code,
            "field": self.field,
            "message": self.message,
        }
        if self.details is not None:
            out["details"] = dict(self.details)
        return out

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(code={self.code!r}, field={self.field!r}, message={self.message!r})"


class ValidationFailed(DomainError):
    """The input is well-formed but breaks a rule of the model."""

    status: ClassVar[int] = 422


class BadRequest(DomainError):
    """The request cannot be read as given: a paging cursor that is not one this
    service handed out, or one handed out for another question."""

    status: ClassVar[int] = 400


class NotFound(DomainError):
    """The thing the request names does not exist."""

    status: ClassVar[int] = 404


class Conflict(DomainError):
    """The request is valid on its own but clashes with the current state."""

    status: ClassVar[int] = 409


class Unavailable(DomainError):
    """A dependency (database, cache) could not answer: the caller should retry.
    Never turned into a yes: permission answers fail closed."""

    status = 503

    def __init__(self, message: str = "temporarily unavailable; retry shortly") -> None:
        super().__init__("unavailable", message)
