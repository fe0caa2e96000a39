"""The `rolecall` command line: migrations, tenants, tokens and the dev server."""

from __future__ import annotations

import json
import shlex
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import click
from werkzeug.serving import WSGIRequestHandler

from service.domain.errors import DomainError
from service.observability import configure_logging
from service.persistence import schema
from service.persistence.models import Tenant
from service.persistence.unit_of_work import UnitOfWork
from service.runtime import Runtime
from service.services import console_sessions, relay, tokens
from service.settings import Settings, SettingsError
from service.wiring import build_runtime


def _runtime() -> Runtime:
    try:
        return build_runtime(Settings.from_env())
    except SettingsError as error:
        raise click.ClickException(str(error)) from error


class _DomainErrors(click.Group):
    """Turns domain errors into a one-line message and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DomainError as error:
            raise click.ClickException(error.message) from error
        except schema.SchemaBehind as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=_DomainErrors)
def main() -> None:
    """rolecall: SCIM provisioning and permissions."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to the code's schema."""
    runtime = _runtime()
    schema.upgrade(runtime.engine, revision)
    current, _ = schema.current_and_head(runtime.engine)
    click.echo(f"database at {', '.join(sorted(current))}")


@db.command("check")
def db_check() -> None:
    """Fail if the database is behind, or the models differ from the migrations."""
    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    schema.check_models_match(runtime.engine)
    click.echo("schema current; models match migrations")


@main.group()
def tenant() -> None:
    """Tenants."""


@tenant.command("create")
@click.argument("name")
def tenant_create(name: str) -> None:
    """Create a tenant."""
    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    created = tokens.create_tenant(runtime.unit_of_work(), name)
    click.echo(f"{created.id}\t{created.name}")


@tenant.command("list")
def tenant_list() -> None:
    """List tenants."""
    runtime = _runtime()
    for row in tokens.list_tenants(runtime.unit_of_work()):
        click.echo(f"{row.id}\t{row.name}")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant name or id")
@click.option("--kind", type=click.Choice([k.value for k in tokens.TokenKind]), required=True)
@click.option("--description", default="")
def token_create(tenant_ref: str, kind: str, description: str) -> None:
    """Create a token and print it once (the token alone on stdout)."""
    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    found = tokens.find_tenant(runtime.unit_of_work(), tenant_ref)
    issued = tokens.issue_token(runtime.unit_of_work(), found.id, kind, description)
    click.echo(f"token id {issued.token.id} ({kind}); it is shown this once:", err=True)
    click.echo(issued.plaintext)


