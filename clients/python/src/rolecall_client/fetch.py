"""Fetching a user's set over HTTP and holding it: one procedure for the app's threads
(a check of a user not held) and the feed thread (a check-up after a restart)."""

from __future__ import annotations

from rolecall_client.errors import InvalidSet, RolecallError
from rolecall_client.permission_set import PermissionSet
from rolecall_client.store import HeldUser, Refetch, Store
from rolecall_client.transport import Transport

# How often a fetch may be told "the feed has a newer one" before giving up holding it
# (each retry asks rolecall for at least that version, so one retry suffices).
ATTEMPTS = 3


class KeptChanging(RolecallError):
    """The user's set kept changing while it was fetched."""


def fetch_user(
    transport: Transport,
    store: Store,
    ref: str,
    min_version: int | None,
    now: float,
    touch: bool = True,
) -> HeldUser | None:
    """``ref``'s set, fetched and held (None when rolecall knows no such user).

    Raises what the transport raises, ``InvalidSet``, or ``KeptChanging``."""
    epoch = store.epoch  # read before the request: see Store.hold_user
    wanted = min_version
    for _ in range(ATTEMPTS):
        body = transport.user_set(ref, wanted)
        if body is None:
            return None
        permission_set = PermissionSet(body)
        user_id = body.get("user_id")
        if not isinstance(user_id, str):
            raise InvalidSet("a permission set without its user_id")
        held = store.hold_user(ref, permission_set, user_id, epoch, now, touch)
        if not isinstance(held, Refetch):
            return held
        wanted = int(held)
    raise KeptChanging(f"a user's set kept changing over {ATTEMPTS} fetches")
