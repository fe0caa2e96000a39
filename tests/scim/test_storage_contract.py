"""SqlStorage passes scim2-server's ScimStorageContract, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scim2_models import ScimProvider
from scim2_server.testing import ScimStorageContract

from service.runtime import Runtime
from service.scim.protocol import build_provider
from service.scim.storage import SqlStorage
from tests.conftest import TenantKeys


class TestSqlStorage(ScimStorageContract):
    @pytest.fixture
    def provider(self) -> ScimProvider:
        return build_provider()

    @pytest.fixture
    def storage(
        self,
        runtime: Runtime,
        make_tenant: Callable[[str], TenantKeys],
        provider: ScimProvider,
    ) -> Iterator[Any]:
        keys = make_tenant("contract")
        models = {rt.name: provider.model_for(rt) for rt in provider.resource_types}
        with runtime.unit_of_work() as uow:
            yield SqlStorage(uow.session, keys.id, "test", models)  # type: ignore[arg-type]
