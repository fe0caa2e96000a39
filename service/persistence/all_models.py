"""Imports every module that declares tables, so Base.metadata is complete
(for Alembic autogenerate and `alembic check`)."""

from service.persistence import models  # noqa: F401
