"""Alembic environment. The URL comes from the Config (set by service.persistence.schema)
or, for the plain `alembic` command, from Settings.from_env()."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy import Connection

from service.persistence import all_models  # noqa: F401  (registers every table)
from service.persistence.base import Base
from service.persistence.db import make_engine
from service.settings import Settings

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction(), warnings.catch_warnings():
        # SQLite's batch migrations reflect the tables they copy and the tables those
        # reference; SQLite cannot reflect expression indexes (tenants' lower(name),
        # scim_users' lower(displayName)), which no batch here copies, so the warning
        # says nothing a reader of `rolecall dev` could act on.
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index"
        )
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    engine = make_engine(Settings.from_env().with_overrides(database_url=url))
    with engine.begin() as conn:
        run(conn)
    engine.dispose()
