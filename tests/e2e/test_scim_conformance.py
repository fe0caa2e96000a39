"""scim2-tester, the python-scim conformance checker, against the live stack.

The checker reads the discovery endpoints, then creates, reads, replaces, patches
and deletes every resource type over real HTTP to gunicorn on PostgreSQL. Every
check must succeed; skipped checks are those the server does not advertise.
"""

from __future__ import annotations

from collections import Counter
from importlib.metadata import version

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.e2e.conftest import LiveStack

pytestmark = pytest.mark.e2e


def test_scim2_tester_reports_no_failures(live_stack: LiveStack) -> None:
    # A tenant of its own: the checker pages through every user it lists, and other
    # end-to-end tests leave thousands in the shared one.
    tenant = f"{live_stack.tenant}-conformance"
    live_stack.cli("tenant", "create", tenant)
    token = live_stack.cli("token", "create", "--tenant", tenant, "--kind", "scim").strip()
    http = Client(
        base_url=f"{live_stack.base_url}/scim/v2", headers={"Authorization": f"Bearer {token}"}
    )
    results = check_server(SyncSCIMClient(http))
    http.close()
    counts = Counter(result.status.name for result in results)
    print(f"scim2-tester {version('scim2-tester')}: {dict(counts)}")
    failures = [
        f"{result.resource_type or ''} {result.title}: {result.reason}"
        for result in results
        if result.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    assert counts["SUCCESS"] > 100
    assert failures == []
