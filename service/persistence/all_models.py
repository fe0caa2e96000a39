"""Imports every module that declares tables, so Base.metadata is complete
(for Alembic autogenerate and `alembic check`)."""

from service.persistence import models  # noqa: F401
from service.persistence import scim_models  # noqa: F401
from service.persistence import outbox  # noqa: F401
