"""Settings: the only module that reads the environment.

Every backend is chosen here by one variable, with an embedded default that
needs no server (a SQLite file, an in-process fake Redis, tasks run in-process).
Setting the variables switches to PostgreSQL, a real Redis and a Celery broker
without a code change. Production refuses the embedded defaults at start.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

MEMORY_URL = "memory://"
EAGER_BROKER = "eager://"


class SettingsError(ValueError):
    """A setting is missing or inconsistent; the message names the variable."""


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
            worker_metrics_port=int(env["ROLECALL_WORKER_METRICS_PORT"])
            if env.get("ROLECALL_WORKER_METRICS_PORT")
            else None,
        )
        settings.validate(secret_given="ROLECALL_SECRET_KEY" in env)
        return settings

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def tasks_eager(self) -> bool:
        return self.broker_url == EAGER_BROKER

    @property
    def cache_in_memory(self) -> bool:
        return self.redis_url == MEMORY_URL

    @property
    def database_is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def validate(self, secret_given: bool = True) -> None:
        if self.environment not in {"development", "test", "production"}:
            raise SettingsError("ROLECALL_ENV must be development, test or production")
        if self.is_production:
            if self.cache_in_memory:
                raise SettingsError("ROLECALL_REDIS_URL must name a real Redis in production")
            if self.tasks_eager:
                raise SettingsError("ROLECALL_BROKER_URL must name a real broker in production")
            if self.database_is_sqlite:
                raise SettingsError("ROLECALL_DATABASE_URL must not be SQLite in production")
            if not secret_given:
                raise SettingsError("ROLECALL_SECRET_KEY must be set in production")

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
