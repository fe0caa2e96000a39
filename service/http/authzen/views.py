"""The OpenID AuthZEN Authorization API 1.0 (final, January 2026) over rolecall's reads.

A thin translation, never a second decision: a subject is one of the tenant's users
(SCIM id, userName or externalId), an action names an area and a level
(`<area>:<level>`, the area as its key or its ref `<product>/<key>`), a resource is a
scope (its id). Decisions are POST /api/v1/check's: service.services.permission_reads
authenticates the read or admin token and reads the cached sets in one Redis round
trip, falls back to the database and fails closed. The searches over subjects and
resources are the questions service's who-can and where-can; the action search is the
levels the set resolves at the scope (EffectivePermissions.for_scope).

Errors follow 1.0 §10.1.2: a request that omits what the model requires, or is not
JSON, is 400 (not the 422 of the admin API); 401 and 403 as on the read API. A deny
is 200 with `"decision": false`, and an unknown user or scope is such a deny, with
the check's reason in `context.reason`. `context` in requests is accepted and not
used: rolecall's decisions do not depend on the environment.
"""

from __future__ import annotations

import json
import time
from typing import Any, NoReturn

from flask import Response, request
from werkzeug.exceptions import BadRequest, HTTPException

from service.domain import Conflict, EffectivePermissions, NotFound, ValidationFailed
from service.http.auth import Surface, admitting, authenticate, bearer_token, requires
from service.http.authzen import paging
from service.http.authzen.schemas import (
    SUBJECT_TYPE,
    ActionSearchRequestSchema,
    ActionSearchResponseSchema,
    DecisionSchema,
    EvaluationRequestSchema,
    EvaluationsRequestSchema,
    EvaluationsResponseSchema,
    MetadataSchema,
    ResourceSearchRequestSchema,
    ResourceSearchResponseSchema,
    SubjectSearchRequestSchema,
    SubjectSearchResponseSchema,
    area_and_level,
)
from service.http.context import caller, runtime, uow
from service.http.smorest import Blueprint
from service.services import permission_reads, questions
from service.services.permission_reads import PermissionCheck
from service.settings import Settings

blueprint = Blueprint(
    "authzen",
    __name__,
    url_prefix="",
    description="OpenID AuthZEN Authorization API 1.0: decisions and searches for policy "
    "enforcement points, over the same reads as /api/v1/check",
)

_READER = admitting(Surface.READ)
BAD_REQUEST = 400

EVALUATION_PATH = "/access/v1/evaluation"
EVALUATIONS_PATH = "/access/v1/evaluations"
SEARCH_SUBJECT_PATH = "/access/v1/search/subject"
SEARCH_RESOURCE_PATH = "/access/v1/search/resource"
SEARCH_ACTION_PATH = "/access/v1/search/action"
METADATA_PATH = "/.well-known/authzen-configuration"

# Made once: the evaluation views are as hot as /api/v1/check and parse as it does
# (a schema instance per request would cost a third of the request's own time).
_EVALUATION = EvaluationRequestSchema()
_EVALUATIONS = EvaluationsRequestSchema()
_ACTION_SEARCH = ActionSearchRequestSchema()
_SUBJECT_SEARCH = SubjectSearchRequestSchema()
_RESOURCE_SEARCH = ResourceSearchRequestSchema()
# A scope type that stands for every type in a resource search.
ANY_SCOPE_TYPE = "scope"

WRONG_SUBJECT_TYPE = f"rolecall's subjects are of type {SUBJECT_TYPE!r}"


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json"
    )


def _refuse(error: Exception) -> NoReturn:
    """Raise `error`, unless the caller may not read at all: then its 401 or 403, so a
    caller without a valid token learns nothing from validation."""
    authenticate(Surface.READ)
    raise error


def _parse(schema: Any) -> dict[str, Any]:
    """The JSON body loaded by `schema`, by the parser every view uses; bad input is
    the 400 1.0 asks for, with the fields named."""
    if request.content_length and not request.is_json:
        # §10.1: "Requests MUST include a Content-Type header with the value
        # application/json"; read as anything else, the body would look empty.
        _refuse(BadRequest("The body must be sent as Content-Type: application/json"))
    try:
        return Blueprint.ARGUMENTS_PARSER.parse(
            schema, request, location="json", error_status_code=BAD_REQUEST
        )
    except HTTPException as error:  # 400, or 413 for a body over the size limit
        messages = (getattr(error, "data", None) or {}).get("messages")
        if messages:
            lines = _flat(messages.get("json", messages))
            error.data["message"] = "Invalid request: " + "; ".join(lines)
        elif error.code == BAD_REQUEST:  # Flask's JSON reader refused the body
            error.description = "The body is not a JSON document (or is nested too deeply)"
        _refuse(error)


