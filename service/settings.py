"""Settings: the only module that reads the environment.

Every backend is chosen here by one variable, with an embedded default that
needs no server (a SQLite file, an in-process fake Redis, tasks run in-process).
Setting the variables switches to PostgreSQL, a real Redis and a Celery broker
without a code change. Production refuses the embedded defaults at start.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from limits import parse_many

MEMORY_URL = "memory://"
EAGER_BROKER = "eager://"


_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class SettingsError(ValueError):
    """A setting is missing or inconsistent; the message names the variable."""


def _rate_limit(value: str) -> str:
    return "" if value.strip().lower() in {"off", "none"} else value.strip()


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = "sqlite:///rolecall.db"
    redis_url: str = MEMORY_URL
    redis_key_prefix: str = "rolecall:"
    broker_url: str = EAGER_BROKER
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    log_level: str = "INFO"
    public_base_url: str = "http://127.0.0.1:8000"
    database_pool_size: int = 5
    check_schema_at_start: bool = True
    worker_metrics_port: int | None = None
    # How long a task taken by a worker that died unacknowledged waits before the
    # Redis broker hands it to another worker (kombu's default is an hour).
    broker_visibility_timeout: int = 300
    # Who sends committed outbox rows to the broker: `inline` (the request that wrote
    # them, right after its commit) or `process` (`rolecall relay`, so that a write
    # request only writes). Empty: inline when tasks run in-process, else process.
    outbox_relay: str = ""
    # How long `rolecall relay` waits between looks at an empty outbox.
    relay_interval_seconds: float = 0.05
    # Invitation mail: `folder` (the embedded default: one .eml file per message),
    # `smtp` (smtplib) or `http` (an email API called with requests).
    mailer: str = "folder"
    mail_folder: str = "rolecall-mail"
    mail_from: str = "rolecall <no-reply@rolecall.invalid>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "none"
    smtp_timeout_seconds: float = 10.0
    mail_http_url: str | None = None
    mail_http_token: str | None = field(default=None, repr=False)
    invitation_ttl_hours: int = 168
    invitation_rate_per_minute: int = 600
    invitation_retry_base_seconds: float = 5.0
    invitation_max_attempts: int = 6
    invitation_send_lease_seconds: int = 300
    # The most rows one bulk invite (CSV or JSON) may hold; a larger file is refused whole.
    bulk_invite_max_rows: int = 100_000
    # The largest bulk invite upload: the one body allowed past max_request_bytes.
    bulk_invite_max_bytes: int = 20 * 1024 * 1024
    # The largest request body any surface accepts (413 beyond it); SCIM's
    # ServiceProviderConfig announces it as bulk.maxPayloadSize.
    max_request_bytes: int = 1_048_576
    # API requests per tenant and token kind (`limits` strings, "100/second" or several
    # joined by ";"; "off" for none), counted in a sliding window and answered 429 with
    # Retry-After beyond it. SCIM: 100/s sustained, four times the 25/s the OpenID IPSIE
    # SCIM profile asks a provider to sustain, over a ten-second window, so an IdP's
    # burst (a first sync, a group push) of up to 1,000 requests goes through at once.
    # Read: off. Read tokens are the tenant's own apps asking about cached sets, and a
    # limit costs that hot path a second Redis round trip per request (a Lua call, as
    # long as the read's own round trip), while off it costs nothing. Turn it on where a
    # tenant's apps must be held back.
    rate_limit_scim: str = "1000 per 10 seconds"
    rate_limit_admin: str = "500 per 10 seconds"
    rate_limit_read: str = ""
    # Portal: an End-User Portal's server registering people who sign themselves up;
    # each registration creates a user (and maybe an account), so a runaway or abused
    # portal is held to a pace people sign up at.
    rate_limit_portal: str = "100 per 10 seconds"
    # The most comparisons one SCIM filter may hold (400 invalidFilter beyond it). IdPs
    # look up one attribute at a time; 100 leaves room for scripted lookups.
    scim_filter_max_terms: int = 100
    # Webhooks: the networks a receiver may be in besides the public Internet (CIDRs,
    # for receivers inside the customer's network; None: loopback outside production,
    # none in production), the consecutive failures that pause an endpoint, and the
    # delay before its first retry (doubling with each further failure).
    webhook_allowed_networks: tuple[str, ...] | None = None
    webhook_breaker_threshold: int = 10
    webhook_retry_base_seconds: float = 2.0
    # The longest a who-can question works on one page before it answers with the users
    # confirmed so far, a cursor and deadline_reached (never a silent truncation); a
    # request's deadline_ms may ask for less, never more.
    questions_deadline_ms: int = 2000
    # How long the change feed keeps what it recorded; a reader further behind is
    # answered 410 and starts again from a snapshot.
    feed_retention_days: float = 7.0
    # The longest a feed request is held: a long poll (its `wait` is cut to this), and an
    # event stream (which then ends; its reader reconnects with Last-Event-ID).
    feed_max_wait_seconds: float = 25.0
    feed_stream_seconds: float = 300.0
    # The admin console: a session ends this long after sign-in, or after this long
    # without a request, whichever comes first; a one-time sign-in link (`rolecall dev`,
    # `rolecall console link`) works once, within its minutes.
    console_session_hours: float = 8.0
    console_idle_minutes: float = 60.0
    console_link_minutes: float = 15.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()

        def get(name: str, default: str) -> str:
            value = env.get(f"ROLECALL_{name}")
            return default if value is None or value == "" else value

        settings = cls(
            environment=get("ENV", defaults.environment),
            database_url=get("DATABASE_URL", defaults.database_url),
            redis_url=get("REDIS_URL", defaults.redis_url),
            redis_key_prefix=get("REDIS_KEY_PREFIX", defaults.redis_key_prefix),
            broker_url=get("BROKER_URL", defaults.broker_url),
            secret_key=get("SECRET_KEY", defaults.secret_key),
            log_level=get("LOG_LEVEL", defaults.log_level).upper(),
            public_base_url=get("PUBLIC_BASE_URL", defaults.public_base_url).rstrip("/"),
            database_pool_size=int(get("DATABASE_POOL_SIZE", str(defaults.database_pool_size))),
            check_schema_at_start=_bool(env.get("ROLECALL_CHECK_SCHEMA"), True),
            broker_visibility_timeout=int(
                get("BROKER_VISIBILITY_TIMEOUT", str(defaults.broker_visibility_timeout))
            ),
            outbox_relay=get("OUTBOX_RELAY", defaults.outbox_relay).lower(),
            relay_interval_seconds=float(
                get("RELAY_INTERVAL_SECONDS", str(defaults.relay_interval_seconds))
            ),
            worker_metrics_port=int(env["ROLECALL_WORKER_METRICS_PORT"])
            if env.get("ROLECALL_WORKER_METRICS_PORT")
            else None,
            mailer=get("MAILER", defaults.mailer).lower(),
            mail_folder=get("MAIL_FOLDER", defaults.mail_folder),
            mail_from=get("MAIL_FROM", defaults.mail_from),
            smtp_host=get("SMTP_HOST", defaults.smtp_host),
            smtp_port=int(get("SMTP_PORT", str(defaults.smtp_port))),
            smtp_username=env.get("ROLECALL_SMTP_USERNAME") or None,
            smtp_password=env.get("ROLECALL_SMTP_PASSWORD") or None,
            smtp_security=get("SMTP_SECURITY", defaults.smtp_security).lower(),
            smtp_timeout_seconds=float(
                get("SMTP_TIMEOUT_SECONDS", str(defaults.smtp_timeout_seconds))
            ),
            mail_http_url=env.get("ROLECALL_MAIL_HTTP_URL") or None,
            mail_http_token=env.get("ROLECALL_MAIL_HTTP_TOKEN") or None,
            invitation_ttl_hours=int(
                get("INVITATION_TTL_HOURS", str(defaults.invitation_ttl_hours))
            ),
            invitation_rate_per_minute=int(
                get("INVITATION_RATE_PER_MINUTE", str(defaults.invitation_rate_per_minute))
            ),
            invitation_retry_base_seconds=float(
                get("INVITATION_RETRY_BASE_SECONDS", str(defaults.invitation_retry_base_seconds))
            ),
            invitation_max_attempts=int(
                get("INVITATION_MAX_ATTEMPTS", str(defaults.invitation_max_attempts))
            ),
            invitation_send_lease_seconds=int(
                get("INVITATION_SEND_LEASE_SECONDS", str(defaults.invitation_send_lease_seconds))
            ),
            bulk_invite_max_rows=int(
                get("BULK_INVITE_MAX_ROWS", str(defaults.bulk_invite_max_rows))
            ),
            bulk_invite_max_bytes=int(
                get("BULK_INVITE_MAX_BYTES", str(defaults.bulk_invite_max_bytes))
            ),
            max_request_bytes=int(get("MAX_REQUEST_BYTES", str(defaults.max_request_bytes))),
            rate_limit_scim=_rate_limit(get("RATE_LIMIT_SCIM", defaults.rate_limit_scim)),
            rate_limit_admin=_rate_limit(get("RATE_LIMIT_ADMIN", defaults.rate_limit_admin)),
            rate_limit_read=_rate_limit(get("RATE_LIMIT_READ", defaults.rate_limit_read)),
            rate_limit_portal=_rate_limit(get("RATE_LIMIT_PORTAL", defaults.rate_limit_portal)),
            scim_filter_max_terms=int(
                get("SCIM_FILTER_MAX_TERMS", str(defaults.scim_filter_max_terms))
            ),
            webhook_allowed_networks=tuple(
                n.strip() for n in env["ROLECALL_WEBHOOK_ALLOWED_NETWORKS"].split(",") if n.strip()
            )
            if "ROLECALL_WEBHOOK_ALLOWED_NETWORKS" in env
            else None,
            webhook_breaker_threshold=int(
                get("WEBHOOK_BREAKER_THRESHOLD", str(defaults.webhook_breaker_threshold))
            ),
            webhook_retry_base_seconds=float(
                get("WEBHOOK_RETRY_BASE_SECONDS", str(defaults.webhook_retry_base_seconds))
            ),
            questions_deadline_ms=int(
                get("QUESTIONS_DEADLINE_MS", str(defaults.questions_deadline_ms))
            ),
            feed_retention_days=float(
                get("FEED_RETENTION_DAYS", str(defaults.feed_retention_days))
            ),
            feed_max_wait_seconds=float(
                get("FEED_MAX_WAIT_SECONDS", str(defaults.feed_max_wait_seconds))
            ),
            feed_stream_seconds=float(
                get("FEED_STREAM_SECONDS", str(defaults.feed_stream_seconds))
            ),
            console_session_hours=float(
                get("CONSOLE_SESSION_HOURS", str(defaults.console_session_hours))
            ),
            console_idle_minutes=float(
                get("CONSOLE_IDLE_MINUTES", str(defaults.console_idle_minutes))
            ),
            console_link_minutes=float(
                get("CONSOLE_LINK_MINUTES", str(defaults.console_link_minutes))
            ),
        )
        settings.validate(secret_given="ROLECALL_SECRET_KEY" in env)
        return settings

    def questions_deadline_s(self, asked_ms: int | None = None) -> float:
        """The seconds a question may work on one page: the setting, or less when the
        request asks for less, never more."""
        allowed = self.questions_deadline_ms
        return (allowed if asked_ms is None else min(asked_ms, allowed)) / 1000

    @property
    def feed_retention(self) -> timedelta:
        return timedelta(days=self.feed_retention_days)

    @property
    def rate_limits(self) -> dict[str, str]:
        """The request limit of each token kind ("" for none)."""
        return {
            "scim": self.rate_limit_scim,
            "admin": self.rate_limit_admin,
            "read": self.rate_limit_read,
            "portal": self.rate_limit_portal,
        }

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def tasks_eager(self) -> bool:
        return self.broker_url == EAGER_BROKER

    @property
    def sends_outbox_inline(self) -> bool:
        """Whether a unit of work sends the outbox rows it wrote once it commits."""
        if self.outbox_relay:
            return self.outbox_relay == "inline"
        return self.tasks_eager

    @property
    def cache_in_memory(self) -> bool:
        return self.redis_url == MEMORY_URL

    @property
    def database_is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def webhook_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Non-public networks a webhook may reach (ROLECALL_WEBHOOK_ALLOWED_NETWORKS;
        set empty to allow none); unset, loopback outside production, so a receiver on
        the same machine works in development."""
        if self.webhook_allowed_networks is None:
            return () if self.is_production else _LOOPBACK
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.webhook_allowed_networks)

    def validate(self, secret_given: bool = True) -> None:
        if self.environment not in {"development", "test", "production"}:
            raise SettingsError("ROLECALL_ENV must be development, test or production")
        self._validate_mail()
        if self.outbox_relay not in {"", "inline", "process"}:
            raise SettingsError("ROLECALL_OUTBOX_RELAY must be inline or process")
        if self.max_request_bytes < 1024:
            raise SettingsError("ROLECALL_MAX_REQUEST_BYTES must be at least 1024")
        if self.scim_filter_max_terms < 1:
            raise SettingsError("ROLECALL_SCIM_FILTER_MAX_TERMS must be at least 1")
        if self.relay_interval_seconds <= 0:
            raise SettingsError("ROLECALL_RELAY_INTERVAL_SECONDS must be more than 0")
        if self.questions_deadline_ms < 1:
            raise SettingsError("ROLECALL_QUESTIONS_DEADLINE_MS must be at least 1")
        if not self.feed_retention_days > 0:
            raise SettingsError("ROLECALL_FEED_RETENTION_DAYS must be more than 0")
        if not (self.feed_max_wait_seconds > 0 and self.feed_stream_seconds > 0):
            raise SettingsError(
                "ROLECALL_FEED_MAX_WAIT_SECONDS and _STREAM_SECONDS must be more than 0"
            )
        self._validate_rate_limits()
        self._validate_webhooks()
        if self.is_production:
            if self.cache_in_memory:
                raise SettingsError("ROLECALL_REDIS_URL must name a real Redis in production")
            if self.tasks_eager:
                raise SettingsError("ROLECALL_BROKER_URL must name a real broker in production")
            if self.database_is_sqlite:
                raise SettingsError("ROLECALL_DATABASE_URL must not be SQLite in production")
            if not secret_given:
                raise SettingsError("ROLECALL_SECRET_KEY must be set in production")

    def _validate_mail(self) -> None:
        # The folder mailer stays allowed in production: it is a pickup directory an
        # MTA can drain, and the shipped manifests configure no mail server yet.
        if self.mailer not in {"folder", "smtp", "http"}:
            raise SettingsError("ROLECALL_MAILER must be folder, smtp or http")
        if self.smtp_security not in {"none", "starttls", "tls"}:
            raise SettingsError("ROLECALL_SMTP_SECURITY must be none, starttls or tls")
        if self.mailer == "http" and not self.mail_http_url:
            raise SettingsError("ROLECALL_MAIL_HTTP_URL is required when ROLECALL_MAILER=http")
        if self.smtp_username and not self.smtp_password:
            raise SettingsError("ROLECALL_SMTP_PASSWORD is required with ROLECALL_SMTP_USERNAME")
        if self.invitation_ttl_hours < 1:
            raise SettingsError("ROLECALL_INVITATION_TTL_HOURS must be at least 1")
        if self.invitation_rate_per_minute < 1:
            raise SettingsError("ROLECALL_INVITATION_RATE_PER_MINUTE must be at least 1")
        if self.invitation_max_attempts < 1:
            raise SettingsError("ROLECALL_INVITATION_MAX_ATTEMPTS must be at least 1")
        if self.bulk_invite_max_rows < 1:
            raise SettingsError("ROLECALL_BULK_INVITE_MAX_ROWS must be at least 1")
        if self.bulk_invite_max_bytes < 1024:
            raise SettingsError("ROLECALL_BULK_INVITE_MAX_BYTES must be at least 1024")

    def _validate_webhooks(self) -> None:
        try:
            self.webhook_networks  # noqa: B018 - parsing is the check
        except ValueError as error:
            raise SettingsError(
                f"ROLECALL_WEBHOOK_ALLOWED_NETWORKS must list CIDRs, comma-separated: {error}"
            ) from None
        if self.webhook_breaker_threshold < 1:
            raise SettingsError("ROLECALL_WEBHOOK_BREAKER_THRESHOLD must be at least 1")
        if self.webhook_retry_base_seconds <= 0:
            raise SettingsError("ROLECALL_WEBHOOK_RETRY_BASE_SECONDS must be more than 0")

    def _validate_rate_limits(self) -> None:
        for kind, text in self.rate_limits.items():
            try:
                parse_many(text) if text else None
            except ValueError:
                raise SettingsError(
                    f"ROLECALL_RATE_LIMIT_{kind.upper()} must be like 100/second"
                    f" (several joined by ;) or off, not {text!r}"
                ) from None

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
