"""The AuthZEN Authorization API 1.0 information model (§5), as marshmallow schemas.

Receivers "MUST ignore unknown fields" (§10.1.1), so every schema excludes what it
does not know. A schema says only what 1.0 says of the shape; how rolecall reads an
action's name (an area and a level) is decided after loading (`ActionSchema`), and
what a subject, an action and a resource mean is rolecall's (service.http.authzen.views).
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from service.domain import GRANTED
from service.http.read.schemas import SCOPE_LENGTH

# Bounds of the same values in POST /api/v1/check (service.http.read.schemas.CheckSchema).
USER_LENGTH = 300
AREA_LENGTH = 300
LEVEL_LENGTH = 200
PRODUCT_LENGTH = 128
TYPE_LENGTH = 128
# As many evaluations as POST /api/v1/check takes checks.
MAX_EVALUATIONS = 500
MAX_SEARCH_LIMIT = 1000
DEFAULT_SEARCH_LIMIT = 100

SUBJECT_TYPE = "user"
SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")

ACTION_NAME_HELP = (
    "An area and a level: `<area>:<level>`, where the area is its key (`edit`) or its "
    "ref `<product>/<key>` (`reporting/edit`); e.g. `reporting/edit:granted`, "
    "`licenses:manage`. A name without a level (`can_read`) names an on/off area at its "
    "one level, `granted`. Or any name, with `properties.area` and `properties.level` "
    "(and `properties.product`) saying which area and level."
)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


def _properties() -> fields.Dict:
    return fields.Dict(
        metadata={"description": "Further attributes; accepted, not used by rolecall"},
    )


class SubjectSchema(_Lenient):
    type = fields.String(
        required=True,
        validate=validate.Length(min=1, max=TYPE_LENGTH),
        metadata={"description": "`user`: rolecall's subjects are the tenant's SCIM users"},
    )
    id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=USER_LENGTH),
        metadata={"description": "The user's SCIM id, userName or externalId"},
    )
    properties = _properties()


class SearchSubjectSchema(SubjectSchema):
    """A subject searched for (§8.4): its type only; an id is ignored (§8.4.1)."""

    id = fields.Raw(load_default=None, metadata={"description": "Ignored"})


class ResourceSchema(_Lenient):
    type = fields.String(
        required=True,
        validate=validate.Length(min=1, max=TYPE_LENGTH),
        metadata={
            "description": "`scope`, or the name of one of the tenant's scope types "
            "(`organization`, `folder`, `workspace`, `account` ...). The id alone names "
            "the scope in a decision; a resource search lists scopes of this type "
            "(`scope`: of every type)"
        },
    )
    id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=SCOPE_LENGTH),
        metadata={"description": "The scope's id"},
    )
    properties = _properties()


class SearchResourceSchema(ResourceSchema):
    """A resource searched for (§8.5): its type only; an id is ignored (§8.5.1)."""

    id = fields.Raw(load_default=None, metadata={"description": "Ignored"})


class ActionSchema(_Lenient):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=AREA_LENGTH + LEVEL_LENGTH + 1),
        metadata={"description": ACTION_NAME_HELP},
    )
    properties = fields.Dict(
        metadata={
            "description": "Optional: `area`, `level` and `product` (strings) name the area "
            "and level instead of `name`; other keys are ignored"
        },
    )

    @validates_schema
    def _names_an_area_and_a_level(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "name" in data:
            area_and_level(data)


class EvaluationRequestSchema(_Lenient):
    """The Access Evaluation request (§6.1)."""

    subject = fields.Nested(SubjectSchema, required=True)
    action = fields.Nested(ActionSchema, required=True)
    resource = fields.Nested(ResourceSchema, required=True)
    context = fields.Dict(
        metadata={"description": "The environment; accepted, not used by rolecall's decisions"},
    )


class EvaluationItemSchema(_Lenient):
    """One evaluation of a batch: whatever it omits comes from the request's top level."""

    subject = fields.Nested(SubjectSchema)
    action = fields.Nested(ActionSchema)
    resource = fields.Nested(ResourceSchema)
    context = fields.Dict()


