"""Admin API: invitations, their tenant settings and template, and bulk invites."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from service.http.admin.invitations.schemas import (
    BulkQuerySchema,
    InvitationCreateSchema,
    InvitationDetailSchema,
    InvitationPageSchema,
    InvitationQuerySchema,
    InvitationSettingsSchema,
    TemplateSchema,
)
from service.http.admin.jobs.schemas import JobSubmittedSchema
from service.http.auth import requires
from service.http.context import caller, runtime, uow
from service.http.errors import HttpError
from service.http.smorest import Blueprint
from service.mail import template as templates
from service.services import bulk_invites, invitations, jobs
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "invitations", __name__, url_prefix="/api/v1/invitations", description="Invitations"
)

MAX_ERRORS_SHOWN = 1000


class PayloadTooLarge(HttpError):
    status = 413
    reason = "too_large"


class UnsupportedMediaType(HttpError):
    status = 415
    reason = "unsupported_media_type"


def _detail(invitation_id: str) -> dict[str, Any]:
    return invitations.invitation_detail(uow(), caller().tenant_id, invitation_id)


@blueprint.route("")
@blueprint.arguments(InvitationQuerySchema, location="query")
@blueprint.response(200, InvitationPageSchema)
@requires(TokenKind.ADMIN)
def list_invitations(query: dict[str, Any]) -> dict[str, Any]:
    """List invitations"""
    items, total = invitations.list_invitations(
        uow(),
        caller().tenant_id,
        page=query["page"],
        per_page=query["per_page"],
        status=query.get("status"),
        email=query.get("email"),
    )
    return {"items": items, "page": query["page"], "per_page": query["per_page"], "total": total}


@blueprint.route("", methods=["POST"])
@blueprint.arguments(InvitationCreateSchema)
@blueprint.response(201, InvitationDetailSchema)
@requires(TokenKind.ADMIN)
def create_invitation(body: dict[str, Any]) -> dict[str, Any]:
    """Invite one person

    Sends the email through a task; the invitation's status moves pending -> sent.
    """
    created = invitations.create_invitation(
        uow(),
        caller().tenant_id,
        actor=caller().actor,
        defaults=runtime().settings,
        user_id=body.get("user_id"),
        email=body.get("email"),
        name=body.get("name", ""),
        inviter_name=body.get("inviter"),
        scope_id=body.get("scope_id"),
        role=body.get("role"),
        product=body.get("product"),
    )
    # Read again: with tasks run in-process the invitation may have been sent already.
    return _detail(created.id)


@blueprint.route("/<invitation_id>")
@blueprint.response(200, InvitationDetailSchema)
@requires(TokenKind.ADMIN)
def get_invitation(invitation_id: str) -> dict[str, Any]:
    """Read an invitation and its email deliveries"""
    return _detail(invitation_id)


@blueprint.route("/<invitation_id>/resend", methods=["POST"])
@blueprint.response(202, InvitationDetailSchema)
@requires(TokenKind.ADMIN)
def resend_invitation(invitation_id: str) -> dict[str, Any]:
    """Send an invitation's email again"""
    invitations.resend(uow(), caller().tenant_id, invitation_id, caller().actor, runtime().settings)
    return _detail(invitation_id)


@blueprint.route("/<invitation_id>/revoke", methods=["POST"])
@blueprint.response(200, InvitationDetailSchema)
@requires(TokenKind.ADMIN)
def revoke_invitation(invitation_id: str) -> dict[str, Any]:
    """Revoke an invitation: its link stops working"""
    invitations.revoke(uow(), caller().tenant_id, invitation_id, caller().actor)
    return _detail(invitation_id)


@blueprint.route("/settings")
@blueprint.response(200, InvitationSettingsSchema)
@requires(TokenKind.ADMIN)
def get_settings() -> Any:
    """Read the invitation settings"""
    return invitations.tenant_settings(uow(), caller().tenant_id, runtime().settings)


