"""What this server says about itself, and the places it departs from scim2-server.

scim2-server's `ScimService` and `ScimHandler` do the protocol; rolecall changes:

- PATCH answers 200 with the resource (scim2-server answers 204 unless attributes
  were asked for). The exception is a PATCH that only adds or removes group
  members without `attributes`/`excludedAttributes`: it answers 204 (RFC 7644
  §3.5.2 allows it), because returning the group would mean reading every member,
  which is exactly what that fast path exists to avoid.
- Such a member-only PATCH is applied in SQL row by row (`SqlStorage.change_members`)
  instead of reading the group, patching it in memory and writing back the list.
  When it skipped member ids that name nothing of the tenant, it answers 200 with
  the group as stored, so that the IdP sees what was applied.
- A PUT or PATCH that leaves a resource as stored still reaches the storage
  (`SqlStorage.unchanged`), so that a retried `active: false` deprovisions again
  (and the provisioning log records that nothing changed).
- Each operation of a bulk request is recorded in the provisioning log as its own
  row, a refused one included (`run_bulk_step`).
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Union, cast

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    BulkRequest,
    BulkResponse,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    ListResponse,
    Pagination,
    Patch,
    PatchOp,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimPolicy,
    ScimProvider,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_server.bulk import BulkPlan, BulkStep
from scim2_server.conditions import Conditions
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import ScimService
from scim2_server.storage import search_page

from service.scim import provisioning
from service.scim.render import Record, Renderer
from service.scim.storage import SqlStorage
from service.settings import Settings

MAX_OPERATIONS = 1000
MAX_RESULTS = 1000
DEFAULT_PAGE_SIZE = 100
CURSOR_TIMEOUT = 3600

_MEMBER_VALUE_FILTER = re.compile(r'^members\[\s*value\s+eq\s+"([^"\\]+)"\s*\]$', re.IGNORECASE)


# scim2-models' own tolerances for what IdPs send, behind service.scim.normalize:
# unknown attributes dropped (the normaliser logs the top-level ones first), a
# `remove` carrying a value list (Entra), and a replace through a value filter
# that matches nothing creates the entry (Entra's emails[type eq "work"].value).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def service_provider_config(max_payload_size: int) -> ServiceProviderConfig:
    """What this server supports; `max_payload_size` is the request body limit every
    surface enforces (settings.max_request_bytes), announced as bulk.maxPayloadSize."""
    return ServiceProviderConfig(
        documentation_uri="https://github.com/rolecall/rolecall#scim",
        patch=Patch(supported=True),
        bulk=Bulk(supported=True, max_operations=MAX_OPERATIONS, max_payload_size=max_payload_size),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=True),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        pagination=Pagination(
            cursor=True,
            index=True,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=DEFAULT_PAGE_SIZE,
            max_page_size=MAX_RESULTS,
            cursor_timeout=CURSOR_TIMEOUT,
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A rolecall API token of kind scim, sent as 'Authorization: Bearer'",
                primary=True,
            )
        ],
    )


def build_provider(max_payload_size: int = Settings.max_request_bytes) -> ScimProvider:
    user_type = ResourceType.from_resource(User[EnterpriseUser])
    group_type = ResourceType.from_resource(Group)
    return ScimProvider(
        models=[User, EnterpriseUser, Group],
        resource_types=[user_type, group_type],
        config=service_provider_config(max_payload_size),
        policy=POLICY,
    )


class RolecallScimService(ScimService):
    def __init__(self, provider: ScimProvider, *, secret: str | bytes | None = None) -> None:
        super().__init__(provider, secret=secret)
        # scim2-server parametrizes its generic messages on every request, and
        # pydantic caches the resulting classes only while something holds them:
        # without these references each request rebuilt a model (~4 ms).
        models = self.get_models()
        union: Any = Union[tuple(models)]  # noqa: UP007
        self._parametrized: list[type] = [
            ListResponse[union],
            BulkRequest[union],
            BulkResponse[union],
            *(PatchOp[model] for model in models),
            *(SearchRequest[model] for model in models),
            *(ResponseParameters[model] for model in models),
            SearchRequest[union],
        ]
        self.renderer = Renderer(self)

    def created_response(self, base_url: str, record: Record) -> ScimResponse:
        """201 to a create, with `Location` equal to `meta.location`."""
        headers = self.renderer.headers(base_url, record)
        headers["Location"] = headers["Content-Location"]
        return ScimResponse(HTTPStatus.CREATED, self.renderer.resource(base_url, record), headers)

    def patch_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        published = self.publish(base_url, resource)
        return self.resource_response(
            published, Context.RESOURCE_PATCH_RESPONSE, response_parameters
        )


def member_changes(patch_op: PatchOp[Any]) -> tuple[dict[str, str | None], list[str]] | None:
    """The members a PATCH adds (id -> display) and removes, when that is all it does."""
    add: dict[str, str | None] = {}
    remove: list[str] = []
    for operation in patch_op.operations or []:
        path = str(operation.path) if operation.path is not None else ""
        op = str(operation.op.value if hasattr(operation.op, "value") else operation.op).lower()
        if path.lower() == "members":
            values = _member_values(operation.value)
            if values is None:
                return None
            if op == "add":
                add.update(values)
            elif op == "remove" and values:
                remove.extend(values)
            else:
                return None
        elif op == "remove" and (match := _MEMBER_VALUE_FILTER.match(path)):
            remove.append(match.group(1))
        else:
            return None
    return add, remove


def _member_values(value: Any) -> dict[str, str | None] | None:
    if value is None:
        return {}
    items = value if isinstance(value, list) else [value]
    found: dict[str, str | None] = {}
    for item in items:
        if isinstance(item, dict):
            member, display = item.get("value"), item.get("display")
        else:
            member, display = getattr(item, "value", None), getattr(item, "display", None)
        if not isinstance(member, str) or not member:
            return None
        found[member] = display if isinstance(display, str) else None
    return found


class RolecallScimHandler(ScimHandler):
    """scim2-server's handler, with responses to creates, reads and searches built
    from the stored rows by service.scim.render when it covers the request (input is
    still validated by scim2-models; only the output skips the round trip)."""

    storage: SqlStorage
    service: RolecallScimService

    def create(self, request: ScimRequest) -> ScimResponse:
        with self.service.provider:
            target = self.service.route(request, Operation.create)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
            resource = self.service.read_creation(
                resource_type, request.body, request.header("Content-Type")
            )
            with self.storage.operation():
                record = self.storage.create_record(resource_type, resource)
            return self.service.created_response(request.base_url, record)

    def query(self, request: ScimRequest) -> ScimResponse:
        with self.service.provider:
            target = self.service.route(request, Operation.query)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
            response_parameters = self.service.read_response_parameters(
                resource_type, request.query
            )
            renderer = self.service.renderer
            if target.me or not renderer.supports(resource_type.name, response_parameters):
                return super().query(request)
            with self.storage.operation():
                record = self.storage.get_record(
                    resource_type,
                    cast(str, target.resource_id),
                    with_related=renderer.wants_related(resource_type.name, response_parameters),
                )
            headers = renderer.headers(request.base_url, record)
            if not self.service.read_conditions(request).check(headers["ETag"], "GET"):
                # RFC 9110 §15.4.5: a 304 carries the ETag a 200 would have
                return ScimResponse(HTTPStatus.NOT_MODIFIED, None, {"ETag": headers["ETag"]})
            excluded = renderer.excluded(resource_type.name, response_parameters)
            return ScimResponse(
                HTTPStatus.OK, renderer.resource(request.base_url, record, excluded), headers
            )

    def search(self, request: ScimRequest) -> ScimResponse:
        with self.service.provider:
            target = self.service.route(request, Operation.search)
            resource_types = self.service.searched_types(target.endpoint)
            authorized = self.service.authorized_types(request, target, resource_types)
            search_request, position = self.service.read_search_query(resource_types, request.query)
            return self._search(request, resource_types, authorized, search_request, position)

    def search_with_body(self, request: ScimRequest) -> ScimResponse:
        with self.service.provider:
            target = self.service.route(request, Operation.search_with_body)
            resource_types = self.service.searched_types(target.endpoint)
            authorized = self.service.authorized_types(request, target, resource_types)
            search_request, position = self.service.read_search_body(
                resource_types, request.body, request.header("Content-Type")
            )
            return self._search(request, resource_types, authorized, search_request, position)

    def _search(
        self,
        request: ScimRequest,
        resource_types: list[ResourceType],
        authorized: list[ResourceType],
        search_request: SearchRequest[Any],
        position: Any,
    ) -> ScimResponse:
        renderer = self.service.renderer
        if (
            len(authorized) == 1
            and search_request.cursor is None
            and search_request.count != 0
            and renderer.supports(authorized[0].name, search_request)
        ):
            name = authorized[0].name
            with self.storage.operation():
                total, records = self.storage.search_records(
                    authorized[0],
                    search_request,
                    with_related=renderer.wants_related(name, search_request),
                )
            body = renderer.list_response(
                request.base_url,
                total,
                search_request.start_index,
                records,
                renderer.excluded(name, search_request),
            )
            return ScimResponse(HTTPStatus.OK, body)
        with self.storage.operation():
            page = search_page(self.storage, authorized, search_request, position=position)
        return self.service.search_response(request.base_url, resource_types, page, search_request)

    # scim2-server does not call the storage when a PUT or PATCH leaves the resource
    # as stored. rolecall still tells the storage (`SqlStorage.unchanged`): an IdP that
    # retries `active: false` after a 503 finds the user already inactive, and its
    # retry must apply the deprovisioning again. Otherwise the library's own steps.

    def replace_resource(
        self,
        resource_type: ResourceType,
        current: Resource[Any],
        replacement: Resource[Any],
        conditions: Conditions,
    ) -> Resource[Any]:
        assert current.meta is not None
        version = current.meta.version
        replaced = self.service.apply_replacement(current, replacement, conditions)
        if replaced is None:
            self.storage.unchanged(resource_type, current)
            return current
        return self.storage.update(resource_type, replaced, expected_version=version)

    def patch_resource(
        self,
        resource_type: ResourceType,
        resource_id: str,
        patch_op: PatchOp[Any],
        conditions: Conditions,
    ) -> Resource[Any]:
        current = self.storage.get(resource_type, resource_id)
        assert current.meta is not None
        version = current.meta.version
        patched = self.service.apply_patch(current, patch_op, conditions)
        if patched is None:
            self.storage.unchanged(resource_type, current)
            return current
        return self.storage.update(resource_type, patched, expected_version=version)

    def run_bulk_step(
        self, request: ScimRequest, plan: BulkPlan, step: BulkStep
    ) -> tuple[dict[str, Any], Resource[Any] | None]:
        """One operation of a bulk request, which the provisioning log keeps as its own
        row (its operation, and its refusal when it failed)."""
        audit = self.storage.uow.audit
        request_source = audit.source
        if request_source is None:
            return super().run_bulk_step(request, plan, step)
        operation = plan.operation(step)
        audit.source, data = provisioning.bulk_operation_source(request_source, operation)
        try:
            result, resource = super().run_bulk_step(request, plan, step)
            refusal = provisioning.Refusal.of(result["response"]) if "response" in result else None
            if refusal is not None and refusal.is_rejection(str(operation.method)):
                provisioning.record_rejected(
                    self.storage.uow,
                    self.storage.tenant_id,
                    self.storage.actor,
                    audit.source,
                    (operation.path or "").lstrip("/"),
                    data,
                    refusal,
                )
        finally:
            audit.source = request_source
        return result, resource

    def bulk(self, request: ScimRequest) -> ScimResponse:
        self.storage.in_bulk = True
        try:
            return super().bulk(request)
        finally:
            self.storage.in_bulk = False

    def patch(self, request: ScimRequest) -> ScimResponse:
        with self.service.provider:
            target = self.service.route(request, Operation.patch)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
            response_parameters = self.service.read_response_parameters(
                resource_type, request.query
            )
            patch_op = self.service.read_patch(
                resource_type, request.body, request.header("Content-Type")
            )
            resource_id = cast(str, target.resource_id)
            conditions = self.service.read_conditions(request)
            changes = member_changes(patch_op) if resource_type.name == "Group" else None
            with self.storage.operation():
                if changes is None:
                    resource = self.patch_resource(resource_type, resource_id, patch_op, conditions)
                else:
                    version = self.storage.current_version(resource_type, resource_id)
                    conditions.check(version, "PATCH")
                    skipped = self.storage.change_members(resource_id, *changes)
                    # A push with unknown ids is answered with the group as stored, so
                    # the IdP sees which members were not applied.
                    if not (
                        skipped
                        or response_parameters.attributes
                        or response_parameters.excluded_attributes
                    ):
                        etag = self.storage.current_version(resource_type, resource_id)
                        return ScimResponse(HTTPStatus.NO_CONTENT, None, {"ETag": etag})
                    resource = self.storage.get(
                        resource_type, resource_id, response_parameters=response_parameters
                    )
            return self.service.patch_response(request.base_url, resource, response_parameters)
