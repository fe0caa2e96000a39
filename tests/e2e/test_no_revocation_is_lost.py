"""A revoked right stops being answered at once, and nothing is answered "allowed"
wrongly, even when the web process that made the change cannot reach Redis.

Beside the stack's healthy web process runs a degraded one whose Redis address has
nothing listening. What it commits must still take effect everywhere: the effect is
an outbox row written with the change, so the relay hands it to a worker when the
request could not apply it itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from tests.e2e.conftest import LiveStack, free_port
from tests.e2e.scenario import PATCH_SCHEMA, Setup, eventually

pytestmark = pytest.mark.e2e

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
DEACTIVATE = {
    "schemas": [PATCH_SCHEMA],
    "Operations": [{"op": "replace", "value": {"active": False}}],
}


@pytest.fixture(scope="module")
def degraded(live_stack: LiveStack) -> Iterator[str]:
    """The base URL of a second web process whose Redis is unreachable."""
    base_url = f"http://127.0.0.1:{free_port()}"
    process = live_stack.start_web(
        "web-degraded",
        base_url,
        {
            "ROLECALL_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "ROLECALL_PUBLIC_BASE_URL": base_url,
        },
    )

    def serving() -> bool:
        try:
            return requests.get(f"{base_url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    eventually(serving, 30, "the degraded web process serves")
    yield base_url
    process.stop()


@pytest.fixture(scope="module")
def setup(live_stack: LiveStack) -> Setup:
    # `edit` is granted at the organization; the folder inherits it.
    return Setup(live_stack, "Revocations", mapped_at="organization")


def an_editor(setup: Setup) -> str:
    """A new SCIM user in the mapped group, allowed to edit in the folder."""
    user = setup.user(f"{uuid.uuid4().hex[:10]}@revocations.example")
    setup.join(user)
    eventually(lambda: setup.allowed(user, setup.folder), 20, "the user can edit")
    return user


@contextmanager
def no_worker(stack: LiveStack) -> Iterator[None]:
    """Stop the worker for the block, so no recompute can repair what a request left."""
    stack.processes["worker"].stop()
    try:
        yield
    finally:
        stack.start_worker()


def assert_a_retryable_scim_error(answer: requests.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()["schemas"] == [SCIM_ERROR]


def denied_within(setup: Setup, user: str, scope: str, seconds: float) -> float:
    """Seconds until healthy readers deny `user` at `scope`; then they keep denying."""
    started = time.monotonic()
    eventually(lambda: not setup.allowed(user, scope), seconds, "healthy readers deny")
    took = time.monotonic() - started
    assert not any(setup.allowed(user, scope) for _ in range(10))
    return took


def test_a_deactivation_whose_cache_clear_failed_takes_effect_without_a_retry(
    setup: Setup, degraded: str
) -> None:
    user = an_editor(setup)
    answer = setup.stack.api(
        "PATCH", f"/scim/v2/Users/{user}", kind="scim", base_url=degraded, json=DEACTIVATE
    )
    assert_a_retryable_scim_error(answer)
    # The IdP does not retry: the outbox applies the cache clear.
    assert denied_within(setup, user, setup.folder, 1.5) < 1.5


def test_a_deletion_whose_cache_clear_failed_takes_effect_without_a_retry(
    setup: Setup, degraded: str
) -> None:
    user = an_editor(setup)
    answer = setup.stack.api("DELETE", f"/scim/v2/Users/{user}", kind="scim", base_url=degraded)
    assert_a_retryable_scim_error(answer)
    assert denied_within(setup, user, setup.folder, 1.5) < 1.5


def test_an_idp_retry_of_a_failed_deactivation_applies_it_at_once(
    setup: Setup, degraded: str
) -> None:
    stack = setup.stack
    user = an_editor(setup)
    # With the relay stopped only the retry itself can clear the cached set.
    stack.processes["relay"].stop()
    try:
        answer = stack.api(
            "PATCH", f"/scim/v2/Users/{user}", kind="scim", base_url=degraded, json=DEACTIVATE
        )
        assert_a_retryable_scim_error(answer)
        assert setup.allowed(user, setup.folder)  # not yet applied anywhere
        retried = stack.api("PATCH", f"/scim/v2/Users/{user}", kind="scim", json=DEACTIVATE)
        assert retried.status_code == 200, retried.text
        assert retried.json()["active"] is False
        assert not any(setup.allowed(user, setup.folder) for _ in range(10))
    finally:
        stack.start_relay()


def test_a_token_revoked_on_a_degraded_process_is_refused_everywhere_within_a_second(
    setup: Setup, degraded: str
) -> None:
    stack = setup.stack
    plaintext = stack.cli("token", "create", "--tenant", stack.tenant, "--kind", "read").strip()
    headers = {"Authorization": f"Bearer {plaintext}"}
    check = {"checks": [{"user": "nobody", "area": "edit", "level": "granted",
                         "scope": setup.folder}]}  # fmt: skip

    def status() -> int:
        return stack.api("POST", "/api/v1/check", headers=headers, json=check).status_code

    # Every healthy web process has seen (and remembers) the token.
    assert all(status() == 200 for _ in range(20))
    listed = stack.api("GET", "/api/v1/tokens").json()
    [token_id] = [t["id"] for t in listed if t["prefix"] == plaintext[:12]]

    revoked = stack.api("DELETE", f"/api/v1/tokens/{token_id}", base_url=degraded)
    assert revoked.status_code < 300, revoked.text  # committed: never a 500
    started = time.monotonic()
    eventually(lambda: status() == 401, 1.0, "the revoked token is refused")
    assert time.monotonic() - started < 1.0
    assert all(status() == 401 for _ in range(20))


def chain_cached(setup: Setup, scope_id: str) -> None:
    """Wait until the scope's ancestor chain is published, so that what the test then
    sees is the cache's answer (a cold chain is read from the database, and would
    deny a deleted scope with or without the mechanism under test)."""
    cache = setup.stack.cache()
    eventually(
        lambda: cache.published_chain(setup.tenant_id, scope_id) is not None,
        20,
        "the scope's ancestor chain is cached",
    )


def test_a_check_at_a_deleted_scope_is_never_allowed(setup: Setup) -> None:
    stack = setup.stack
    user = an_editor(setup)
    doomed = setup.scope("folder", "Doomed", setup.org)
    assert setup.allowed(user, doomed)
    chain_cached(setup, doomed)
    with no_worker(stack):  # nothing but the deleting request can drop the cached chain
        deleted = stack.api("DELETE", f"/api/v1/scopes/{doomed}")
        assert deleted.status_code == 200, deleted.text
        assert not any(setup.allowed(user, doomed) for _ in range(20))


def test_a_moved_scope_inherits_from_its_new_parent(setup: Setup) -> None:
    stack = setup.stack
    user = an_editor(setup)
    elsewhere = setup.scope("organization", "Elsewhere")
    mover = setup.scope("folder", "Mover", setup.org)
    assert setup.allowed(user, mover)
    chain_cached(setup, mover)

    with no_worker(stack):  # nothing but the moving request can replace the cached chain
        moved = stack.api("PATCH", f"/api/v1/scopes/{mover}", json={"parent_id": elsewhere})
        assert moved.status_code == 200, moved.text
        assert not any(setup.allowed(user, mover) for _ in range(20))

        back = stack.api("PATCH", f"/api/v1/scopes/{mover}", json={"parent_id": setup.org})
        assert back.status_code == 200, back.text
        assert all(setup.allowed(user, mover) for _ in range(20))
