"""The Flask side of /scim/v2: authenticate, normalise the body, run scim2-server's
handler over a tenant-scoped SQL storage inside one unit of work, and answer.

A view does no SCIM itself. The scim token decides the tenant; every storage
query is filtered by it, so another tenant's id is simply not found (404).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from flask_smorest import Api
from pydantic_core import from_json
from scim2_models import PatchOp, SCIMException, UniquenessException
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from sqlalchemy.exc import IntegrityError

from service.http.auth import requires
from service.http.context import caller, runtime
from service.persistence.repositories.audit import ScimSource
from service.scim import normalize, openapi, provisioning
from service.scim.protocol import RolecallScimHandler, RolecallScimService, build_provider
from service.scim.storage import scim_storage
from service.services.tokens import TokenKind

log = logging.getLogger("rolecall.scim")

BASE_PATH = "/scim/v2"
# How long an IdP told 503 waits before retrying (the relay applies a deferred
# effect within a second).
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_EXTENSION = "rolecall.scim"

blueprint = Blueprint("scim", __name__, url_prefix=BASE_PATH)


def _service() -> RolecallScimService:
    service = current_app.extensions.get(_EXTENSION)
    if service is None:
        settings = runtime().settings
        service = RolecallScimService(
            build_provider(max_payload_size=settings.max_request_bytes),
            secret=settings.secret_key,
        )
        current_app.extensions[_EXTENSION] = service
    return service


def init_app(app: Flask, api: Api | None = None) -> None:
    """Register /scim/v2, build the SCIM service once, and describe it in the OpenAPI document."""
    app.register_blueprint(blueprint)
    with app.app_context():
        _service()
    if api is not None:
        openapi.describe(api.spec, BASE_PATH)


def _models(service: RolecallScimService) -> dict[str, Any]:
    return {rt.name: service.get_model(rt) for rt in service.provider.resource_types}


def _parsed_body(body: bytes) -> Any:
    """The JSON of a write's body, None when it has none or it is not JSON."""
    if not body or request.method not in ("POST", "PUT", "PATCH"):
        return None
    try:
        # scim2-server's own parser, so that what it would refuse (JSON nested past its
        # depth limit included) reaches it unchanged and is answered 400 invalidSyntax.
        return from_json(body)
    except ValueError:
        return None


def _normalised_body(service: RolecallScimService, path: str, parsed: Any) -> bytes | None:
    """The body as scim2-server gets it, None to hand it the body as sent."""
    if parsed is None:
        return None
    models = _models(service)
    segments = [s for s in path.split("/") if s]
    endpoint = segments[0].lower() if segments else ""
    resource_type = {"users": "User", "groups": "Group"}.get(endpoint)
    if resource_type is None:
        if endpoint == "bulk":
            parsed = _normalised_bulk(parsed, models)
        return json.dumps(parsed).encode()
    model = models[resource_type]
    is_search = len(segments) == 2 and segments[1] == ".search"
    if request.method == "PATCH":
        parsed = normalize.patch_body(parsed, model, resource_type, PatchOp[model])  # type: ignore[valid-type]
    elif not is_search:
        parsed = normalize.resource_body(parsed, model, resource_type)
    return json.dumps(parsed).encode()


def _normalised_bulk(parsed: Any, models: dict[str, Any]) -> Any:
    if not isinstance(parsed, dict) or not isinstance(parsed.get("Operations"), list):
        return parsed
    for operation in parsed["Operations"]:
        if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
            continue
        endpoint = operation["path"].strip("/").split("/")[0].lower()
        resource_type = {"users": "User", "groups": "Group"}.get(endpoint)
        method = str(operation.get("method", "")).upper()
        if resource_type is None or "data" not in operation:
            continue
        model = models[resource_type]
        if method == "PATCH":
            operation["data"] = normalize.patch_body(
                operation["data"],
                model,
                resource_type,
                PatchOp[model],  # type: ignore[valid-type]
            )
        elif method in ("POST", "PUT"):
            operation["data"] = normalize.resource_body(operation["data"], model, resource_type)
    return parsed


