"""Webhooks cannot reach inside: a webhook may point only at public addresses (or at
networks the operator lists), checked when it is registered and again at every
delivery, which connects to the address it checked and follows no redirect."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.domain.errors import ValidationFailed
from service.runtime import Runtime
from service.services import permission_recompute, webhooks
from service.services.webhook_destinations import DestinationPolicy
from service.settings import Settings, SettingsError
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.webhooks.conftest import FakeDns, Receiver

BREAKER = webhooks.Breaker(threshold=10, retry_base_seconds=2.0)

INSIDE = [
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.10/hook",
    "http://[fe80::1]/hook",
    "http://0.0.0.0:8000/hook",
    "http://[::ffff:10.0.0.1]/hook",  # 10.0.0.1, written as IPv6
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://[fd00::1]/hook",  # IPv6 unique local
]


@pytest.mark.parametrize("url", INSIDE)
def test_a_webhook_to_a_private_or_link_local_address_is_refused_at_registration(
    admin: Admin, url: str
) -> None:
    response = admin.post("/webhooks", {"url": url})
    assert response.status_code == 422, response.get_data(True)
    (message,) = response.json["errors"]["url"]
    assert "not a public address" in message
    assert admin.ok(admin.get("/webhooks")) == []


@pytest.fixture
def production_client(runtime: Runtime) -> FlaskClient:
    """The app as production runs it: https only, no network allowed beyond the public."""
    settings = runtime.settings.with_overrides(environment="production")
    app = create_app(runtime=dataclasses.replace(runtime, settings=settings))
    app.testing = True
    return app.test_client()


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://localhost:8443/hook"])
def test_loopback_is_refused_in_production(
    production_client: FlaskClient, tenant: TenantKeys, url: str
) -> None:
    response = production_client.post(
        "/api/v1/webhooks", json={"url": url}, headers=tenant.auth("admin")
    )
    assert response.status_code == 422
    assert "not a public address" in response.json["errors"]["url"][0]


def test_plain_http_is_refused_in_production(
    production_client: FlaskClient, tenant: TenantKeys
) -> None:
    response = production_client.post(
        "/api/v1/webhooks", json={"url": "http://93.184.216.34/hook"}, headers=tenant.auth("admin")
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"url": ["url must use https"]}


def test_a_name_that_resolves_to_the_metadata_service_is_refused_at_registration(
    runtime: Runtime, tenant: TenantKeys
) -> None:
    dns = FakeDns(metadata_google_internal=["169.254.169.254"])
    policy = DestinationPolicy(allow_http=True, allowed_networks=(), resolver=dns)
    with pytest.raises(ValidationFailed) as refused:
        webhooks.create_webhook(
            runtime.unit_of_work(),
            tenant.id,
            "http://metadata.google.internal/computeMetadata/v1/",
            "",
            "test",
            "secret",
            policy,
        )
    assert refused.value.field == "url"
    assert "169.254.169.254" in refused.value.message


def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    policy = DestinationPolicy(
        allow_http=True,
        allowed_networks=(),
        resolver=lambda host, port: ["93.184.216.34", "10.1.1.1"],
    )
    assert not policy.allows_url("http://hooks.example.com/")


def test_a_network_the_operator_lists_may_be_reached_and_no_other() -> None:
    settings = Settings(environment="production", webhook_allowed_networks=("10.20.0.0/16",))
    policy = DestinationPolicy.from_settings(settings)
    assert policy.allows_url("https://10.20.3.4/hook")
    assert not policy.allows_url("https://10.21.0.1/hook")
    assert not policy.allows_url("https://127.0.0.1/hook")


def test_loopback_is_allowed_by_default_in_development_only() -> None:
    assert DestinationPolicy.from_settings(Settings()).allows_url("http://127.0.0.1:9000/")
    production = DestinationPolicy.from_settings(Settings(environment="production"))
    assert not production.allows_url("https://127.0.0.1:9000/")


def test_the_allowed_networks_setting_is_validated() -> None:
    with pytest.raises(SettingsError, match="ROLECALL_WEBHOOK_ALLOWED_NETWORKS"):
        Settings.from_env({"ROLECALL_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8, not-a-network"})
    settings = Settings.from_env({"ROLECALL_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8, fd00::/8"})
    assert [str(n) for n in settings.webhook_networks] == ["10.0.0.0/8", "fd00::/8"]
    assert Settings.from_env({"ROLECALL_WEBHOOK_ALLOWED_NETWORKS": ""}).webhook_networks == ()


# -- at delivery ------------------------------------------------------------------


@dataclasses.dataclass
class Hooked:
    """A user with a cached set, and a webhook to `receiver.invalid` (a name only the
    injected resolver knows), registered while it resolved to the loopback receiver."""

    runtime: Runtime
    tenant_id: str
    user_id: str
    webhook_id: str
    dns: FakeDns

    def deliver(self, policy: DestinationPolicy) -> webhooks.Outcome:
        return webhooks.deliver(
            self.runtime.unit_of_work,
            self.runtime.settings.secret_key,
            self.tenant_id,
            f"{self.webhook_id}:{self.user_id}",
            policy,
            BREAKER,
        )

    def policy(self, allow_loopback: bool = True) -> DestinationPolicy:
        networks = Settings().webhook_networks if allow_loopback else ()
        return DestinationPolicy(allow_http=True, allowed_networks=networks, resolver=self.dns)

    def webhook(self) -> dict:
        view = webhooks.get_webhook(self.runtime.unit_of_work(), self.tenant_id, self.webhook_id)
        return webhooks.describe(view.webhook, view.held_deliveries)


@pytest.fixture
def make_hooked(
    runtime: Runtime, tenant: TenantKeys, directory: Directory
) -> Callable[[Receiver], Hooked]:
    def make(receiver: Receiver) -> Hooked:
        user_id = directory.user("ada@example.org")
        permission_recompute.recompute_users(runtime, tenant.id, [user_id])
        assert runtime.cache.body_of(tenant.id, user_id) is not None
        dns = FakeDns(receiver_invalid=["127.0.0.1"])
        hooked = Hooked(runtime, tenant.id, user_id, "", dns)
        created = webhooks.create_webhook(
            runtime.unit_of_work(),
            tenant.id,
            f"http://receiver.invalid:{receiver.port}/hook",
            "",
            "test",
            runtime.settings.secret_key,
            hooked.policy(),
        )
        hooked.webhook_id = created.webhook.id
        dns.lookups.clear()
        return hooked

    return make


def test_a_delivery_connects_to_the_address_it_checked_and_names_the_host(
    make_hooked: Callable[[Receiver], Hooked], receiver: Receiver
) -> None:
    hooked = make_hooked(receiver)
    outcome = hooked.deliver(hooked.policy())
    assert outcome.message == "delivered: HTTP 204"
    (headers, _), *_ = receiver.received
    assert headers["Host"] == f"receiver.invalid:{receiver.port}"
    # One lookup, by the check: the connection did not resolve the name again (the
    # system resolver could not have: .invalid names never resolve).
    assert hooked.dns.lookups == ["receiver.invalid"]


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "10.0.0.1", "192.168.1.1", "fe80::1", "0.0.0.0", "::"]
)
def test_a_name_rebound_to_an_inside_address_is_refused_at_delivery(
    make_hooked: Callable[[Receiver], Hooked], receiver: Receiver, address: str
) -> None:
    hooked = make_hooked(receiver)
    hooked.dns.set("receiver.invalid", address)
    outcome = hooked.deliver(hooked.policy())
    assert outcome.retry_in is None and outcome.message.startswith("failed: refused")
    assert receiver.received == []
    shown = hooked.webhook()
    assert address in shown["last_error"] and shown["consecutive_failures"] == 1


def test_loopback_is_refused_at_delivery_when_it_is_not_allowed(
    make_hooked: Callable[[Receiver], Hooked], receiver: Receiver
) -> None:
    hooked = make_hooked(receiver)
    outcome = hooked.deliver(hooked.policy(allow_loopback=False))
    assert outcome.message.startswith("failed: refused")
    assert receiver.received == []


def test_a_redirect_is_not_followed(
    make_hooked: Callable[[Receiver], Hooked], receivers: Callable[[], Receiver]
) -> None:
    inside, redirecting = receivers(), receivers()
    redirecting.status = 307
    redirecting.headers = {"Location": f"{inside.url}?from=redirect"}
    hooked = make_hooked(redirecting)
    outcome = hooked.deliver(hooked.policy())
    assert outcome.message == "failed: HTTP 307: redirects are not followed"
    assert len(redirecting.received) == 1 and inside.received == []
    assert hooked.webhook()["last_error"] == "HTTP 307: redirects are not followed"


def test_a_name_that_stops_resolving_is_tried_again_not_dropped(
    make_hooked: Callable[[Receiver], Hooked], receiver: Receiver
) -> None:
    hooked = make_hooked(receiver)
    hooked.dns.set("receiver.invalid")  # no answer: a DNS outage, say
    outcome = hooked.deliver(hooked.policy())
    assert outcome.retry_in == 2.0 and "does not resolve" in outcome.message
    hooked.dns.set("receiver.invalid", "127.0.0.1")
    assert hooked.deliver(hooked.policy()).message == "delivered: HTTP 204"
