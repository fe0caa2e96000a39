"""AuthZEN search paging (§8.2): opaque tokens bound to the request they continue.

1.0: "When a request contains a token, all entities ... and pagination parameters
... MUST be identical to the preceding request. PDPs SHOULD return an error when any
entity or parameter has been changed." A token carries the search's own cursor and a
digest of the request's entities, so a changed request is told apart (400) instead of
being answered from a cursor made for another question.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from service.http.errors import HttpError

END = ""  # §8.2.2: "If there are no more results after this page, its value MUST be ''"


class BadPageToken(HttpError):
    status = 400
    reason = "invalid_page_token"


def request_digest(body: dict[str, Any]) -> str:
    """A digest of the request's entities (subject, action, resource, context).

    Not of `page`: the spec's own example (§8.2.3) sends its second request without
    the first one's `limit`, and a page size that changes skips or repeats nothing,
    as the cursors are positions in a stable order, not offsets."""
    entities = {k: v for k, v in body.items() if k != "page"}
    canonical = json.dumps(entities, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def next_token(cursor: str | None, body: dict[str, Any]) -> str:
    """The opaque next_token for the search's cursor (END when there is none)."""
    if not cursor:
        return END
    raw = json.dumps({"c": cursor, "r": request_digest(body)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_of(token: str | None, body: dict[str, Any]) -> str | None:
    """The search's cursor a request's page.token carries (None: the first page);
    400 when the token is not one of ours or was made for another request."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor, digest = data["c"], data["r"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise BadPageToken("page.token is not a token this PDP gave") from None
    if not isinstance(cursor, str) or digest != request_digest(body):
        raise BadPageToken(
            "page.token was given for another request: a request that continues a search "
            "must repeat its subject, action, resource and context"
        )
    return cursor