@token.command("list")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant name or id")
def token_list(tenant_ref: str) -> None:
    """List a tenant's tokens (never the tokens themselves)."""
    runtime = _runtime()
    found = tokens.find_tenant(runtime.unit_of_work(), tenant_ref)
    for row in tokens.list_tokens(runtime.unit_of_work(), found.id):
        state = (
            "revoked"
            if row.revoked_at
            else (f"expires {row.expires_at}" if row.expires_at else "active")
        )
        click.echo(f"{row.id}\t{row.kind}\t{row.prefix}…\t{state}")


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token at once."""
    tokens.revoke(_runtime().unit_of_work(), token_id)
    click.echo(f"revoked {token_id}")


@token.command("rotate")
@click.argument("token_id")
@click.option(
    "--overlap", default=3600, show_default=True, help="Seconds the old token keeps working"
)
def token_rotate(token_id: str, overlap: int) -> None:
    """Issue a replacement token; the old one works until the overlap ends."""
    issued = tokens.rotate(_runtime().unit_of_work(), token_id, timedelta(seconds=overlap))
    click.echo(f"new token id {issued.token.id}; old one expires in {overlap}s:", err=True)
    click.echo(issued.plaintext)


@main.group()
def catalog() -> None:
    """Preset catalogs of areas and roles."""


@catalog.command("list")
def catalog_list() -> None:
    """List the shipped catalogs."""
    from service.services import catalogs

    for item in catalogs.list_catalogs():
        click.echo(f"{item.key}\t{len(item.areas)} areas\t{len(item.roles)} roles\t{item.name}")


@catalog.command("load")
@click.argument("name")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant name or id")
@click.option("--overwrite", is_flag=True, help="Restore areas and roles the tenant edited")
@click.option(
    "--product", default=None, help="Product to load into (default: the catalog's own key)"
)
def catalog_load(name: str, tenant_ref: str, overwrite: bool, product: str | None) -> None:
    """Load a catalog into one product of a tenant; loading it again changes nothing."""
    from service.services import catalogs

    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    found = tokens.find_tenant(runtime.unit_of_work(), tenant_ref)
    plan = catalogs.load_catalog(
        runtime.unit_of_work(), found.id, name, overwrite=overwrite, product=product, actor="cli"
    )
    if not plan.changes_anything:
        click.echo(f"{name}: nothing changed (already loaded into product {plan.product})")
        return
    if plan.create_product is not None:
        click.echo(f"created product {plan.product}")
    click.echo(
        f"{name} (product {plan.product}): created {len(plan.create_areas)} areas and "
        f"{len(plan.create_roles)} roles, "
        f"updated {len(plan.update_areas)} areas and {len(plan.update_roles)} roles"
    )
    if plan.declare_scope_types:
        click.echo(f"declared scope types: {', '.join(plan.declare_scope_types)}")
    if plan.set_default_role:
        click.echo(f"default role: {plan.set_default_role}")
    kept = [*plan.kept_areas, *plan.kept_roles]
    if kept:
        click.echo(f"kept as edited (use --overwrite to restore): {', '.join(kept)}")


@main.command("invite")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant name or id")
@click.option("--all-or-nothing", is_flag=True, help="Invite no one if any row is invalid")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the job")
@click.option("--scope", "scope_id", help="Invite to this scope id (rows that name none)")
@click.option("--role", help="Grant this role key there (rows that name none; else the default)")
@click.argument("file", type=click.File("rb"))
def invite(
    tenant_ref: str,
    all_or_nothing: bool,
    wait: bool,
    scope_id: str | None,
    role: str | None,
    file: click.utils.LazyFile,
) -> None:
    """Invite everyone in a CSV file (header: email,name[,scope_id][,role]).

    Submits a bulk-invite job exactly as the API does, shows its progress, then a
    summary. With tasks run in-process (the embedded default) the job is done by
    the time it is submitted. --scope and --role fill in the scope_id and role of
    rows that leave them empty."""
    import time

    from service.runtime import set_runtime
    from service.services import bulk_invites, jobs

    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    set_runtime(runtime)  # in-process tasks must use this runtime's database
    rows = bulk_invites.parse_csv(file.read(), runtime.settings.bulk_invite_max_rows)
    bulk_invites.fill_in(rows, scope_id=scope_id, role=role)
    tenant_id = tokens.find_tenant(runtime.unit_of_work(), tenant_ref).id
    job_id = bulk_invites.submit(
        runtime.unit_of_work(),
        tenant_id,
        rows,
        actor="cli:invite",
        source="csv",
        all_or_nothing=all_or_nothing,
    ).id
    click.echo(f"job {job_id}: {len(rows)} rows", err=True)
    for row in rows:
        if row.problem:
            click.echo(f"  line {row.line}: {row.problem}", err=True)

    def read() -> dict[str, object]:
        return jobs.progress(runtime.unit_of_work(), tenant_id, job_id)

    state = read()
    totals: dict[str, int] = state["totals"]  # type: ignore[assignment]
    if runtime.settings.tasks_eager and state["status"] != "completed":
        # In-process tasks ran already; what is left has no worker to finish it.
        raise click.ClickException(
            f"job {job_id} stopped with {totals['queued'] + totals['processing']} rows to do; "
            "see the log above"
        )
    if wait:
        with click.progressbar(length=totals["valid"], label="Inviting", file=sys.stderr) as bar:
            shown = 0
            while True:
                totals = state["totals"]  # type: ignore[assignment]
                done = totals["sent"] + totals["failed"] + totals["skipped"]
                bar.update(done - shown)
                shown = done
                if state["status"] == "completed":
                    break
                time.sleep(0.5)
                state = read()
    click.echo(
        f"{state['status']}: {totals['sent']} sent, {totals['skipped']} skipped (already "
        f"invited), {totals['failed']} failed, {totals['invalid']} invalid, "
        f"{totals['queued'] + totals['processing']} still to do"
    )


@main.command("preview")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant name or id")
@click.option("--apply", "apply_it", is_flag=True, help="Apply the change as previewed")
@click.option("--confirm", is_flag=True, help="Confirm a change the revocation brake holds")
@click.option("--limit", default=50, show_default=True, help="Users to list")
@click.argument("file", type=click.File("rb"))
def preview(
    tenant_ref: str, apply_it: bool, confirm: bool, limit: int, file: click.utils.LazyFile
) -> None:
    """Preview a permission-moving change: FILE is {"kind": ..., "change": {...}}, as
    POST /api/v1/previews takes it. Prints the counts and the users gaining and losing
    access; --apply then applies exactly what was previewed."""
    from marshmallow import ValidationError

    from service.http.admin.previews.schemas import PreviewCreateSchema
    from service.services import previews

    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    try:
        loaded = PreviewCreateSchema().load(json.loads(file.read()))
    except (ValueError, ValidationError) as error:
        detail = error.messages if isinstance(error, ValidationError) else str(error)
        raise click.ClickException(f"{file.name}: {detail}") from error
    tenant_id = tokens.find_tenant(runtime.unit_of_work(), tenant_ref).id
    row = previews.create_preview(
        runtime.unit_of_work(), tenant_id, loaded["kind"], loaded["change"], "cli:preview"
    )
    counts = row.counts
    click.echo(
        f"preview {row.id} ({row.kind}, model version {row.model_version}): "
        f"{counts['users_considered']} users considered, {counts['users_gaining']} gaining, "
        f"{counts['users_losing']} losing; account conflicts "
        f"{counts['conflicts_appearing']} appearing, {counts['conflicts_resolving']} resolving"
    )
    names = previews.scope_names(runtime.unit_of_work(), tenant_id)
    table = previews.table(row.users[:limit], names)
    if table:
        width = max(len(user) for user, _, _ in table)
        click.echo(f"{'USER':<{width}}  {'CHANGE':<9}  WHAT")
        for user, direction, what in table:
            click.echo(f"{user:<{width}}  {direction:<9}  {what}")
    if len(row.users) > limit:
        click.echo(f"... and {len(row.users) - limit} more users (--limit)")
    if apply_it:
        previews.apply_preview(
            runtime.unit_of_work(), tenant_id, row.id, "cli:preview", confirm=confirm
        )
        click.echo(f"applied preview {row.id}")


def openapi_document() -> str:
    """The OpenAPI document as the code generates it (no database needed)."""
    from service.app import create_app

    settings = Settings(database_url="sqlite://", check_schema_at_start=False)
    app = create_app(settings)
    document = app.test_client().get("/api/openapi.json").get_json()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


OPENAPI_PATH = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


@main.group()
def feed() -> None:
    """The change feed."""


@feed.command("prune")
def feed_prune() -> None:
    """Forget changes older than ROLECALL_FEED_RETENTION_DAYS (beat does it hourly)."""
    from service.services import change_feed

    runtime = _runtime()
    removed = change_feed.prune_all(runtime.unit_of_work(), runtime.settings.feed_retention)
    click.echo(f"pruned {removed} changes")


@main.command()
@click.option("--check", is_flag=True, help="Fail if openapi/openapi.json is stale")
def openapi(check: bool) -> None:
    """Write the generated OpenAPI document to openapi/openapi.json."""
    document = openapi_document()
    if check:
        current = OPENAPI_PATH.read_text() if OPENAPI_PATH.exists() else ""
        if current != document:
            raise click.ClickException("openapi/openapi.json is stale: run `rolecall openapi`")
        click.echo("openapi/openapi.json is current")
        return
    OPENAPI_PATH.parent.mkdir(exist_ok=True)
    OPENAPI_PATH.write_text(document)
    click.echo(f"wrote {OPENAPI_PATH}")


@main.command()
@click.option("--tenant", "tenant_ref", required=True, help="Tenant name or id")
@click.option("--user", "user_ref", default=None, help="Only this user (id, userName, externalId)")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the job's progress")
def recompute(tenant_ref: str, user_ref: str | None, wait: bool) -> None:
    """Recompute cached permission sets of a tenant (or one user) as a job."""
    from service.services import recompute_jobs

    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    tenant_id = tokens.find_tenant(runtime.unit_of_work(), tenant_ref).id
    job_id = recompute_jobs.start(runtime.unit_of_work(), tenant_id, "cli", user_ref).id
    click.echo(f"recompute job {job_id}", err=True)
    state = recompute_jobs.describe(runtime.unit_of_work(), tenant_id, job_id)
    if wait:
        with click.progressbar(length=state["total_users"], label="users") as bar:
            shown = 0
            while True:
                state = recompute_jobs.describe(runtime.unit_of_work(), tenant_id, job_id)
                bar.update(state["done_users"] - shown)
                shown = state["done_users"]
                if state["status"] == "finished":
                    break
                time.sleep(0.5)
    click.echo(
        f"{state['status']}: {state['done_users']} of {state['total_users']} users recomputed "
        f"in {state['done_batches']} of {state['batches']} batches"
    )


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Rows as columns padded to their widest cell; the last column is left free."""
    widths = [max(len(r[i]) for r in (headers, *rows)) for i in range(len(headers) - 1)]
    for row in (headers, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())


