"""Admin API: questions over the whole model. Who can do an area at a level at a
scope, and where can a user do it, each with the chains that grant it
(service.services.questions)."""

from __future__ import annotations

from typing import Any

from service.http.admin.questions.schemas import (
    WhereCanPageSchema,
    WhereCanQuerySchema,
    WhoCanPageSchema,
    WhoCanQuerySchema,
)
from service.http.auth import requires
from service.http.context import caller, runtime, uow
from service.http.smorest import Blueprint
from service.services import questions
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "questions",
    __name__,
    url_prefix="/api/v1",
    description="Questions over the whole model: who can, where can",
)


@blueprint.route("/scopes/<scope_id>/who-can")
@blueprint.arguments(WhoCanQuerySchema, location="query")
@blueprint.response(200, WhoCanPageSchema)
@requires(TokenKind.ADMIN)
def who_can(query: dict[str, Any], scope_id: str) -> questions.WhoCanPage:
    """Who can do area at level here

    Every user holding at least `level` of `area` at the scope, directly or inherited
    from above, with every chain that grants it, in user id order. Exact: a page is
    never cut silently; when the deadline is reached first, `deadline_reached` is
    true and `next_cursor` goes on from there. Follow `next_cursor` until it is null.
    """
    return questions.who_can(
        uow(),
        caller().tenant_id,
        scope_id,
        query["area"],
        query["level"],
        product=query["product"],
        cursor=query["cursor"],
        limit=query["limit"],
        deadline_s=runtime().settings.questions_deadline_s(query["deadline_ms"]),
    )


@blueprint.route("/users/<ref>/where-can")
@blueprint.arguments(WhereCanQuerySchema, location="query")
@blueprint.response(200, WhereCanPageSchema)
@requires(TokenKind.ADMIN)
def where_can(query: dict[str, Any], ref: str) -> questions.WhereCanPage:
    """Where can this user do area at level

    Every scope where the user (SCIM id, userName or externalId) holds at least
    `level` of `area`, with the chains granting it. A grant that holds below its scope
    is one entry with `subtree` true ("this scope and everything below it", except
    below `except_below`); `expand=true` lists every single scope instead.
    """
    return questions.where_can(
        uow(),
        caller().tenant_id,
        ref,
        query["area"],
        query["level"],
        product=query["product"],
        expand=query["expand"],
        cursor=query["cursor"],
        limit=query["limit"],
    )
