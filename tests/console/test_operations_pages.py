"""Operations pages: jobs (the progress bar and counts, the row errors and their CSV),
webhooks with each endpoint's health (resumed and revoked here), and the audit log,
through the signed-in test client. Another tenant's jobs, webhooks and events are never
shown; their ids are not found; every POST needs the CSRF token."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from service.persistence.base import utcnow
from service.persistence.webhook_models import Webhook
from service.runtime import Runtime
from service.services import webhooks
from service.services.webhook_destinations import DestinationPolicy
from tests.conftest import TenantKeys
from tests.console.conftest import Console

BULK_CSV = (
    "email,name\n"
    "ada@example.com,Ada\n"
    "not-an-email,Nobody\n"
    "=HYPERLINK(1)@example.com,=cmd|calc\n"
    "ada@example.com,Ada again\n"
)


def submit_csv(client: FlaskClient, keys: TenantKeys, body: str = BULK_CSV) -> dict[str, Any]:
    response = client.post(
        "/api/v1/invitations/bulk",
        data=body.encode(),
        content_type="text/csv",
        headers=keys.auth("admin"),
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# Jobs -------------------------------------------------------------------------------


def test_the_jobs_page_lists_the_tenants_jobs_with_their_progress(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    job = submit_csv(client, tenant)
    page = console.get("/console/jobs").get_data(as_text=True)
    assert f'<a href="/console/jobs/{job["id"]}">' in page
    row = text_of(page.split(f'data-job-id="{job["id"]}"')[1].split("</tr>")[0])
    assert "bulk invite (csv) completed" in row and "4 of 4" in row
    assert '<progress value="4" max="4"' in page


def test_a_jobs_page_shows_its_counts_and_its_row_errors(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    job = submit_csv(client, tenant)
    page = console.get(f"/console/jobs/{job['id']}").get_data(as_text=True)
    assert '<progress id="job-bar" value="4" max="4">100 %</progress>' in page
    counts = text_of(page.split('id="job-counts"')[1].split("</dl>")[0])
    assert "Rows 4 Invited (sent) 1 Skipped (invited already) 0 Refused on input 3" in counts
    errors = text_of(page.split('id="row-errors"')[1].split("</table>")[0])
    assert "3 not-an-email Nobody invalid" in errors
    assert "5 ada@example.com Ada again invalid duplicate of line 2 (ada@example.com)" in errors
    assert f'href="/console/jobs/{job["id"]}/row-errors.csv"' in page


def test_the_row_errors_download_as_csv_that_no_spreadsheet_runs(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    job = submit_csv(client, tenant)
    download = console.get(f"/console/jobs/{job['id']}/row-errors.csv")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="job-{job["id"]}-row-errors.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [(r["line"], r["email"], r["name"], r["status"]) for r in rows] == [
        ("3", "not-an-email", "Nobody", "invalid"),
        ("4", "'=HYPERLINK(1)@example.com", "'=cmd|calc", "invalid"),
        ("5", "ada@example.com", "Ada again", "invalid"),
    ]
    assert rows[2]["reason"] == "duplicate of line 2 (ada@example.com)"


def test_a_job_with_no_row_errors_says_so(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    job = submit_csv(client, tenant, "email,name\nada@example.com,Ada\n")
    page = console.get(f"/console/jobs/{job['id']}").get_data(as_text=True)
    assert "No row errors: every row was handled." in page
    assert 'id="row-errors"' not in page


@pytest.mark.parametrize("suffix", ["", "/row-errors.csv"])
def test_another_tenants_job_is_not_found(
    console: Console,
    client: FlaskClient,
    make_tenant: Callable[[str], TenantKeys],
    suffix: str,
) -> None:
    other = make_tenant("globex")
    theirs = submit_csv(client, other, "email,name\nbob@globex.example,Bob\nbad,Bad\n")
    refused = console.get(f"/console/jobs/{theirs['id']}{suffix}")
    assert refused.status_code == 404
    assert "globex" not in refused.get_data(as_text=True)
    assert theirs["id"] not in console.get("/console/jobs").get_data(as_text=True)
    assert console.get(f"/console/jobs/not-a-job{suffix}").status_code == 404


# Webhooks ---------------------------------------------------------------------------


def make_webhook(runtime: Runtime, keys: TenantKeys, url: str, **breaker: Any) -> str:
    created = webhooks.create_webhook(
        runtime.unit_of_work(),
        keys.id,
        url,
        "billing app",
        "test",
        runtime.settings.secret_key,
        DestinationPolicy.from_settings(runtime.settings),
    )
    if breaker:  # as the breaker leaves an endpoint that kept failing
        with runtime.unit_of_work() as uow:
            uow.session.execute(
                update(Webhook).where(Webhook.id == created.webhook.id).values(**breaker)
            )
    return created.webhook.id


def webhook_row(page: str, webhook_id: str) -> str:
    return text_of(page.split(f'data-webhook-id="{webhook_id}"')[1].split("</tr>")[0])


def test_the_webhooks_page_shows_each_endpoints_health(
    console: Console, runtime: Runtime, tenant: TenantKeys
) -> None:
    healthy = make_webhook(runtime, tenant, "http://127.0.0.1:9/healthy")
    failed_at = utcnow() - timedelta(minutes=5)
    paused = make_webhook(
        runtime,
        tenant,
        "http://127.0.0.1:9/dead",
        consecutive_failures=5,
        paused_at=utcnow(),
        last_error="HTTP 503",
        last_failure_at=failed_at,
    )
    page = console.get("/console/webhooks").get_data(as_text=True)
    assert "http://127.0.0.1:9/healthy billing app" in webhook_row(page, healthy)
    assert "active 0" in webhook_row(page, healthy)
    dead = webhook_row(page, paused)
    assert "paused paused" in dead and " 5 " in dead
    assert f"{failed_at.strftime('%Y-%m-%d %H:%M:%S')} UTC HTTP 503" in dead
    assert "0 changes cursor 0" in dead
    assert 'aria-label="Resume http://127.0.0.1:9/dead"' in page
    assert 'aria-label="Resume http://127.0.0.1:9/healthy"' not in page

    only_paused = console.get("/console/webhooks?paused=true").get_data(as_text=True)
    assert paused in only_paused and healthy not in only_paused


def test_a_paused_webhook_is_resumed_and_a_webhook_revoked(
    console: Console, runtime: Runtime, tenant: TenantKeys, client: FlaskClient
) -> None:
    paused = make_webhook(
        runtime, tenant, "http://127.0.0.1:9/dead", consecutive_failures=5, paused_at=utcnow()
    )
    resumed = console.post(f"/console/webhooks/{paused}/resume")
    assert resumed.status_code == 303
    page = console.get("/console/webhooks").get_data(as_text=True)
    assert "http://127.0.0.1:9/dead is resumed" in page
    assert "active 0" in webhook_row(page, paused)

    assert console.post(f"/console/webhooks/{paused}/revoke").status_code == 303
    page = console.get("/console/webhooks").get_data(as_text=True)
    assert "The webhook is revoked" in page
    assert "revoked" in webhook_row(page, paused)
    assert f'action="/console/webhooks/{paused}/revoke"' not in page
    shown = client.get(f"/api/v1/webhooks/{paused}", headers=tenant.auth("admin")).get_json()
    assert shown["state"] == "revoked"


def test_a_refused_webhook_filter_names_the_field(console: Console) -> None:
    refused = console.get("/console/webhooks?paused=perhaps")
    assert refused.status_code == 422
    assert 'id="paused-error"' in refused.get_data(as_text=True)


@pytest.mark.parametrize("action", ["resume", "revoke"])
def test_another_tenants_webhook_is_not_shown_nor_touched(
    console: Console,
    runtime: Runtime,
    make_tenant: Callable[[str], TenantKeys],
    action: str,
) -> None:
    other = make_tenant("globex")
    theirs = make_webhook(runtime, other, "http://127.0.0.1:9/globex", paused_at=utcnow())
    assert "globex" not in console.get("/console/webhooks").get_data(as_text=True)
    assert console.post(f"/console/webhooks/{theirs}/{action}").status_code == 404
    view = webhooks.get_webhook(runtime.unit_of_work(), other.id, theirs)
    assert webhooks.state_of(view.webhook) == "paused"


@pytest.mark.parametrize("action", ["resume", "revoke"])
def test_a_webhook_action_without_the_csrf_token_is_refused(
    console: Console, runtime: Runtime, tenant: TenantKeys, action: str
) -> None:
    paused = make_webhook(runtime, tenant, "http://127.0.0.1:9/dead", paused_at=utcnow())
    assert console.client.post(f"/console/webhooks/{paused}/{action}").status_code == 403
    view = webhooks.get_webhook(runtime.unit_of_work(), tenant.id, paused)
    assert webhooks.state_of(view.webhook) == "paused"


# Audit log --------------------------------------------------------------------------


def audit_rows(page: str) -> list[str]:
    body = page.split('<table id="audit">')[1].split("</tbody>")[0].split("<tbody>")[1]
    return [text_of(row) for row in body.split("</tr>") if "<td>" in row]


def test_the_audit_log_is_newest_first_and_filters_by_action_prefix_target_and_actor(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    submit_csv(client, tenant, "email,name\nada@example.com,Ada\n")
    page = console.get("/console/audit").get_data(as_text=True)
    times = re.findall(r'<time datetime="([^"]+)">', page)
    assert len(times) == len(audit_rows(page)) > 5 and times == sorted(times, reverse=True)
    assert "token.create" in audit_rows(page)[-1]  # the tenant's first tokens, oldest last

    tokens = audit_rows(console.get("/console/audit?action=token.").get_data(as_text=True))
    assert len(tokens) == 4 and all("token.create" in row for row in tokens)

    jobs = audit_rows(console.get("/console/audit?target_type=job").get_data(as_text=True))
    assert len(jobs) == 1 and "invitation.bulk.submit job" in jobs[0]

    by_cli = console.get("/console/audit?actor=cli").get_data(as_text=True)
    assert all(" cli " in f" {row} " for row in audit_rows(by_cli))
    assert 'value="cli"' in by_cli


def test_the_audit_log_pages(console: Console, client: FlaskClient, tenant: TenantKeys) -> None:
    for i in range(60):
        client.post(
            "/api/v1/invitations",
            json={"email": f"p{i}@example.com"},
            headers=tenant.auth("admin"),
        )
    first = console.get("/console/audit?action=invitation.create").get_data(as_text=True)
    assert "60 events." in first and "Page 1 of 2" in first
    assert len(audit_rows(first)) == 50
    assert 'href="/console/audit?page=2&amp;action=invitation.create"' in first
    second = console.get("/console/audit?action=invitation.create&page=2")
    assert len(audit_rows(second.get_data(as_text=True))) == 10


def test_another_tenants_events_are_not_shown(
    console: Console, client: FlaskClient, make_tenant: Callable[[str], TenantKeys]
) -> None:
    other = make_tenant("globex")
    submit_csv(client, other, "email,name\nbob@globex.example,Bob\n")
    page = console.get("/console/audit").get_data(as_text=True)
    assert "globex" not in page
    assert audit_rows(console.get("/console/audit?target_type=job").get_data(as_text=True)) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [("actor=" + "x" * 200, "actor"), ("page=0", "page"), ("target_type=a%00b", "target_type")],
)
def test_a_refused_audit_filter_names_the_field(console: Console, query: str, field: str) -> None:
    refused = console.get(f"/console/audit?{query}")
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert f'id="{field}-error"' in body or f"{field}: " in body


def test_a_webhook_is_registered_and_its_secret_shown_once(
    console: Console, runtime: Runtime, tenant: TenantKeys
) -> None:
    created = console.post(
        "/console/webhooks", data={"url": "http://127.0.0.1:9/new", "description": "crm"}
    )
    assert created.status_code == 201
    body = created.get_data(as_text=True)
    assert "it is shown this once" in body
    secret = body.split('id="webhook-secret" class="secret" type="text" readonly value="')[1]
    secret = secret.split('"')[0]
    [view] = webhooks.list_webhooks(runtime.unit_of_work(), tenant.id)[0]
    assert view.webhook.url == "http://127.0.0.1:9/new"
    assert secret == webhooks.secret_for(runtime.settings.secret_key, view.webhook.id)
    assert secret not in console.get("/console/webhooks").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"url": "ftp://example.com/hook"}, "https"),
        ({"description": "no url"}, "Missing data for required field."),
        (
            {"url": "http://127.0.0.1:9/x", "description": "d" * 201},
            "Longer than maximum length 200.",
        ),
    ],
)
def test_a_refused_webhook_names_the_field(
    console: Console, runtime: Runtime, tenant: TenantKeys, form: dict[str, str], message: str
) -> None:
    refused = console.post("/console/webhooks", data=form)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    field = "description" if "description" in form and "url" in form else "url"
    assert f'id="{field}-error"' in body and message in body
    assert webhooks.list_webhooks(runtime.unit_of_work(), tenant.id)[1] == 0


def test_registering_a_webhook_needs_the_csrf_token(
    console: Console, runtime: Runtime, tenant: TenantKeys
) -> None:
    refused = console.client.post("/console/webhooks", data={"url": "http://127.0.0.1:9/x"})
    assert refused.status_code == 403
    assert webhooks.list_webhooks(runtime.unit_of_work(), tenant.id)[1] == 0
