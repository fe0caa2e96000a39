"""rolecall-client: permission checks from memory, kept current by rolecall's change feed.

    from rolecall_client import Client

    rolecall = Client("https://rolecall.example.com", read_token)
    if rolecall.check(user_id, "reporting/edit", "granted", folder_id):
        ...

See ``Client`` for the options and the failure behaviour.
"""

from rolecall_client.client import Client, Status
from rolecall_client.errors import (
    InvalidSet,
    RolecallError,
    RolecallRefused,
    RolecallUnavailable,
)
from rolecall_client.transport import Check

__all__ = [
    "Check",
    "Client",
    "InvalidSet",
    "RolecallError",
    "RolecallRefused",
    "RolecallUnavailable",
    "Status",
]
