"""The app factory: the one place where settings, runtime and HTTP layers meet."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from service import metrics
from service.http import auth, docs, health
from service.http.admin.areas.views import blueprint as areas_blueprint
from service.http.admin.assignments.views import blueprint as assignments_blueprint
from service.http.admin.audit.views import blueprint as audit_blueprint
from service.http.admin.catalogs.views import blueprint as catalogs_blueprint
from service.http.admin.conflicts.views import blueprint as conflicts_blueprint
from service.http.admin.heartbeats.views import blueprint as heartbeats_blueprint
from service.http.admin.invitations.views import blueprint as invitations_blueprint
from service.http.admin.jobs.views import blueprint as jobs_blueprint
from service.http.admin.mappings.views import blueprint as mappings_blueprint
from service.http.admin.permission_settings.views import blueprint as permission_settings_blueprint
from service.http.admin.previews.views import blueprint as previews_blueprint
from service.http.admin.products.views import blueprint as products_blueprint
from service.http.admin.provisioning_log.views import blueprint as provisioning_log_blueprint
from service.http.admin.questions.views import blueprint as questions_blueprint
from service.http.admin.recomputes.views import blueprint as recomputes_blueprint
from service.http.admin.roles.views import blueprint as roles_blueprint
from service.http.admin.scopes.views import blueprint as scopes_blueprint
from service.http.admin.scopes.views import types_blueprint as scope_types_blueprint
from service.http.admin.self_registration.views import (
    blueprint as self_registration_settings_blueprint,
)
from service.http.admin.tokens.views import blueprint as tokens_blueprint
from service.http.admin.user_types.views import blueprint as user_types_blueprint
from service.http.admin.users.views import blueprint as users_blueprint
from service.http.admin.webhooks.views import blueprint as webhooks_blueprint
from service.http.authzen.views import blueprint as authzen_blueprint
from service.http.console import blueprint as console_blueprint
from service.http.errors import register_error_handlers
from service.http.invitations_public.views import blueprint as invitations_public_blueprint
from service.http.limits import JSONProvider, PathSegmentConverter
from service.http.portal.views import blueprint as self_registrations_blueprint
from service.http.read.feed import blueprint as feed_blueprint
from service.http.read.views import blueprint as read_blueprint
from service.http.redaction import loggable_path
from service.http.smorest import Api
from service.observability import configure_logging, current_request_id, log_event, set_request_id
from service.persistence.schema import ensure_current
from service.runtime import Runtime, set_runtime
from service.scim import views as scim_views
from service.settings import Settings
from service.wiring import build_runtime

access_log = logging.getLogger("rolecall.access")

API_BLUEPRINTS = [
    tokens_blueprint,
    heartbeats_blueprint,
    scope_types_blueprint,
    scopes_blueprint,
    products_blueprint,
    areas_blueprint,
    roles_blueprint,
    mappings_blueprint,
    assignments_blueprint,
    previews_blueprint,
    conflicts_blueprint,
    catalogs_blueprint,
    permission_settings_blueprint,
    self_registration_settings_blueprint,
    users_blueprint,
    questions_blueprint,
    user_types_blueprint,
    read_blueprint,
    feed_blueprint,
    webhooks_blueprint,
    recomputes_blueprint,
    audit_blueprint,
    provisioning_log_blueprint,
    invitations_blueprint,
    jobs_blueprint,
    invitations_public_blueprint,
    self_registrations_blueprint,
    authzen_blueprint,
]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else Settings.from_env())
    configure_logging(settings.log_level)
    runtime = runtime or build_runtime(settings)
    if settings.check_schema_at_start:
        ensure_current(runtime.engine)
    set_runtime(runtime)

    app = Flask("rolecall")
    app.json = JSONProvider(app)
    # Before any route is added: every <id> on every surface is a segment without NUL.
    app.url_map.converters["default"] = app.url_map.converters["string"] = PathSegmentConverter
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        API_TITLE="rolecall",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=docs.ASSETS_URL,
        OPENAPI_SWAGGER_UI_CONFIG=docs.SWAGGER_UI_CONFIG,
        JSON_SORT_KEYS=False,
        # Flask's signed session cookie carries only the console's one-shot notices
        # ("token revoked"); who is signed in is the console's own cookie.
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="rolecall_console_notices",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.is_production,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["rolecall"] = runtime

    api = Api(app, spec_kwargs={"info": {"description": "rolecall admin and read APIs"}})
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "A rolecall API token"}
    )
    api.spec.options["security"] = [{"bearer": []}]
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(docs.blueprint)
    app.register_blueprint(console_blueprint)
    scim_views.init_app(app, api)
    register_error_handlers(app)
    _install_request_hooks(app)
    # After the hook that starts the request's clock: a refused request is logged too.
    app.before_request(auth.authenticate_before_parsing)
    return app


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        set_request_id(request.headers.get("X-Request-ID"))

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.started
        elapsed_ms = elapsed * 1000
        _count(response.status_code, elapsed)
        response.headers["X-Request-ID"] = current_request_id() or ""
        response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.3f}"
        if access_log.isEnabledFor(logging.INFO) and request.path not in _QUIET_PATHS:
            log_event(
                access_log,
                "request",
                method=request.method,
                path=loggable_path(),
                status=response.status_code,
                duration_ms=round(elapsed_ms, 3),
                tenant_id=getattr(g.get("caller"), "tenant_id", None),
            )
        return response


_QUIET_PATHS = frozenset({"/healthz", "/readyz"})


def _count(status: int, elapsed: float) -> None:
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    metrics.observe_request(request.method, endpoint, status, elapsed)
    if request.path.startswith("/scim/"):
        resource, operation = metrics.scim_operation(request.method, request.path)
        outcome = "success" if status < 400 else ("client_error" if status < 500 else "error")
        idp = metrics.idp_from_user_agent(request.headers.get("User-Agent"))
        metrics.scim_series(idp, resource, operation, outcome).inc()
