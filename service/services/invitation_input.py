"""What an invitation's input may hold: addresses mail can reach, strings that fit where
they are stored, ids that can name a row. One place for the admin API's schemas, bulk
invites (CSV and JSON rows) and the use cases.

Lengths are read from the columns the values end up in, not restated: an address
becomes both the invitation's `email` and, for a new person, the SCIM user's
`userName`, so it must fit the narrower of the two.
"""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from scim2_models import Email
from sqlalchemy import Column

from service.persistence.base import NUL, column_length
from service.persistence.invitation_models import Invitation, JobRow
from service.persistence.scim_models import ScimUser


def _narrowest(*columns: Column[str]) -> int:
    lengths = [column_length(column) for column in columns]
    assert all(lengths), columns
    return min(lengths)  # type: ignore[type-var]


_users, _invitations, _rows = ScimUser.__table__.c, Invitation.__table__.c, JobRow.__table__.c

# The longest value each input field may hold, by the columns that store it.
MAX_LENGTH: dict[str, int] = {
    "email": _narrowest(_invitations.email, _users.user_name, _rows.email),
    "name": _narrowest(_invitations.display_name, _users.display_name, _rows.name),
    "inviter": _narrowest(_invitations.inviter_name),
    "user_id": _narrowest(_users.id),
    # Where an invitation invites to: kept on the invitation, and as sent on a job's row.
    "role": _narrowest(_invitations.role_key, _rows.role),
    "scope_id": _narrowest(_invitations.scope_id, _rows.scope),
}
# A new user's givenName is the first word of the name, in a narrower column.
GIVEN_NAME_LENGTH = _narrowest(_users.given_name)


def address_problem(address: str) -> str | None:
    """Why mail cannot be sent to the address, or None when it can be.

    The rule SCIM users' emails obey (scim2-models' Email, which asks email-validator):
    besides the syntax, the special-use names of RFC 6761 and RFC 6762 (`.test`,
    `.invalid`, `.localhost`, `.local`, `.onion`), a domain without a dot, and an IP
    literal are refused; `.example` (RFC 2606) passes, as it does in SCIM."""
    try:
        Email(value=address)
    except ValidationError as error:
        detail = str(error.errors()[0].get("msg", "")) if error.errors() else ""
        detail = detail.removeprefix("value is not a valid email address: ")
        return f"{address!r} is not a valid email address: {detail}"[:500]
    return None


def value_problem(field: str, value: str) -> str | None:
    """Why the value cannot be stored in the field, or None when it can."""
    if NUL in value:
        return "holds a NUL character"
    limit = MAX_LENGTH[field]
    if len(value) > limit:
        return f"is {len(value)} characters long; at most {limit} fit"
    return None


def storable(field: str, value: str | None) -> str | None:
    """The value made fit to be kept beside the reason it was refused (a bulk job's
    invalid row keeps what was sent, as far as the column can hold it)."""
    if value is None:
        return None
    return value.replace(NUL, "\N{REPLACEMENT CHARACTER}")[: MAX_LENGTH[field]]


def is_row_id(value: str) -> bool:
    """Whether the value can be the id of a row (a UUID in its canonical text form):
    anything else names nothing, and is not sent to the database (PostgreSQL refuses a
    NUL in a string parameter outright)."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False
