"""The change feed for apps (service.services.change_feed): changes after a cursor,
answered at once or long-polled, the same as Server-Sent Events, a snapshot to start
from, and scope ancestor chains for a client that checks from its own memory.

Feed pages are the stored JSON joined, not re-encoded through a schema: a page of a
thousand sets costs the database read and one join. The schemas below describe them
to OpenAPI. No view holds a session while it waits: each look at the feed is a short
read of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, request, stream_with_context

from service.http.auth import Surface, requires
from service.http.context import caller, runtime
from service.http.read.schemas import (
    AncestorsQuerySchema,
    AncestorsSchema,
    ChangesPageSchema,
    ChangesQuerySchema,
    SnapshotPageSchema,
    SnapshotQuerySchema,
    StreamQuerySchema,
)
from service.http.smorest import Blueprint
from service.services import change_feed, permission_reads

blueprint = Blueprint(
    "feed",
    __name__,
    url_prefix="/api/v1",
    description="The change feed: every new effective set, in order, resumable by cursor",
)

STREAM_PAGE = 500


def _json(text: str) -> Response:
    return Response(text, mimetype="application/json")


def _page(tenant_id: str, after: int, limit: int) -> change_feed.Page:
    with runtime().unit_of_work().reading() as session:
        return change_feed.changes_after(session, tenant_id, after, limit)


@blueprint.route("/changes")
@blueprint.arguments(ChangesQuerySchema, location="query")
@blueprint.doc(
    responses={
        "200": {
            "description": "The changes after `after`, oldest first; `cursor` goes on from them",
            "content": {"application/json": {"schema": ChangesPageSchema}},
        },
        "410": {"description": "`after` is behind the retained window: start from /snapshot"},
    }
)
@requires(Surface.READ)
def changes(query: dict[str, Any]) -> Response:
    """Changes after a cursor

    Every new effective set of the tenant's users (kind changed, deprovisioned or
    deleted) and every change of its scope tree (kind scopes), in one order. With
    `wait`, a request finding nothing after `after` is held until a change is
    recorded or `wait` seconds pass. Apply a set only when its version is higher than
    the one held for the user. A long poll may be answered empty before `wait` is over
    (the server holds none longer than ROLECALL_FEED_MAX_WAIT_SECONDS): ask again.
    """
    tenant_id = caller().tenant_id
    after = change_feed.parse_cursor(query["after"])
    page = change_feed.wait_for_changes(
        lambda: _page(tenant_id, after, query["limit"]),
        lambda cursor, remaining: runtime().feed_signal.wait(tenant_id, cursor, remaining),
        after,
        min(query["wait"], runtime().settings.feed_max_wait_seconds),
    )
    return _json(page.to_json())


@blueprint.route("/changes/stream")
@blueprint.arguments(StreamQuerySchema, location="query")
@blueprint.doc(
    responses={
        "200": {
            "description": "Server-Sent Events: `id: <cursor>`, `event: change`, `data: "
            "<change JSON>`; `: keepalive` after `heartbeat` quiet seconds (the feed was "
            "looked at and nothing followed); `event: expired` when the reader fell behind "
            "the window. Ends after ROLECALL_FEED_STREAM_SECONDS (five minutes): reconnect "
            "with Last-Event-ID.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        "410": {"description": "`after` is behind the retained window: start from /snapshot"},
    }
)
@requires(Surface.READ)
def change_stream(query: dict[str, Any]) -> Response:
    """Changes as Server-Sent Events"""
    tenant_id = caller().tenant_id
    after = change_feed.parse_cursor(request.headers.get("Last-Event-ID") or query["after"])
    first = _page(tenant_id, after, STREAM_PAGE)  # a 410 is answered before streaming
    signal = runtime().feed_signal
    heartbeat = query["heartbeat"]
    # A stream ends after a while and its reader reconnects with Last-Event-ID, so no
    # connection outlives a deploy by much and a web process's threads turn over.
    lasts = runtime().settings.feed_stream_seconds

    def events() -> Iterator[str]:
        page, cursor = first, after
        ends = time.monotonic() + lasts
        quiet_since = time.monotonic()
        while True:
            for seq, change in zip(page.cursors, page.changes, strict=True):
                yield f"id: {seq}\nevent: change\ndata: {change}\n\n"
            if page.changes:
                cursor, quiet_since = page.cursor, time.monotonic()
            elif time.monotonic() - quiet_since >= heartbeat:
                yield ": keepalive\n\n"
                quiet_since = time.monotonic()
            if time.monotonic() >= ends:
                return
            if not page.more:
                signal.wait(tenant_id, cursor, heartbeat - (time.monotonic() - quiet_since))
            try:
                page = _page(tenant_id, cursor, STREAM_PAGE)
            except change_feed.CursorExpired as expired:
                yield f"event: expired\ndata: {json.dumps(expired.to_dict())}\n\n"
                return

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # a buffering proxy would hold events back
    return response


@blueprint.route("/snapshot")
@blueprint.arguments(SnapshotQuerySchema, location="query")
@blueprint.doc(
    responses={
        "200": {
            "description": "One page of every current set; `feed_cursor` is where the feed "
            "goes on from, the same on every page",
            "content": {"application/json": {"schema": SnapshotPageSchema}},
        }
    }
)
@requires(Surface.READ)
def snapshot(query: dict[str, Any]) -> Response:
    """Every current set, to start the feed from

    Follow `next` as `cursor` until it is null, then read /changes after `feed_cursor`,
    applying each set only when it is newer than the one held. A snapshot replaces
    everything a reader held: a user absent from it is gone.
    """
    tenant_id = caller().tenant_id
    with runtime().unit_of_work().reading() as session:
        page = change_feed.snapshot_page(session, tenant_id, query["cursor"], query["limit"])
    return _json(page.to_json())


@blueprint.route("/scopes/<scope_id>/ancestors")
@blueprint.arguments(AncestorsQuerySchema, location="query")
@blueprint.response(200, AncestorsSchema)
@requires(Surface.READ)
def ancestors(query: dict[str, Any], scope_id: str) -> dict[str, Any]:
    """A scope's ancestors

    Its ancestor ids, nearest first, from a scope tree at least `min_version` (the
    version of the last `scopes` change a reader saw). 404 when it does not exist.
    """
    chain, version = permission_reads.ancestors_of(
        runtime(), caller().tenant_id, scope_id, query["min_version"]
    )
    return {"scope_id": scope_id, "ancestors": list(chain), "version": version}
