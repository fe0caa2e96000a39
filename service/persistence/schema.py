"""Migrations and the schema-version gate."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaBehind(RuntimeError):
    """The database is not at the code's migration head."""


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def check_models_match(engine: Engine) -> None:
    """Raises when the models differ from what the migrations build (`alembic check`)."""
    config = alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.check(config)


def current_and_head(engine: Engine) -> tuple[set[str], set[str]]:
    script = ScriptDirectory(str(MIGRATIONS))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, set(script.get_heads())


def ensure_current(engine: Engine) -> None:
    current, heads = current_and_head(engine)
    if current != heads:
        where = ", ".join(sorted(current)) or "an empty database"
        raise SchemaBehind(
            f"The database schema is at {where}, but this code needs {', '.join(sorted(heads))}. "
            "Run `rolecall db upgrade` to migrate it."
        )
