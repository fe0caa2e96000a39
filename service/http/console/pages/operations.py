"""Operations: jobs (a bulk invite's progress bar, counts and row errors to download),
webhooks with each endpoint's health (its breaker, failures, how far behind the feed
it is; resumed or revoked here), and the audit log."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, request, url_for

from service.http.admin.audit.schemas import AuditQuerySchema
from service.http.admin.jobs.schemas import PageQuerySchema
from service.http.admin.paging import PAGE_SIZE, QuerySchema, page_field
from service.http.admin.webhooks.schemas import WebhookCreateSchema, WebhookQuerySchema
from service.http.console.blueprint import (
    FormErrors,
    actor,
    blueprint,
    parse_form,
    refused_into,
    render,
    tenant_id,
)
from service.http.context import runtime, uow
from service.services import audit, jobs, webhooks
from service.services.webhook_destinations import DestinationPolicy

# Row errors listed on a job's page; all of them are in the CSV download.
ROW_ERRORS_SHOWN = 100
AUDIT_FILTERS = ("action", "target_type", "target_id", "actor")


class PageSchema(QuerySchema):
    """The page of a console list whose filters are another schema's (PAGE_SIZE a page)."""

    page = page_field()


def _filtered(filters_schema: QuerySchema) -> tuple[dict[str, Any], int, FormErrors]:
    """A list's filters and page from the query string, and what was refused in them."""
    filters, errors = parse_form(filters_schema, request.args)
    paging, page_errors = parse_form(PageSchema(), request.args)
    for name, messages in page_errors.items():
        for message in messages:
            errors.add(name, message)
    return filters, paging.get("page", 1), errors


# Jobs -----------------------------------------------------------------------------


def handled(totals: dict[str, int]) -> int:
    """The rows of a job accounted for: refused on input, or invited, failed, skipped;
    a job is done when this reaches its rows."""
    return totals["invalid"] + totals["sent"] + totals["failed"] + totals["skipped"]


@blueprint.route("/jobs", endpoint="jobs")
def jobs_list() -> tuple[str, int]:
    query, errors = parse_form(PageQuerySchema(), request.args)
    items, total = ([], 0)
    if not errors:
        items, total = jobs.list_jobs(
            uow(), tenant_id(), page=query["page"], per_page=query["per_page"]
        )
    return render(
        "jobs.html",
        422 if errors else 200,
        items=items,
        total=total,
        page=query.get("page", 1),
        per_page=query.get("per_page", 1),
        errors=errors,
        handled=handled,
    )


@blueprint.route("/jobs/<job_id>")
def job(job_id: str) -> tuple[str, int]:
    """A job's progress bar and counts; once it is done, its row errors. While it runs
    the progress block names the URL console.js re-reads it from."""
    detail = jobs.progress(uow(), tenant_id(), job_id)
    done = detail["status"] == "completed"
    row_errors, error_count = (
        jobs.row_errors(uow(), tenant_id(), job_id, limit=ROW_ERRORS_SHOWN) if done else ([], 0)
    )
    return render(
        "job.html",
        job=detail,
        done=done,
        handled=handled(detail["totals"]),
        row_errors=row_errors,
        error_count=error_count,
    )


@blueprint.route("/jobs/<job_id>/row-errors.csv")
def job_row_errors_download(job_id: str) -> Response:
    body = jobs.row_errors_csv(uow(), tenant_id(), job_id)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="job-{job_id}-row-errors.csv"'},
    )


# Webhooks -------------------------------------------------------------------------


def _webhooks_page(
    form_errors: FormErrors | None = None,
    typed: dict[str, str] | None = None,
    created: webhooks.CreatedWebhook | None = None,
    status: int = 200,
) -> tuple[str, int]:
    filters, page, errors = _filtered(WebhookQuerySchema())
    views, total = ([], 0)
    if not errors:
        views, total = webhooks.list_webhooks(
            uow(), tenant_id(), page=page, per_page=PAGE_SIZE, **filters
        )
    return render(
        "webhooks.html",
        422 if errors else status,
        items=[webhooks.describe(view.webhook, view.held_deliveries) for view in views],
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        filters={name: str(value).lower() for name, value in filters.items()},
        errors=errors,
        create_errors=form_errors or FormErrors(),
        typed=typed or {},
        created=created,
        signature_header=webhooks.SIGNATURE_HEADER,
    )


@blueprint.route("/webhooks", endpoint="webhooks")
def webhooks_list() -> tuple[str, int]:
    return _webhooks_page()


@blueprint.route("/webhooks", methods=["POST"])
def create_webhook() -> tuple[str, int]:
    """Register an endpoint; its signing secret is shown in this response only."""
    body, errors = parse_form(WebhookCreateSchema())
    if not errors:
        settings = runtime().settings
        with refused_into(errors):
            created = webhooks.create_webhook(
                uow(),
                tenant_id(),
                body["url"],
                body["description"],
                actor(),
                settings.secret_key,
                DestinationPolicy.from_settings(settings),
            )
            return _webhooks_page(created=created, status=201)
    typed = {name: request.form.get(name, "") for name in ("url", "description")}
    return _webhooks_page(errors, typed, status=422)


@blueprint.route("/webhooks/<webhook_id>/resume", methods=["POST"])
def resume_webhook(webhook_id: str) -> Response:
    resumed = webhooks.resume_webhook(uow(), tenant_id(), webhook_id, actor())
    flash(
        f"{resumed.webhook.url} is resumed: it is sent the {resumed.held_deliveries} "
        "change(s) it missed, in order."
    )
    return redirect(url_for("console.webhooks"), code=303)


@blueprint.route("/webhooks/<webhook_id>/revoke", methods=["POST"])
def revoke_webhook(webhook_id: str) -> Response:
    webhooks.revoke_webhook(uow(), tenant_id(), webhook_id, actor())
    flash("The webhook is revoked: it is sent nothing more.")
    return redirect(url_for("console.webhooks"), code=303)


# Audit log ------------------------------------------------------------------------


def _as_text(values: dict[str, Any] | None) -> str:
    return "" if values is None else json.dumps(values, indent=2, sort_keys=True, default=str)


@blueprint.route("/audit")
def audit_log() -> tuple[str, int]:
    filters, page, errors = _filtered(AuditQuerySchema())
    events, total = ([], 0)
    if not errors:
        events, total = audit.list_events(
            uow(), tenant_id(), page=page, per_page=PAGE_SIZE, **filters
        )
    return render(
        "audit_log.html",
        422 if errors else 200,
        events=[
            {"event": event, "before": _as_text(event.before), "after": _as_text(event.after)}
            for event in events
        ],
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        filters={name: filters[name] for name in AUDIT_FILTERS if filters.get(name)},
        errors=errors,
    )