class EvaluationsOptionsSchema(_Lenient):
    evaluations_semantic = fields.String(
        load_default="execute_all",
        validate=validate.OneOf(SEMANTICS),
        metadata={
            "description": "execute_all (every decision, in order), deny_on_first_deny "
            "(stop after the first false), permit_on_first_permit (stop after the first true)"
        },
    )


class EvaluationsRequestSchema(_Lenient):
    """The Access Evaluations request (§7.1): top-level subject, action, resource and
    context are defaults for each evaluation (§7.1.1); without evaluations, it is one
    evaluation of the top-level values."""

    subject = fields.Nested(SubjectSchema)
    action = fields.Nested(ActionSchema)
    resource = fields.Nested(ResourceSchema)
    context = fields.Dict()
    evaluations = fields.List(
        fields.Nested(EvaluationItemSchema),
        load_default=list,
        validate=validate.Length(max=MAX_EVALUATIONS),
    )
    options = fields.Nested(
        EvaluationsOptionsSchema, load_default=lambda: {"evaluations_semantic": "execute_all"}
    )

    @validates_schema
    def _every_evaluation_is_complete(self, data: dict[str, Any], **kwargs: Any) -> None:
        """§7.1.1: "any of these keys omitted from an evaluation object MUST be provided
        as a top-level key"; without evaluations, the top level is the one request."""
        errors: dict[Any, Any] = {}
        items = data.get("evaluations") or [{}]
        for index, item in enumerate(items):
            for key in ("subject", "action", "resource"):
                if key not in item and key not in data:
                    if data.get("evaluations"):
                        where = errors.setdefault("evaluations", {}).setdefault(index, {})
                        where[key] = ["Missing here and at the top level."]
                    else:
                        errors[key] = ["Missing data for required field."]
        if errors:
            raise ValidationError(errors)


class DecisionSchema(Schema):
    """A Decision (§5.5)."""

    decision = fields.Boolean(required=True)
    context = fields.Dict(
        metadata={
            "description": "When false for a reason other than a plain deny: `reason` "
            "(the same reason POST /api/v1/check gives, e.g. `unknown user`)"
        }
    )


class EvaluationsResponseSchema(Schema):
    """The Access Evaluations response (§7.2): one decision per evaluation, in order,
    cut after the deciding one under a short-circuit semantic; a request without
    evaluations gets the single Decision instead."""

    evaluations = fields.List(fields.Nested(DecisionSchema))
    decision = fields.Boolean(metadata={"description": "Only for a request without evaluations"})
    context = fields.Dict(metadata={"description": "Only for a request without evaluations"})


class PageRequestSchema(_Lenient):
    """§8.2.1."""

    token = fields.String(
        load_default=None,
        validate=validate.Length(max=2000),
        metadata={"description": "The next_token of the previous page"},
    )
    limit = fields.Integer(
        load_default=DEFAULT_SEARCH_LIMIT,
        # 1.0 admits 0; a page of nothing with a token to the same place serves no
        # PEP, so the least is 1, refused with a 400 naming the field.
        validate=validate.Range(min=1, max=MAX_SEARCH_LIMIT),
        metadata={
            "description": f"Results per page (default {DEFAULT_SEARCH_LIMIT}, "
            f"at most {MAX_SEARCH_LIMIT})"
        },
    )
    properties = _properties()


def first_page() -> dict[str, Any]:
    return {"token": None, "limit": DEFAULT_SEARCH_LIMIT, "properties": None}


