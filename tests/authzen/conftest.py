from tests.permissions.conftest import admin, directory  # noqa: F401
