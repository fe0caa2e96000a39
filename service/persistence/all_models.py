"""Imports every module that declares tables, so Base.metadata is complete
(for Alembic autogenerate and `alembic check`). Keep the list sorted."""

# ruff: noqa: F401, I001
from service.persistence import console_models
from service.persistence import feed_models
from service.persistence import invitation_models
from service.persistence import models
from service.persistence import outbox
from service.persistence import permission_models
from service.persistence import preview_models
from service.persistence import recompute_models
from service.persistence import scim_models
from service.persistence import user_models
from service.persistence import webhook_models