class SubjectSearchRequestSchema(_Lenient):
    """The Subject Search request (§8.4.1)."""

    subject = fields.Nested(SearchSubjectSchema, required=True)
    action = fields.Nested(ActionSchema, required=True)
    resource = fields.Nested(ResourceSchema, required=True)
    context = fields.Dict(load_default=None)
    page = fields.Nested(PageRequestSchema, load_default=first_page)


class ResourceSearchRequestSchema(_Lenient):
    """The Resource Search request (§8.5.1)."""

    subject = fields.Nested(SubjectSchema, required=True)
    action = fields.Nested(ActionSchema, required=True)
    resource = fields.Nested(SearchResourceSchema, required=True)
    context = fields.Dict(load_default=None)
    page = fields.Nested(PageRequestSchema, load_default=first_page)


class ActionSearchRequestSchema(_Lenient):
    """The Action Search request (§8.6.1): no action."""

    subject = fields.Nested(SubjectSchema, required=True)
    resource = fields.Nested(ResourceSchema, required=True)
    context = fields.Dict(load_default=None)
    page = fields.Nested(PageRequestSchema, load_default=first_page)


class PageResponseSchema(Schema):
    """§8.2.2."""

    next_token = fields.String(
        required=True, metadata={"description": "The token of the next page; empty at the end"}
    )
    count = fields.Integer(metadata={"description": "Results in this response"})
    properties = fields.Dict()


class EntitySchema(Schema):
    type = fields.String(required=True)
    id = fields.String(required=True)
    properties = fields.Dict()


class ActionResultSchema(Schema):
    name = fields.String(required=True)
    properties = fields.Dict()


class SearchResponseSchema(Schema):
    """The Search API response (§8.3)."""

    page = fields.Nested(PageResponseSchema)
    context = fields.Dict()
    results = fields.List(fields.Dict(), required=True)


class SubjectSearchResponseSchema(SearchResponseSchema):
    results = fields.List(fields.Nested(EntitySchema), required=True)


class ResourceSearchResponseSchema(SearchResponseSchema):
    results = fields.List(fields.Nested(EntitySchema), required=True)


class ActionSearchResponseSchema(SearchResponseSchema):
    results = fields.List(fields.Nested(ActionResultSchema), required=True)


class MetadataSchema(Schema):
    """Policy Decision Point metadata (§9.1)."""

    policy_decision_point = fields.String(required=True)
    access_evaluation_endpoint = fields.String(required=True)
    access_evaluations_endpoint = fields.String()
    search_subject_endpoint = fields.String()
    search_resource_endpoint = fields.String()
    search_action_endpoint = fields.String()


def area_and_level(action: dict[str, Any]) -> tuple[str, str, str | None]:
    """The area (a key or a ref), the level and the product an action names; raises a
    ValidationError naming the field when it names none."""
    properties = action.get("properties") or {}
    if "area" in properties or "level" in properties:
        area, level, product = (properties.get(k) for k in ("area", "level", "product"))
        errors: dict[str, list[str]] = {}
        for key, value, bound in (("area", area, AREA_LENGTH), ("level", level, LEVEL_LENGTH)):
            if not isinstance(value, str) or not 1 <= len(value) <= bound:
                errors[key] = [f"Must be a string of 1 to {bound} characters."]
        if product is not None and (
            not isinstance(product, str) or not 1 <= len(product) <= PRODUCT_LENGTH
        ):
            errors["product"] = [f"Must be a string of 1 to {PRODUCT_LENGTH} characters."]
        if errors:
            raise ValidationError({"properties": errors})
        return area, level, product
    area, colon, level = action["name"].partition(":")
    if not colon:
        level = GRANTED  # an on/off area's one level: AuthZEN's plain verbs ("can_read")
    if not area or not level:
        raise ValidationError(
            {"name": ["Must be '<area>:<level>' or '<area>' (or name them in properties)."]}
        )
    if len(area) > AREA_LENGTH or len(level) > LEVEL_LENGTH:
        raise ValidationError({"name": ["The area or the level is too long."]})
    return area, level, None
