"""Schemas of the questions over the whole model: who can, where can."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from service.domain import Chain
from service.http.admin.areas.schemas import LEVEL_LENGTH
from service.http.admin.paging import QuerySchema
from service.http.admin.products.schemas import product_field
from service.http.admin.users.schemas import ChainSchema
from service.services.questions import MAX_LIMIT

_CURSOR = validate.Length(min=1, max=2000)


def _chains(chains: tuple[Chain, ...], names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {**c.to_dict(), "via_group_names": [names.get(g, "") for g in c.via_groups]} for c in chains
    ]


class _QuestionQuerySchema(QuerySchema):
    area = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "The area's ref (product/key), or its key"},
    )
    level = fields.String(
        required=True,
        validate=LEVEL_LENGTH,
        metadata={"description": "The lowest level asked for; higher levels count too"},
    )
    product = product_field(load_default=None)
    cursor = fields.String(
        load_default=None,
        validate=_CURSOR,
        metadata={"description": "next_cursor of the previous page, for the same question"},
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": "Entries per page"},
    )


class WhoCanQuerySchema(_QuestionQuerySchema):
    deadline_ms = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=600_000),
        metadata={
            "description": "Answer within about this long (milliseconds; never more than the "
            "server's setting, ROLECALL_QUESTIONS_DEADLINE_MS): a page that reaches it "
            "answers the users confirmed so far, with deadline_reached and the cursor"
        },
    )


class WhereCanQuerySchema(_QuestionQuerySchema):
    expand = fields.Boolean(
        load_default=False,
        metadata={
            "description": "List every single scope instead of one entry per subtree "
            "(paginated like the rest)"
        },
    )


class QuestionChainSchema(ChainSchema):
    via_group_names = fields.List(
        fields.String(),
        metadata={"description": "Display names of via_groups, in the same order"},
    )


class WhoCanEntrySchema(Schema):
    user_id = fields.String()
    user_name = fields.String()
    external_id = fields.String(metadata={"description": "Empty when the IdP sent none"})
    level = fields.String(metadata={"description": "The level the user holds at the scope"})
    chains = fields.List(
        fields.Nested(QuestionChainSchema),
        metadata={
            "description": "Every chain granting it: group -> mapping -> role -> scope, "
            "a direct assignment, or the product's default role"
        },
    )

    @pre_dump
    def _shape(self, entry: Any, **_: Any) -> dict[str, Any]:
        return {
            "user_id": entry.user_id,
            "user_name": entry.user_name,
            "external_id": entry.external_id,
            "level": entry.level,
            "chains": _chains(entry.chains, dict(entry.group_names)),
        }


class WhoCanPageSchema(Schema):
    scope_id = fields.String()
    area = fields.String(metadata={"description": "The area's ref, product/key"})
    level = fields.String()
    entries = fields.List(fields.Nested(WhoCanEntrySchema))
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "Null only when the enumeration is complete"}
    )
    complete = fields.Boolean(
        metadata={"description": "True when no user follows; never true for a cut-off page"}
    )
    deadline_reached = fields.Boolean(
        metadata={"description": "The page stopped early at the deadline: follow next_cursor"}
    )


class WhereCanEntrySchema(Schema):
    scope_id = fields.String()
    scope_name = fields.String()
    scope_type = fields.String()
    path = fields.String(metadata={"description": "Names from the root, ' > ' between them"})
    level = fields.String(metadata={"description": "The level held at that scope"})
    subtree = fields.Boolean(
        metadata={"description": "This scope and everything below it (except except_below)"}
    )
    except_below = fields.List(
        fields.String(),
        metadata={
            "description": "Scopes (accounts the user is not in) where the subtree's "
            "inherited grant stops: they and everything below them are not included"
        },
    )
    chains = fields.List(fields.Nested(QuestionChainSchema))

    @pre_dump
    def _shape(self, entry: Any, **_: Any) -> dict[str, Any]:
        return {
            "scope_id": entry.scope_id,
            "scope_name": entry.scope_name,
            "scope_type": entry.scope_type,
            "path": entry.path,
            "level": entry.level,
            "subtree": entry.subtree,
            "except_below": list(entry.except_below),
            "chains": _chains(entry.chains, dict(entry.group_names)),
        }


class WhereCanPageSchema(Schema):
    user_id = fields.String()
    area = fields.String(metadata={"description": "The area's ref, product/key"})
    level = fields.String()
    expanded = fields.Boolean()
    entries = fields.List(fields.Nested(WhereCanEntrySchema))
    next_cursor = fields.String(allow_none=True)
    complete = fields.Boolean()