@main.command("who-can")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant name or id")
@click.argument("scope_id", metavar="SCOPE")
@click.argument("area")
@click.argument("level")
@click.option("--product", default=None, help="The area's product (when AREA is a bare key)")
@click.option("--all", "everyone", is_flag=True, help="Follow the cursors to the last user")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--cursor", default=None, help="Go on from a previous page's cursor")
def who_can(
    tenant_ref: str,
    scope_id: str,
    area: str,
    level: str,
    product: str | None,
    everyone: bool,
    limit: int,
    cursor: str | None,
) -> None:
    """Every user who holds at least LEVEL of AREA at SCOPE, with the chains granting it."""
    from service.services import questions

    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    tenant_id = tokens.find_tenant(runtime.unit_of_work(), tenant_ref).id
    rows: list[tuple[str, ...]] = []
    while True:
        page = questions.who_can(
            runtime.unit_of_work(),
            tenant_id,
            scope_id,
            area,
            level,
            product=product,
            cursor=cursor,
            limit=limit,
            deadline_s=runtime.settings.questions_deadline_s(),
        )
        for e in page.entries:
            rows += [(e.user_name, e.level, e.described[0] if e.described else "")]
            rows += [("", "", more) for more in e.described[1:]]
        cursor = page.next_cursor
        if page.complete or not everyone:
            break
    _table(("USER", "LEVEL", "CHAIN"), rows)
    if cursor is not None:
        click.echo(f"more users follow: --cursor {cursor}", err=True)


