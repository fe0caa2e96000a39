"""People: the tenant's invitations (listed by status, one person invited at a scope,
resent, revoked) and bulk invites (a CSV uploaded becomes a job, followed on its page,
service.http.console.pages.operations). No page shows an invitation's token: the
service never hands one out (service.services.invitations keeps only its hash)."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for

from service.domain.invitations import RESENDABLE, REVOCABLE
from service.http.admin.invitations.schemas import (
    BulkQuerySchema,
    InvitationCreateSchema,
    InvitationQuerySchema,
)
from service.http.console.blueprint import (
    UPLOAD_LIMITS,
    FormErrors,
    actor,
    blueprint,
    parse_form,
    refused_into,
    render,
    tenant_id,
)
from service.http.console.pages.model import shown_beside
from service.http.context import runtime, uow
from service.persistence.invitation_models import INVITATION_STATUSES
from service.services import bulk_invites, invitations
from service.services.invitation_input import MAX_LENGTH

# The fields of the invite form; a refusal naming another (the API's `user_id`, which
# the console does not ask for) is shown above the form.
INVITE_FIELDS = ("email", "name", "inviter", "scope_id", "role", "product")
BULK_FIELDS = ("file", "all_or_nothing")
UPLOAD_LIMITS["console.submit_bulk_invite"] = lambda settings: settings.bulk_invite_max_bytes


# Invitations ------------------------------------------------------------------------


def _invitations_page(
    errors: FormErrors | None = None, typed: dict[str, Any] | None = None, status: int = 200
) -> tuple[str, int]:
    query, filter_errors = parse_form(InvitationQuerySchema(), request.args)
    if filter_errors:
        items, total, status = [], 0, 422
    else:
        items, total = invitations.list_invitations(
            uow(),
            tenant_id(),
            page=query["page"],
            per_page=query["per_page"],
            status=query.get("status"),
            email=query.get("email"),
        )
    return render(
        "invitations.html",
        status,
        items=items,
        total=total,
        page=query.get("page", 1),
        per_page=query.get("per_page", 1),
        filters={k: query[k] for k in ("status", "email") if query.get(k)},
        filter_errors=filter_errors,
        statuses=INVITATION_STATUSES,
        resendable={s.value for s in RESENDABLE},
        revocable={s.value for s in REVOCABLE},
        errors=errors or FormErrors(),
        typed=typed or {},
        max_length=MAX_LENGTH,
    )


@blueprint.route("/invitations", endpoint="invitations")
def invitations_list() -> tuple[str, int]:
    return _invitations_page()


@blueprint.route("/invitations", methods=["POST"])
def invite() -> Response | tuple[str, int]:
    """Invite one person by email, to a role at a scope when the form names them."""
    body, errors = parse_form(InvitationCreateSchema())
    if not errors:
        with refused_into(errors):
            created = invitations.create_invitation(
                uow(),
                tenant_id(),
                actor=actor(),
                defaults=runtime().settings,
                email=body["email"],
                name=body.get("name", ""),
                inviter_name=body.get("inviter"),
                scope_id=body.get("scope_id"),
                role=body.get("role"),
                product=body.get("product"),
            )
            flash(f"Invited {created.email}. The invitation is on its way.")
            return redirect(url_for("console.invitations"), code=303)
    typed = {name: request.form.get(name, "") for name in INVITE_FIELDS}
    return _invitations_page(shown_beside(errors, INVITE_FIELDS), typed, status=422)


@blueprint.route("/invitations/<invitation_id>/resend", methods=["POST"])
def resend_invitation(invitation_id: str) -> Response:
    sent = invitations.resend(uow(), tenant_id(), invitation_id, actor(), runtime().settings)
    flash(f"The invitation to {sent.email} is sent again, with a new link; the old one stops.")
    return redirect(url_for("console.invitations"), code=303)


@blueprint.route("/invitations/<invitation_id>/revoke", methods=["POST"])
def revoke_invitation(invitation_id: str) -> Response:
    revoked = invitations.revoke(uow(), tenant_id(), invitation_id, actor())
    flash(f"The invitation to {revoked.email} is revoked; its link no longer works.")
    return redirect(url_for("console.invitations"), code=303)


# Bulk invites -----------------------------------------------------------------------


def _bulk_page(errors: FormErrors | None = None, status: int = 200) -> tuple[str, int]:
    settings = runtime().settings
    return render(
        "bulk_invites.html",
        status,
        errors=errors or FormErrors(),
        header=bulk_invites.HEADER,
        max_rows=settings.bulk_invite_max_rows,
        max_megabytes=settings.bulk_invite_max_bytes / (1024 * 1024),
    )


@blueprint.route("/invitations/bulk", endpoint="bulk_invites")
def bulk_invites_form() -> tuple[str, int]:
    return _bulk_page()


@blueprint.route("/invitations/bulk", methods=["POST"])
def submit_bulk_invite() -> Response | tuple[str, int]:
    """A CSV upload becomes a job (as the API's bulk invite); its page shows the progress."""
    options, errors = parse_form(BulkQuerySchema())
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors.add("file", "Choose a CSV file to upload.")
    if not errors:
        settings = runtime().settings
        with refused_into(errors):
            # The body was bounded by UPLOAD_LIMITS; this bounds a part of it too.
            content = upload.read(settings.bulk_invite_max_bytes + 1)  # type: ignore[union-attr]
            rows = bulk_invites.parse_csv(content, settings.bulk_invite_max_rows)
            job = bulk_invites.submit(
                uow(),
                tenant_id(),
                rows,
                actor=actor(),
                source="csv",
                all_or_nothing=options["all_or_nothing"],
            )
            flash(f"{len(rows)} rows received from {upload.filename}.")  # type: ignore[union-attr]
            return redirect(url_for("console.job", job_id=job.id), code=303)
    return _bulk_page(shown_beside(errors, BULK_FIELDS), status=422)