@blueprint.route("/settings", methods=["PUT", "PATCH"])
@blueprint.arguments(InvitationSettingsSchema)
@blueprint.response(200, InvitationSettingsSchema)
@requires(TokenKind.ADMIN)
def put_settings(body: dict[str, Any]) -> Any:
    """Change the invitation settings

    Fields left out of the body are left as they are.
    """
    return invitations.update_tenant_settings(
        uow(), caller().tenant_id, body, caller().actor, runtime().settings
    )


def _template_body(template: templates.InvitationTemplate) -> dict[str, Any]:
    return {**template.parts(), "fields_allowed": list(templates.FIELDS)}


@blueprint.route("/template")
@blueprint.response(200, TemplateSchema)
@requires(TokenKind.ADMIN)
def get_template() -> dict[str, Any]:
    """Read the invitation email template"""
    return _template_body(invitations.get_template(uow(), caller().tenant_id))


@blueprint.route("/template", methods=["PUT"])
@blueprint.arguments(TemplateSchema)
@blueprint.response(200, TemplateSchema)
@requires(TokenKind.ADMIN)
def put_template(body: dict[str, Any]) -> dict[str, Any]:
    """Save the invitation email template

    A field outside `fields_allowed` is refused with 422.
    """
    template = templates.InvitationTemplate(body["subject"], body["text"], body["html"])
    saved = invitations.put_template(uow(), caller().tenant_id, template, caller().actor)
    return _template_body(saved)


def _bulk_rows() -> tuple[list[bulk_invites.InputRow], str]:
    settings = runtime().settings
    # A file of many rows is the one body allowed past the app-wide max_request_bytes.
    request.max_content_length = settings.bulk_invite_max_bytes
    if (request.content_length or 0) > settings.bulk_invite_max_bytes:
        raise PayloadTooLarge(f"The upload is larger than {settings.bulk_invite_max_bytes} bytes")
    mimetype = request.mimetype
    max_rows = settings.bulk_invite_max_rows
    if mimetype == "application/json":
        body = request.get_json()  # malformed or nested too deep: the app's 400
        if body is None:
            raise bulk_invites.BulkInputError("invalid_json", "The body holds no rows", "rows")
        rows = body.get("rows") if isinstance(body, dict) else body
        return bulk_invites.parse_json(rows, max_rows), "json"
    if mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise bulk_invites.BulkInputError(
                "missing_file", "Send the CSV as the form field `file`", "file"
            )
        content = upload.read(settings.bulk_invite_max_bytes + 1)
        return bulk_invites.parse_csv(content, max_rows), "csv"
    if mimetype in {"text/csv", "text/plain", "application/csv"}:
        return bulk_invites.parse_csv(request.get_data(cache=False), max_rows), "csv"
    raise UnsupportedMediaType(
        'Send JSON ({"rows": [...]}), text/csv, or multipart/form-data with a `file`'
    )


@blueprint.route("/bulk", methods=["POST"])
@blueprint.arguments(BulkQuerySchema, location="query")
@blueprint.response(202, JobSubmittedSchema)
@blueprint.doc(
    description=(
        'Invite many people at once. The body is JSON `{"rows": [{"email", "name", '
        '"scope_id"?, "role"?}]}`, a CSV (`text/csv`, or multipart form field `file`) whose '
        "header names `email,name[,scope_id][,role]`. A row naming a scope invites there "
        "with its role (the default role when it names none), checked as for one "
        "invitation; `scope` and `account` are read as older names of `scope_id`. Every "
        "bad row is reported with its line and reason (naming the column); the good rows "
        "go ahead unless `all_or_nothing=true`. Answers at once with the job; follow it at "
        "/api/v1/jobs/{id}."
    ),
    requestBody={
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        }
    },
)
@requires(TokenKind.ADMIN)
def bulk_invite(query: dict[str, Any]) -> Response | dict[str, Any]:
    """Invite many people as a job"""
    rows, source = _bulk_rows()
    job = bulk_invites.submit(
        uow(),
        caller().tenant_id,
        rows,
        actor=caller().actor,
        source=source,
        all_or_nothing=query["all_or_nothing"],
    )
    body = jobs.submitted(uow(), caller().tenant_id, job.id, MAX_ERRORS_SHOWN)
    location = url_for("jobs.get_job", job_id=job.id)
    return body, 202, {"Location": location}  # type: ignore[return-value]