@main.command("where-can")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant name or id")
@click.argument("user_ref", metavar="USER")
@click.argument("area")
@click.argument("level")
@click.option("--product", default=None, help="The area's product (when AREA is a bare key)")
@click.option("--expand", is_flag=True, help="Every single scope, not one line per subtree")
def where_can(
    tenant_ref: str, user_ref: str, area: str, level: str, product: str | None, expand: bool
) -> None:
    """Every scope where USER (id, userName or externalId) holds at least LEVEL of AREA."""
    from service.services import questions

    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    tenant_id = tokens.find_tenant(runtime.unit_of_work(), tenant_ref).id
    rows: list[tuple[str, ...]] = []
    cursor = None
    while True:
        page = questions.where_can(
            runtime.unit_of_work(),
            tenant_id,
            user_ref,
            area,
            level,
            product=product,
            expand=expand,
            cursor=cursor,
            limit=questions.MAX_LIMIT,
        )
        for e in page.entries:
            reach = "and below" if e.subtree else ""
            if e.except_below:
                reach += f" except {', '.join(e.except_below)}"
            rows.append((e.path, e.level, reach, e.described[0] if e.described else ""))
        cursor = page.next_cursor
        if page.complete:
            break
    _table(("SCOPE", "LEVEL", "SUBTREE", "CHAIN"), rows)


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's request handler without its own line per request: the app's
    rolecall.access logger writes one already. Its start-up and error lines stay."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


DEMO_TENANT = "demo"


def _demo_tenant(uow: UnitOfWork) -> Tenant | None:
    """The tenant `dev` made, or else the first one there is (None without any)."""
    existing = tokens.list_tenants(uow)
    named = [t for t in existing if t.name.lower() == DEMO_TENANT]
    return (named or existing or [None])[0]


def _echo_token_commands(tenant: Tenant) -> None:
    click.echo(
        "To call its API, make a token (in this directory, with the same ROLECALL_* settings):"
    )
    for kind in (tokens.TokenKind.ADMIN, tokens.TokenKind.SCIM, tokens.TokenKind.READ):
        click.echo(f"  {_token_create_command(tenant.name, kind.value)}")


def _sign_in_link(runtime: Runtime, tenant_id: str, base_url: str) -> str:
    """A fresh one-time link to the tenant's console."""
    code = console_sessions.issue_sign_in_link(
        runtime.unit_of_work(),
        tenant_id,
        console_sessions.SessionPolicy.of(runtime.settings),
        actor="cli",
    )
    return f"{base_url.rstrip('/')}/console/sign-in/{code}"