def _to_flask(response: ScimResponse) -> Response:
    body = b"" if response.body is None else json.dumps(response.body).encode()
    flask_response = Response(body, status=int(response.status))
    for name, value in response.headers.items():
        flask_response.headers[name] = value
    if response.body is None:
        flask_response.headers.pop("Content-Type", None)
    return flask_response


def _base_url() -> str:
    return f"{runtime().settings.public_base_url}{BASE_PATH}"


def _answer(produce: Callable[[], ScimResponse], path: str) -> Response:
    """Run a SCIM operation and turn what it raised into the SCIM error it means."""
    try:
        scim_response = produce()
    except IntegrityError:
        # Two requests raced for one userName or externalId; the loser is told so.
        error: SCIMException = UniquenessException(
            detail="a unique attribute value is already taken"
        )
        _record_rejected(path, error)
        scim_response = _service().error_response(error)
    except SCIMException as error:
        log.info("scim %s %s: %s %s", request.method, request.path, error.status, error)
        _record_rejected(path, error)
        scim_response = _service().error_response(error)
    return _to_flask(scim_response)


def _source(path: str, parsed: Any) -> ScimSource:
    return provisioning.scim_source(request.method, path, request.headers.get("User-Agent"), parsed)


def _record_rejected(path: str, error: SCIMException) -> None:
    """A refused request of an authenticated IdP goes to the provisioning log, in a
    transaction of its own: the request's was rolled back with its work."""
    who = caller() if g.get("caller") else None
    refusal = provisioning.Refusal.of(error)
    if who is None or not refusal.is_rejection(request.method):
        return
    parsed = g.get("scim_body")
    provisioning.record_rejected(
        runtime().unit_of_work(),
        who.tenant_id,
        who.actor,
        g.get("scim_source") or _source(path, parsed),
        path,
        parsed,
        refusal,
    )


def _handle(service: RolecallScimService, path: str) -> ScimResponse:
    """Every request, creates included: scim2-server's handler over a tenant-scoped
    SQL storage, inside one unit of work (or, for a GET, a session that only reads)."""
    scim_request = ScimRequest(
        method=request.method,
        base_url=_base_url(),
        path=f"/{path}",
        query=request.args.to_dict(),
        headers=list(request.headers.items()),
        body=b"",
    )
    limit = service.max_body_size(scim_request)
    # One byte past the limit is enough for scim2-server to answer 413.
    raw = request.get_data() if limit is None else request.stream.read(limit + 1)
    parsed = g.scim_body = _parsed_body(raw)
    source = g.scim_source = _source(path, parsed)
    normalised = _normalised_body(service, path, parsed)
    scim_request.body = raw if normalised is None else normalised
    who = caller() if g.get("caller") else None

    with scim_storage(
        runtime().unit_of_work(),
        writes=request.method != "GET",
        tenant_id=who.tenant_id if who else "",
        actor=who.actor if who else "anonymous",
        models=_models(service),
        max_filter_terms=runtime().settings.scim_filter_max_terms,
        source=source,
    ) as storage:
        return RolecallScimHandler(service, storage).handle(scim_request)


def _serve(path: str) -> Response:
    service = _service()
    return _answer(lambda: _handle(service, path), path)


@blueprint.route("/ServiceProviderConfig", methods=METHODS)
def service_provider_config() -> Response:
    # RFC 7644 §4: the configuration is the same for every tenant, and an IdP
    # may read it before it has a token.
    return _serve("ServiceProviderConfig")


@blueprint.route("", defaults={"path": ""}, methods=METHODS)
@blueprint.route("/", defaults={"path": ""}, methods=METHODS)
@blueprint.route("/<path:path>", methods=METHODS)
@requires(TokenKind.SCIM)
def dispatch(path: str) -> Response:
    return _serve(path)