def _flat(messages: Any, path: str = "") -> list[str]:
    """marshmallow's nested messages as `field.path: message` lines."""
    if isinstance(messages, dict):
        return [
            line
            for key, inner in messages.items()
            for line in _flat(inner, f"{path}.{key}" if path else str(key))
        ]
    return [f"{path}: {message}" if path else str(message) for message in messages]


def _check(item: dict[str, Any]) -> PermissionCheck | None:
    """The check an evaluation asks for; None for a subject that is not a user."""
    if item["subject"]["type"] != SUBJECT_TYPE:
        return None
    area, level, product = area_and_level(item["action"])
    return PermissionCheck(
        user=item["subject"]["id"],
        area=area,
        level=level,
        scope=item["resource"]["id"],
        product=product,
    )


def _decisions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One Decision per evaluation, in order, from one read of the sets they need."""
    checks = [_check(item) for item in items]
    asked = [c for c in checks if c is not None]
    token = bearer_token()
    if asked:
        results = iter(permission_reads.check_many(runtime(), token, _READER, asked))
    else:  # nothing to read: the caller is still authenticated before any answer
        authenticate(Surface.READ)
        results = iter(())
    decisions = []
    for check in checks:
        if check is None:
            decisions.append({"decision": False, "context": {"reason": WRONG_SUBJECT_TYPE}})
            continue
        result = next(results)
        decision: dict[str, Any] = {"decision": result["allowed"]}
        if "reason" in result:
            decision["context"] = {"reason": result["reason"]}
        decisions.append(decision)
    return decisions


def _cut(decisions: list[dict[str, Any]], semantic: str) -> list[dict[str, Any]]:
    """§7.1.2.1: every decision (execute_all), or up to and including the first false
    (deny_on_first_deny) or the first true (permit_on_first_permit)."""
    stop_at = {"deny_on_first_deny": False, "permit_on_first_permit": True}.get(semantic)
    if stop_at is None:
        return decisions
    for index, decision in enumerate(decisions):
        if decision["decision"] is stop_at:
            return decisions[: index + 1]
    return decisions


def _document(request_schema: Any, response_schema: Any, description: str) -> Any:
    return blueprint.doc(
        description=description,
        requestBody={"required": True, "content": {"application/json": {"schema": request_schema}}},
        responses={
            "200": {
                "description": "The answer (a deny is a 200 too)",
                "content": {"application/json": {"schema": response_schema}},
            }
        },
    )


@blueprint.route(EVALUATION_PATH, methods=["POST"])
@_document(
    EvaluationRequestSchema,
    DecisionSchema,
    "AuthZEN 1.0 §6. Subject: {type: user, id: SCIM id, userName or externalId}. Action: "
    "{name: '<area>:<level>'} (the area by key or as <product>/<key>), or properties area, "
    "level and product. Resource: {type: 'scope' or a scope type, id: the scope's id}. "
    "The same decision as POST /api/v1/check; an unknown user or scope is false with "
    "context.reason. Read or admin token.",
)
def evaluation() -> Response:
    """AuthZEN Access Evaluation: may this user act at this level of an area here?"""
    bearer_token()  # no token at all: 401 before anything else
    body = _parse(_EVALUATION)
    [decision] = _decisions([body])
    return _json(decision)


@blueprint.route(EVALUATIONS_PATH, methods=["POST"])
@_document(
    EvaluationsRequestSchema,
    EvaluationsResponseSchema,
    "AuthZEN 1.0 §7. Top-level subject, action, resource and context are defaults for "
    "each item of `evaluations` (an item's own key wins); results come in the items' "
    "order. options.evaluations_semantic: execute_all (default), deny_on_first_deny or "
    "permit_on_first_permit (the answer stops after the deciding item). Without "
    "evaluations, the top level is one evaluation and the answer one Decision. At most "
    "500 evaluations, read in one round trip, as POST /api/v1/check.",
)
def evaluations() -> Response:
    """AuthZEN Access Evaluations: many decisions in one request, in order"""
    bearer_token()
    body = _parse(_EVALUATIONS)
    if not body["evaluations"]:
        [decision] = _decisions([body])
        return _json(decision)
    defaults = {k: body[k] for k in ("subject", "action", "resource", "context") if k in body}
    items = [{**defaults, **item} for item in body["evaluations"]]
    decisions = _cut(_decisions(items), body["options"]["evaluations_semantic"])
    return _json({"evaluations": decisions})


def _search_answer(
    results: list[dict[str, Any]],
    cursor: str | None,
    body: dict[str, Any],
    context: dict[str, Any] | None = None,
) -> Response:
    """A Search API response (§8.3): `page` first, then `context`, then `results`."""
    answer: dict[str, Any] = {
        "page": {"next_token": paging.next_token(cursor, body), "count": len(results)}
    }
    if context:
        answer["context"] = context
    answer["results"] = results
    return _json(answer)


def _nothing(body: dict[str, Any], reason: str) -> Response:
    """No result, and why: a search about something the tenant does not have (an unknown
    user, scope or area, a level the area lacks) finds nothing, as its evaluation is false."""
    return _search_answer([], None, body, {"reason": reason})


@blueprint.route(SEARCH_SUBJECT_PATH, methods=["POST"])
@_document(
    SubjectSearchRequestSchema,
    SubjectSearchResponseSchema,
    "AuthZEN 1.0 §8.4: who can. Every user who holds at least the action's level of its "
    "area at the scope (directly, inherited, through groups or the default role), in a "
    "stable order, page.limit at a time (default 100, at most 1000): the who-can "
    "question of the admin API. Each result is {type: user, id: SCIM id, properties: "
    "{userName, externalId, level}}. Never cut silently: a page that reaches the "
    "server's deadline says so in context.deadline_reached and carries next_token; "
    "follow next_token until it is empty. subject.id is ignored. Read or admin token.",
)
@requires(Surface.READ)
def search_subject() -> Response:
    """AuthZEN Subject Search: who may act at this level of an area here?"""
    body = _parse(_SUBJECT_SEARCH)
    cursor = paging.cursor_of(body["page"]["token"], body)
    if body["subject"]["type"] != SUBJECT_TYPE:
        return _nothing(body, WRONG_SUBJECT_TYPE)
    area, level, product = area_and_level(body["action"])
    try:
        page = questions.who_can(
            uow(),
            caller().tenant_id,
            body["resource"]["id"],
            area,
            level,
            product=product,
            cursor=cursor,
            limit=body["page"]["limit"],
            deadline_s=runtime().settings.questions_deadline_s(),
        )
    except (NotFound, ValidationFailed, Conflict) as error:  # an ambiguous area: Conflict
        return _nothing(body, error.message)
    results = []
    for entry in page.entries:
        properties = {"userName": entry.user_name, "level": entry.level}
        if entry.external_id:
            properties["externalId"] = entry.external_id
        results.append({"type": SUBJECT_TYPE, "id": entry.user_id, "properties": properties})
    context = {"deadline_reached": True} if page.deadline_reached else None
    return _search_answer(results, page.next_cursor, body, context)


@blueprint.route(SEARCH_RESOURCE_PATH, methods=["POST"])
@_document(
    ResourceSearchRequestSchema,
    ResourceSearchResponseSchema,
    "AuthZEN 1.0 §8.5: where can. Every scope where the user holds at least the action's "
    "level of its area, each scope listed (a grant inherited below is expanded), in the "
    "order of their paths, page.limit at a time (default 100, at most 1000): the "
    "where-can question of the admin API. resource.type `scope` lists scopes of every "
    "type; a scope type's name lists that type only. Each result is {type: the scope's "
    "type, id: its id, properties: {name, level}}. A page that reaches the server's "
    "deadline says so in context.deadline_reached and carries next_token; follow "
    "next_token until it is empty. resource.id is ignored. Read or admin token.",
)
@requires(Surface.READ)
def search_resource() -> Response:
    """AuthZEN Resource Search: at which scopes may this user act at this level?"""
    body = _parse(_RESOURCE_SEARCH)
    cursor = paging.cursor_of(body["page"]["token"], body)
    if body["subject"]["type"] != SUBJECT_TYPE:
        return _nothing(body, WRONG_SUBJECT_TYPE)
    area, level, product = area_and_level(body["action"])
    try:
        entries, next_cursor, deadline_reached = _where_of_type(
            body["subject"]["id"],
            area,
            level,
            product,
            body["resource"]["type"],
            cursor,
            body["page"]["limit"],
        )
    except (NotFound, ValidationFailed, Conflict) as error:  # an ambiguous area: Conflict
        return _nothing(body, error.message)
    results = [
        {
            "type": entry.scope_type,
            "id": entry.scope_id,
            "properties": {"name": entry.scope_name, "level": entry.level},
        }
        for entry in entries
    ]
    context = {"deadline_reached": True} if deadline_reached else None
    return _search_answer(results, next_cursor, body, context)


def _where_of_type(
    user: str,
    area: str,
    level: str,
    product: str | None,
    scope_type: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[questions.WhereCanEntry], str | None, bool]:
    """Up to `limit` where-can entries of `scope_type` (every type for `scope`), the
    cursor after them and whether the deadline cut the page short.

    where-can pages over scopes of every type; each page asked for holds at most what
    is still missing, so a page is always used whole and its cursor is exact."""
    deadline = time.monotonic() + runtime().settings.questions_deadline_s()
    found: list[questions.WhereCanEntry] = []
    while True:
        page = questions.where_can(
            uow(),
            caller().tenant_id,
            user,
            area,
            level,
            product=product,
            expand=True,
            cursor=cursor,
            limit=limit - len(found),
        )
        found.extend(e for e in page.entries if scope_type in (ANY_SCOPE_TYPE, e.scope_type))
        cursor = page.next_cursor
        if cursor is None or len(found) >= limit:
            return found, cursor, False
        if time.monotonic() > deadline:
            return found, cursor, True


@blueprint.route(SEARCH_ACTION_PATH, methods=["POST"])
@_document(
    ActionSearchRequestSchema,
    ActionSearchResponseSchema,
    "AuthZEN 1.0 §8.6. Every action (`<area ref>:<level>`) the user may take at the "
    "scope: each area held there (inherited too) at its level and every level below "
    "it, as the read API resolves them. An unknown user or scope has none. One page "
    "of page.limit results (default 100), continued with page.token.",
)
@requires(Surface.READ)
def search_action() -> Response:
    """AuthZEN Action Search: what may this user do at this scope?"""
    token = bearer_token()
    body = _parse(_ACTION_SEARCH)
    cursor = paging.cursor_of(body["page"]["token"], body)
    subject, scope_id = body["subject"], body["resource"]["id"]
    actions: list[dict[str, Any]] = []
    if subject["type"] == SUBJECT_TYPE:
        found = permission_reads.read_sets(runtime(), token, _READER, [subject["id"]], [scope_id])
        chain = found.ancestors[scope_id]
        if found.bodies[0] is not None and chain is not None:
            held = EffectivePermissions.from_dict(permission_reads.as_dict(found.bodies[0]))
            for area, level in held.for_scope(scope_id, chain).items():
                levels = held.levels[area]
                actions.extend(
                    {"name": f"{area}:{lower}"} for lower in levels[: levels.index(level) + 1]
                )
    start = int(cursor) if cursor and cursor.isdigit() else 0
    end = start + body["page"]["limit"]
    return _search_answer(actions[start:end], str(end) if end < len(actions) else None, body)


def _base_url(settings: Settings) -> str:
    """The PDP's identifier (§9.1.1): the configured public address when one is set
    (a proxy in front may change scheme and host), else the address this request
    reached, which is the one the PEP used (§9.2.3 asks for exactly that)."""
    default = Settings.__dataclass_fields__["public_base_url"].default
    if settings.public_base_url != default:
        return settings.public_base_url.rstrip("/")
    return request.host_url.rstrip("/")


@blueprint.route(METADATA_PATH)
@blueprint.doc(
    security=[],
    description="AuthZEN 1.0 §9. The endpoints, as absolute URLs: the configured public "
    "base URL (ROLECALL_PUBLIC_BASE_URL) when set, else the address the request reached. "
    "No token needed.",
    responses={
        "200": {
            "description": "The metadata document",
            "content": {"application/json": {"schema": MetadataSchema}},
        }
    },
)
def metadata() -> Response:
    """AuthZEN Policy Decision Point metadata"""
    base = _base_url(runtime().settings)
    response = _json(
        {
            "policy_decision_point": base,
            "access_evaluation_endpoint": base + EVALUATION_PATH,
            "access_evaluations_endpoint": base + EVALUATIONS_PATH,
            "search_subject_endpoint": base + SEARCH_SUBJECT_PATH,
            "search_resource_endpoint": base + SEARCH_RESOURCE_PATH,
            "search_action_endpoint": base + SEARCH_ACTION_PATH,
        }
    )
    # 1.0, "Metadata Caching": HTTP caching applies; it changes only with a deployment.
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