def _echo_sign_in_link(runtime: Runtime, tenant: Tenant, configured_base_url: str) -> None:
    """The link, and the command for a fresh one (naming the base URL when `dev` serves
    elsewhere than ROLECALL_PUBLIC_BASE_URL says)."""
    base_url = runtime.settings.public_base_url
    minutes = f"{runtime.settings.console_link_minutes:g}"
    command = ["rolecall", "console", "link", "--tenant", tenant.name]
    if base_url != configured_base_url:
        command += ["--base-url", base_url]
    click.echo(f"Console for {tenant.name!r} (a one-time sign-in link, for {minutes} minutes):")
    click.echo(f"  {_sign_in_link(runtime, tenant.id, base_url)}")
    click.echo(f"  (a fresh one: {shlex.join(command)})")


def _token_create_command(tenant_name: str, kind: str) -> str:
    return shlex.join(["rolecall", "token", "create", "--tenant", tenant_name, "--kind", kind])


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Migrate, make a demo tenant with a token of each kind if none exists, and serve."""
    from service.app import create_app

    configured = Settings.from_env()
    settings = configured.with_overrides(public_base_url=f"http://{host}:{port}")
    runtime = build_runtime(settings)
    schema.upgrade(runtime.engine)
    uow = runtime.unit_of_work()
    demo = _demo_tenant(uow)
    if demo is not None:
        click.echo(
            f"Tenant {demo.name!r} exists already; its tokens were shown once, when it was made."
        )
        _echo_sign_in_link(runtime, demo, configured.public_base_url)
        _echo_token_commands(demo)
    else:
        with uow:  # the tenant and its tokens in one transaction
            demo = tokens.create_tenant(uow, DEMO_TENANT)
            issued = [
                tokens.issue_token(uow, demo.id, kind.value, "rolecall dev")
                for kind in tokens.TokenKind
            ]
        click.echo(f"Created tenant {DEMO_TENANT!r}. Its tokens, shown this once:")
        for one in issued:
            click.echo(f"  {one.token.kind:<6} {one.plaintext}")
        _echo_sign_in_link(runtime, demo, configured.public_base_url)
    click.echo(f"SCIM base URL: {settings.public_base_url}/scim/v2")
    click.echo(f"API docs:      {settings.public_base_url}/api/docs")
    app = create_app(runtime=runtime)
    if settings.tasks_eager or not settings.sends_outbox_inline:
        # No beat or relay process here: this thread sweeps the outbox as they would.
        from worker.celery_app import SWEEP_INTERVAL_SECONDS

        interval = SWEEP_INTERVAL_SECONDS if settings.sends_outbox_inline else None
        threading.Thread(
            target=relay.run_forever, args=(runtime, threading.Event(), interval), daemon=True
        ).start()
    app.run(
        host=host, port=port, threaded=True, use_reloader=False, request_handler=_RequestHandler
    )


@main.group()
def console() -> None:
    """The admin console at /console."""


@console.command("link")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant name or id")
@click.option(
    "--base-url",
    default=None,
    help="Where the console is served  [default: ROLECALL_PUBLIC_BASE_URL]",
)
def console_link(tenant_ref: str, base_url: str | None) -> None:
    """Print a one-time sign-in link to a tenant's console (the link alone on stdout)."""
    runtime = _runtime()
    schema.ensure_current(runtime.engine)
    found = tokens.find_tenant(runtime.unit_of_work(), tenant_ref)
    minutes = f"{runtime.settings.console_link_minutes:g}"
    click.echo(
        f"one-time sign-in link to the console of {found.name!r}, for {minutes} minutes:",
        err=True,
    )
    click.echo(_sign_in_link(runtime, found.id, base_url or runtime.settings.public_base_url))


@main.command("relay")
def relay_process() -> None:
    """Send committed outbox rows to the broker as they appear, until stopped.

    Run one or more beside the web processes when ROLECALL_OUTBOX_RELAY is `process`
    (the default with a real broker); several share the work without sending a row twice.
    """
    runtime = _runtime()
    configure_logging(runtime.settings.log_level)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    click.echo(
        f"relaying the outbox every {runtime.settings.relay_interval_seconds}s when idle",
        err=True,
    )
    relay.run_forever(runtime, stop)


if __name__ == "__main__":
    sys.exit(main())
