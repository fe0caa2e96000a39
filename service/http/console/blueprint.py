"""The admin console's Blueprint: the session check, the CSRF check, the headers that
keep every request of a console page on rolecall's own origin, and the helpers pages
share (the caller, forms, errors).

Pages live in `service/http/console/pages/`, one module per part of the console,
templates in `templates/console/`, assets in `static/` (served by rolecall; nothing is
loaded from another origin, and the Content-Security-Policy says so to the browser).
A page is a plain Flask view: it parses its form, calls the service functions the API
calls, and renders a template; a change is a POST with the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException

from service.domain.errors import DomainError, ValidationFailed
from service.http.admin.paging import page_field
from service.http.context import runtime
from service.http.limits import nul_errors
from service.services import console_sessions
from service.services.console_sessions import ConsoleCaller, SessionPolicy
from service.settings import Settings

blueprint = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

SESSION_COOKIE = "rolecall_console"
# Before sign-in there is no session to hold a CSRF token: the sign-in forms carry a
# random value that must equal this cookie's (a double-submit), so another site cannot
# sign a browser in to a tenant of its choosing.
SIGN_IN_COOKIE = "rolecall_console_sign_in"
# Views that need no session: the sign-in pages and the assets.
OPEN_ENDPOINTS = frozenset(
    {"console.sign_in", "console.sign_in_with_link", "console.static", "console.not_found"}
)
# Every request a console page makes stays on this origin; no inline script or style.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


# Endpoints that take an upload larger than the app-wide body limit, and the setting
# that bounds it instead (set before the CSRF check reads the form, which reads the body).
UPLOAD_LIMITS: dict[str, Callable[[Settings], int]] = {}


@dataclass(frozen=True)
class NavLink:
    label: str
    endpoint: str


@dataclass(frozen=True)
class NavSection:
    title: str
    links: tuple[NavLink, ...] = field(default_factory=tuple)


# The console's menu, in the order an admin meets things. A link shows only once its
# page is registered, so a part of the console is added by adding its module.
NAV = (
    NavSection(
        "Provisioning",
        (
            NavLink("Connection", "console.connection"),
            NavLink("Provisioning log", "console.provisioning_log"),
        ),
    ),
    NavSection(
        "Model",
        (
            NavLink("Products", "console.products"),
            NavLink("Scopes", "console.scopes"),
            NavLink("Roles", "console.roles"),
            NavLink("Mappings", "console.mappings"),
            NavLink("Assignments", "console.assignments"),
            NavLink("Conflicts", "console.conflicts"),
        ),
    ),
    NavSection(
        "Questions",
        (
            NavLink("Explain", "console.explain"),
            NavLink("Who can", "console.who_can"),
        ),
    ),
    NavSection(
        "People",
        (
            NavLink("Invitations", "console.invitations"),
            NavLink("Bulk invites", "console.bulk_invites"),
        ),
    ),
    NavSection(
        "Operations",
        (
            NavLink("Jobs", "console.jobs"),
            NavLink("Webhooks", "console.webhooks"),
            NavLink("Audit log", "console.audit_log"),
        ),
    ),
)


def policy() -> SessionPolicy:
    return SessionPolicy.of(runtime().settings)


def console_caller() -> ConsoleCaller:
    """The signed-in admin of this request (set by the session check)."""
    return g.console


def actor() -> str:
    return console_caller().caller.actor


def tenant_id() -> str:
    return console_caller().tenant_id


def cookie_options() -> dict[str, Any]:
    """HttpOnly, SameSite=Strict, Secure in production, scoped to the console."""
    return {
        "httponly": True,
        "samesite": "Strict",
        "secure": runtime().settings.is_production,
        "path": "/console",
    }


@blueprint.before_request
def _require_session() -> Response | None:
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    signed_in = console_sessions.current(
        runtime().unit_of_work(), request.cookies.get(SESSION_COOKIE, ""), policy()
    )
    if signed_in is None:
        if request.method in {"GET", "HEAD"}:
            return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
        return error_page(401, "You are signed out. Sign in again to continue.")
    g.console = signed_in
    g.caller = signed_in.caller  # the access log names the tenant, as for the API
    upload_limit = UPLOAD_LIMITS.get(request.endpoint or "")
    if upload_limit is not None:
        request.max_content_length = upload_limit(runtime().settings)
    if request.method not in {"GET", "HEAD", "OPTIONS"} and not console_sessions.csrf_matches(
        signed_in, request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    ):
        return error_page(
            403, "This form has expired or did not come from this console. Reload and try again."
        )
    return None


@blueprint.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "console.static":
        # Pages may show a token once; none is kept by the browser or a proxy.
        response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.context_processor
def _console_context() -> dict[str, Any]:
    views = current_app.view_functions
    nav = [
        (section.title, [link for link in section.links if link.endpoint in views])
        for section in NAV
    ]
    signed_in = g.get("console")
    return {
        "nav": [(title, links) for title, links in nav if links],
        "csrf_token": signed_in.csrf_token if signed_in else None,
        "signed_in": signed_in,
    }


# The IdPs as their admins know them (service.metrics names them for label values).
IDP_LABELS = {
    "entra": "Entra ID",
    "okta": "Okta",
    "onelogin": "OneLogin",
    "google": "Google",
    "jumpcloud": "JumpCloud",
    "ping": "Ping Identity",
    "keycloak": "Keycloak",
    "other": "other",
}


@blueprint.app_template_filter("idp_label")
def idp_label(name: str | None) -> str:
    return IDP_LABELS.get(name or "", name or "—")


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"console/{template}", **context), status


def error_page(status: int, message: str) -> Response:
    body, _ = render("error.html", status=status, message=message)
    return Response(body, status=status, mimetype="text/html")


@blueprint.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    field_name = f" ({error.field})" if error.field else ""
    return error_page(error.status, f"{error.message}{field_name}")


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return error_page(error.code or 500, error.description or "That did not work.")


@blueprint.route("/<path:rest>")
def not_found(rest: str) -> Response:
    return error_page(404, "There is no such page in the console.")


class FormErrors(dict[str, list[str]]):
    """Messages by form field, rendered beside the field they name ("" for the form)."""

    def add(self, field_name: str | None, message: str) -> None:
        self.setdefault(field_name or "", []).append(message)


def parse_form(schema: Schema, data: Mapping[str, Any] | None = None) -> tuple[dict, FormErrors]:
    """The form loaded through a marshmallow schema (as the API's bodies are), and the
    messages of each field it refused."""
    errors = FormErrors()
    source = request.form if data is None else data
    # An empty field is a value not given (the schema's default applies), as in a query.
    given = {k: v for k, v in source.items() if v != "" and k != "csrf_token"}
    refused_nul = nul_errors(given)  # no column may hold NUL (service.http.limits)
    if refused_nul:
        for name, messages in _flatten(refused_nul).items():
            for message in messages:
                errors.add(name, message)
        return {}, errors
    try:
        return schema.load(given), errors
    except ValidationError as refused:
        for name, messages in _flatten(refused.messages).items():
            for message in messages:
                errors.add(name, message)
        return {}, errors


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, list):
        return {prefix: [str(m) for m in messages]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        out.update(_flatten(value, name))
    return out


@contextmanager
def refused_into(errors: FormErrors) -> Iterator[None]:
    """Run a use case; a rule it refuses lands in `errors` beside the field it names,
    so the form is shown again with what was typed and why it was refused."""
    try:
        yield
    except DomainError as error:
        errors.add(error.field, error.message)


class _PageQuery(Schema):
    page = page_field()


def page_number() -> int:
    """The page a list is asked for (?page=, 1 when absent). A value that is not a page
    number is refused with 422 naming `page`, as the API refuses it."""
    asked = request.args.get("page", "")
    try:
        return _PageQuery().load({"page": asked} if asked else {})["page"]
    except ValidationError as refused:
        messages = refused.messages.get("page", []) if isinstance(refused.messages, dict) else []
        raise ValidationFailed(
            "invalid_value", " ".join(map(str, messages)), field="page"
        ) from None
